package io.xformer.models;

import io.xformer.nn.DType;
import io.xformer.nn.Guard;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;

/**
 * Encoder-decoder generation with transformers' {@code generate} semantics (5.12): the encoder
 * runs once on the input embeddings, decoding starts from {@code decoder_start_token_id}
 * (kept in the output) and reuses {@link Generate}'s greedy and beam search. After a row's
 * end-of-sequence greedy search pads with pad_token_id, beam search with
 * {@code pad_token_id or eos_token_id}: for T5 (pad 0, which Python reads as false) that is
 * the end-of-sequence token.
 */
public final class Seq2SeqGenerate {
    private Seq2SeqGenerate() {}

    /**
     * inputsEmbeds (B, T, D) and attentionMask (B, T) 0/1 (null = all ones) of the encoder
     * input. Returns (B, 1 + generated) int64 sequences starting with the decoder start token.
     */
    public static Tensor generate(T5 lm, Tensor inputsEmbeds, Tensor attentionMask, Generate.Options o) {
        try (Guard g = Guard.inferenceMode(); Scope s = Scope.open()) {
            Tensor memory = lm.encode(inputsEmbeds, attentionMask);
            long b = inputsEmbeds.size(0);
            Tensor start = Torch.full(lm.cfg.decoderStartTokenId(), DType.I64, inputsEmbeds.device(), b, 1);
            long fill = o.padTokenId() != 0 ? o.padTokenId() : o.eosTokenId();
            try (Generate.Decoder d = new T5Decoder(lm, memory, attentionMask, start)) {
                return s.keep(Generate.generate(d, start, o, fill));
            }
        }
    }

    /** Options from the T5 config: its end-of-sequence and pad ids. */
    public static Generate.Options options(T5.Config c, int numBeams, int maxNewTokens, int minNewTokens,
                                           double lengthPenalty) {
        return new Generate.Options(numBeams, maxNewTokens, minNewTokens, lengthPenalty, c.eosTokenId(), c.padTokenId(), false);
    }

    /** The T5 decoder over a fixed encoder output; decoding rows pick their input's encoder states once. */
    private static final class T5Decoder implements Generate.Decoder {
        private final T5 lm;
        private final T5.Cache cache = new T5.Cache();
        private final Tensor start;
        private Tensor memory, mask;
        private boolean ownsMemory; // true once start() made per-beam copies

        T5Decoder(T5 lm, Tensor memory, Tensor mask, Tensor start) {
            this.lm = lm;
            this.memory = memory;
            this.mask = mask;
            this.start = start;
        }

        public Tensor start(Tensor rows) {
            Tensor ids = start;
            if (rows != null) {
                memory = Scope.unscoped(memory.indexSelect(0, rows));
                if (mask != null) mask = Scope.unscoped(mask.indexSelect(0, rows));
                ids = start.indexSelect(0, rows);
                ownsMemory = true;
            }
            return lm.decode(ids, memory, mask, cache);
        }

        public Tensor step(Tensor ids) {
            return lm.decode(ids, memory, mask, cache);
        }

        public void reorder(Tensor index) {
            cache.select(index);
        }

        public void close() {
            cache.close();
            if (ownsMemory) {
                memory.close();
                if (mask != null) mask.close();
            }
        }
    }
}
