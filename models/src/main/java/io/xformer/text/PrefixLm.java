package io.xformer.text;

import io.xformer.nn.Device;
import io.xformer.nn.F;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * The prefix-LM objective of an encoder-decoder LLM (BLIP-2's Flan-T5 stage 2, X-Former
 * supplementary §3): a caption is cut at a random word between its start and its middle; the
 * encoder reads the queries and the prefix, the decoder writes the suffix. Batches follow
 * LAVIS's blip2_t5 and Blip2Processor: T5 tokenization (text + {@code </s>}, no BOS), at most
 * {@code maxTxtLen} tokens per side with {@code </s>} kept, queries as {@code numQueries}
 * placeholders in front of the prefix, right padding (pad id in the encoder input, -100 in
 * the labels).
 */
public final class PrefixLm {
    private PrefixLm() {}

    /** A caption cut in two: the encoder's text and the decoder's target. */
    public record Split(String prefix, String suffix) {}

    /**
     * Splits after k words, k uniform in 0..floor(n/2) for a caption of n words (k = 0: the
     * whole caption is the target). Words are runs of non-whitespace; each side is rejoined
     * with single spaces. The suffix is never empty for a caption with a word.
     */
    public static Split split(String caption, RandomGenerator rng) {
        String trimmed = caption.strip();
        if (trimmed.isEmpty()) throw new IllegalArgumentException("prefix-LM split: empty caption");
        String[] words = trimmed.split("\\s+");
        int k = rng.nextInt(words.length / 2 + 1);
        return new Split(String.join(" ", Arrays.copyOfRange(words, 0, k)),
                String.join(" ", Arrays.copyOfRange(words, k, words.length)));
    }

    /**
     * The split of the sample at a global stream position: the same (seed, position) gives the
     * same cut, so a resumed run draws what the uninterrupted one did.
     */
    public static Split split(String caption, long seed, long position) {
        // SplittableRandom mixes its seed well: neighbouring seeds and positions give unrelated cuts
        // (java.util.Random's first small draw barely changes with the seed's low bits)
        return split(caption, new SplittableRandom(new SplittableRandom(seed ^ SALT).nextLong() + position));
    }

    // keeps these draws apart from other users of the same seed
    private static final long SALT = 0x5851F42D4C957F2DL;

    /**
     * numQueries placeholders of imageTokenId lead the encoder input (imageTokenId < 0: none,
     * the model then puts the queries in front itself); padId pads it; maxTxtLen caps each side.
     */
    public record Options(int numQueries, long imageTokenId, long padId, int maxTxtLen) {
        public Options {
            if (maxTxtLen < 1) throw new IllegalArgumentException("max_txt_len must be >= 1, got " + maxTxtLen);
            if (numQueries < 0) throw new IllegalArgumentException("num_query_tokens must be >= 0");
        }
    }

    /** Rows of a batch: input ids and mask (B, Q + P), labels (B, L); plus the splits, for logging. */
    public record Batch(long[][] inputIds, long[][] attentionMask, long[][] labels, List<Split> splits) {
        public record Tensors(Tensor inputIds, Tensor attentionMask, Tensor labels) {}

        /** int64 tensors on device, owned by the current scope. */
        public Tensors tensors(Device device) {
            try (Scope s = Scope.open()) {
                return new Tensors(s.keep(tensor(inputIds, device)), s.keep(tensor(attentionMask, device)),
                        s.keep(tensor(labels, device)));
            }
        }

        private static Tensor tensor(long[][] rows, Device device) {
            int b = rows.length, len = rows[0].length;
            long[] flat = new long[b * len];
            for (int i = 0; i < b; i++) System.arraycopy(rows[i], 0, flat, i * len, len);
            return Torch.tensor(flat, b, len).to(device);
        }
    }

    /** Splits captions[i] as the sample at position firstPosition + i and builds the batch. */
    public static Batch batch(List<String> captions, Tokenizer tok, Options o, long seed, long firstPosition) {
        List<Split> splits = new ArrayList<>();
        for (int i = 0; i < captions.size(); i++) splits.add(split(captions.get(i), seed, firstPosition + i));
        return batch(splits, tok, o);
    }

    public static Batch batch(List<Split> splits, Tokenizer tok, Options o) {
        if (splits.isEmpty()) throw new IllegalArgumentException("prefix-LM batch: no captions");
        int b = splits.size();
        long[][] prefix = new long[b][], target = new long[b][];
        int inLen = 0, outLen = 0;
        for (int i = 0; i < b; i++) {
            prefix[i] = truncate(tok.encode(splits.get(i).prefix()), o.maxTxtLen);
            target[i] = truncate(tok.encode(splits.get(i).suffix()), o.maxTxtLen);
            inLen = Math.max(inLen, prefix[i].length);
            outLen = Math.max(outLen, target[i].length);
        }
        int q = o.imageTokenId < 0 ? 0 : o.numQueries;
        long[][] ids = new long[b][q + inLen], mask = new long[b][q + inLen], labels = new long[b][outLen];
        for (int i = 0; i < b; i++) {
            Arrays.fill(ids[i], o.padId);
            Arrays.fill(ids[i], 0, q, o.imageTokenId);
            System.arraycopy(prefix[i], 0, ids[i], q, prefix[i].length);
            Arrays.fill(mask[i], 0, q + prefix[i].length, 1);
            Arrays.fill(labels[i], F.IGNORE_INDEX);
            System.arraycopy(target[i], 0, labels[i], 0, target[i].length);
        }
        return new Batch(ids, mask, labels, List.copyOf(splits));
    }

    /** HF truncation with special tokens: the first maxLen - 1 tokens and the final {@code </s>}. */
    static long[] truncate(long[] ids, int maxLen) {
        if (ids.length <= maxLen) return ids;
        long[] out = Arrays.copyOf(ids, maxLen);
        out[maxLen - 1] = ids[ids.length - 1];
        return out;
    }
}
