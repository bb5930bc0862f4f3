package io.xformer.models;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.hf.HfCheckpoint;
import io.xformer.nn.Container;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Embedding;
import io.xformer.nn.F;
import io.xformer.nn.Generator;
import io.xformer.nn.Linear;
import io.xformer.nn.Module;
import io.xformer.nn.ModuleList;
import io.xformer.nn.Parameter;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.TensorRecord;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * T5 v1.1 / Flan-T5 (transformers' T5ForConditionalGeneration): RMS-style T5LayerNorm without
 * bias, unscaled attention, relative position buckets owned by block 0 of each stack and
 * shared by its other blocks (bidirectional in the encoder, causal in the decoder), a
 * (gated-)GELU or ReLU feed-forward. Keys: {@code shared.weight}, {@code encoder.block.N.layer.M.*},
 * {@code encoder.final_layer_norm.weight}, the same under {@code decoder.}, and
 * {@code lm_head.weight} when the head is untied. The decoder keeps a self-attention KV cache
 * and computes the cross-attention keys and values once.
 */
public final class T5 extends Module implements LanguageModel {
    /**
     * ownLmHead: whether {@code lm_head.weight} is a separate parameter (else logits use
     * {@code shared.weight}); scaleDecoderOutputs: multiply the decoder output by d_model^-0.5
     * before the head (tied original T5 only).
     */
    public record Config(int vocabSize, int dModel, int dKv, int dFf, int heads, int encoderLayers, int decoderLayers,
                         int numBuckets, int maxDistance, boolean gated, String activation, double layerNormEps,
                         double dropout, boolean scaleDecoderOutputs, boolean ownLmHead, int decoderStartTokenId,
                         int eosTokenId, int padTokenId) {
        public Config {
            if (dModel <= 0 || dKv <= 0 || heads <= 0 || dFf <= 0 || vocabSize <= 0)
                throw new TorchException("T5 config: d_model, d_kv, num_heads, d_ff and vocab_size must be positive");
            if (numBuckets < 4 || maxDistance < numBuckets / 2)
                throw new TorchException("T5 config: relative_attention_num_buckets " + numBuckets
                        + " / relative_attention_max_distance " + maxDistance + " are not usable");
        }

        /**
         * From a T5 config.json (or Blip2's text_config). Rescale iff scale_decoder_outputs
         * (when present, else tie_word_embeddings). transformers 5 writes tie_word_embeddings
         * true even beside a separate lm_head and keeps the rescale decision in
         * scale_decoder_outputs, so the config alone cannot say whether the head is tied; every
         * T5 checkpoint pairs a tied head with the rescale (original T5) and an untied one
         * without it (T5 v1.1, Flan-T5), so the head is taken as untied iff there is no rescale.
         * {@link #withOwnLmHead} settles it from the checkpoint's keys where they are at hand.
         */
        public static Config from(JsonNode c) {
            String type = Json.s(c, "model_type", "t5");
            if (!type.equals("t5"))
                throw new TorchException("config.json: model_type '" + type + "' is not a T5 language model");
            String proj = Json.s(c, "feed_forward_proj", "relu");
            String[] parts = proj.split("-");
            boolean gated = parts.length == 2 && parts[0].equals("gated");
            if (parts.length > 2 || (parts.length == 2 && !gated))
                throw new TorchException("config.json: feed_forward_proj '" + proj + "' is not 'ACT' or 'gated-ACT'");
            // transformers maps gated-gelu to gelu_new (the tanh approximation) for backward compatibility
            String act = proj.equals("gated-gelu") ? "gelu_new" : parts[parts.length - 1];
            boolean tie = Json.b(c, "tie_word_embeddings", true);
            boolean scale = c.has("scale_decoder_outputs") ? Json.b(c, "scale_decoder_outputs", tie) : tie;
            int layers = Json.i(c, "num_layers", 6);
            return new Config(Json.i(c, "vocab_size", 32128), Json.i(c, "d_model", 512), Json.i(c, "d_kv", 64),
                    Json.i(c, "d_ff", 2048), Json.i(c, "num_heads", 8), layers, Json.i(c, "num_decoder_layers", layers),
                    Json.i(c, "relative_attention_num_buckets", 32), Json.i(c, "relative_attention_max_distance", 128), gated,
                    act, Json.d(c, "layer_norm_epsilon", 1e-6), Json.d(c, "dropout_rate", 0.1), scale, !scale,
                    Json.i(c, "decoder_start_token_id", 0), Json.i(c, "eos_token_id", 1), Json.i(c, "pad_token_id", 0));
        }

        /** The same config with the head untied iff the checkpoint holds {@code prefix + "lm_head.weight"}. */
        public Config withOwnLmHead(Collection<String> checkpointKeys, String prefix) {
            return withOwnLmHead(checkpointKeys.contains(prefix + "lm_head.weight"));
        }

        public Config withOwnLmHead(boolean own) {
            return new Config(vocabSize, dModel, dKv, dFf, heads, encoderLayers, decoderLayers, numBuckets, maxDistance, gated,
                    activation, layerNormEps, dropout, scaleDecoderOutputs, own, decoderStartTokenId, eosTokenId, padTokenId);
        }

        public int innerDim() {
            return heads * dKv;
        }
    }

    /**
     * weight * x / sqrt(mean(x^2) + eps): no mean subtraction, no bias; statistics in float32
     * (float64 stays float64, where transformers would round it to float32).
     */
    public static final class LayerNorm extends Module {
        public final Parameter weight;
        private final double eps;

        public LayerNorm(int dim, double eps) {
            this.eps = eps;
            weight = parameter("weight", dim);
        }

        public Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                Tensor wide = x.dtype() == DType.F64 ? x : x.to(DType.F32);
                Tensor variance = wide.square().mean(-1, true); // (..., 1)
                Tensor h = x.mul(variance.add(eps).rsqrt());
                Tensor w = weight.get();
                if (w.dtype() == DType.F16 || w.dtype() == DType.BF16) h = h.to(w.dtype());
                return s.keep(w.mul(h));
            }
        }

        @Override
        protected void resetParameters(Generator gen, DType dtype, Device device, double std) {
            weight.set(Torch.ones(dtype, device, weight.shape()));
        }
    }

    /** Keys and values of the decoder: self-attention grows per step, cross-attention is fixed. Each (N, H, T, D). */
    public static final class Cache implements AutoCloseable {
        final List<Tensor> selfKeys = new ArrayList<>(), selfValues = new ArrayList<>();
        final List<Tensor> crossKeys = new ArrayList<>(), crossValues = new ArrayList<>();

        public long length() {
            return selfKeys.isEmpty() ? 0 : selfKeys.get(0).size(2);
        }

        /**
         * Keeps decoding rows {@code index} of the self-attention cache (beam reordering). The
         * cross-attention entries are left as they are: beams of one input share them.
         */
        public void select(Tensor index) {
            for (int i = 0; i < selfKeys.size(); i++) {
                selfKeys.set(i, swap(selfKeys.get(i), selfKeys.get(i).indexSelect(0, index)));
                selfValues.set(i, swap(selfValues.get(i), selfValues.get(i).indexSelect(0, index)));
            }
        }

        static Tensor swap(Tensor old, Tensor fresh) {
            Scope.unscoped(fresh);
            if (old != null) old.close();
            return fresh;
        }

        @Override
        public void close() {
            for (List<Tensor> l : List.of(selfKeys, selfValues, crossKeys, crossValues)) {
                l.forEach(Tensor::close);
                l.clear();
            }
        }
    }

    static final class Attention extends Module {
        final Linear q, k, v, o;
        final Embedding relativeBias; // (buckets, heads), block 0 only
        final int heads;
        final double dropout;

        Attention(Config c, boolean hasRelativeBias) {
            heads = c.heads;
            dropout = c.dropout;
            q = child("q", new Linear(c.dModel, c.innerDim(), false));
            k = child("k", new Linear(c.dModel, c.innerDim(), false));
            v = child("v", new Linear(c.dModel, c.innerDim(), false));
            o = child("o", new Linear(c.innerDim(), c.dModel, false));
            relativeBias = hasRelativeBias ? child("relative_attention_bias", new Embedding(c.numBuckets, c.heads)) : null;
        }

        /**
         * x (B, T, D) queries; kv (B, S, D) the keys' source (x itself for self-attention);
         * bias additive (B or 1, H or 1, T, S) with the mask folded in. With a cache, self-
         * attention appends to {@code keys/values[layer]}, cross-attention computes them once.
         */
        Tensor forward(Tensor x, Tensor kv, Tensor bias, List<Tensor> keys, List<Tensor> values, int layer, boolean grow) {
            try (Scope s = Scope.open()) {
                Tensor qh = Heads.split(q.forward(x), heads), kh, vh;
                if (keys != null && keys.size() > layer && !grow) {
                    kh = keys.get(layer);
                    vh = values.get(layer);
                } else {
                    kh = Heads.split(k.forward(kv), heads);
                    vh = Heads.split(v.forward(kv), heads);
                    if (keys != null) {
                        if (keys.size() > layer) {
                            kh = Torch.cat(2, keys.get(layer), kh);
                            vh = Torch.cat(2, values.get(layer), vh);
                            keys.set(layer, Cache.swap(keys.get(layer), kh));
                            values.set(layer, Cache.swap(values.get(layer), vh));
                        } else {
                            keys.add(Scope.unscoped(kh.contiguous()));
                            values.add(Scope.unscoped(vh.contiguous()));
                            kh = keys.get(layer);
                            vh = values.get(layer);
                        }
                    }
                }
                // T5 does not scale the scores by 1/sqrt(d_kv); dropout on the attention weights when training
                // (N, H, T, D/H)
                Tensor out = F.scaledDotProductAttention(qh, kh, vh, bias.to(qh.dtype()), training ? dropout : 0, false, 1.0);
                return s.keep(o.forward(Heads.merge(out))); // (N, T, D)
            }
        }

        /** Position bias (1, H, T, S) for queries at absolute positions past..past+T-1 and keys 0..S-1. */
        Tensor positionBias(long t, long past, long keys, boolean bidirectional, int maxDistance, Device device) {
            try (Scope s = Scope.open()) {
                Tensor context = Torch.arange(past, past + t, 1, DType.I64, device).view(t, 1);
                Tensor memory = Torch.arange(0, keys, 1, DType.I64, device).view(1, keys);
                Tensor buckets = bucket(memory.sub(context), bidirectional, (int) relativeBias.weight.shape()[0], maxDistance);
                // (T, S, H) -> (1, H, T, S)
                return s.keep(relativeBias.forward(buckets).permute(2, 0, 1).unsqueeze(0)); // (T, K, H) -> (1, H, T, K)
            }
        }
    }

    /**
     * transformers' _relative_position_bucket: bidirectional uses half the buckets per sign;
     * distances below half of those are exact, larger ones log-spaced up to maxDistance
     * (float32, truncated) and clamped to the last bucket.
     */
    static Tensor bucket(Tensor relative, boolean bidirectional, int numBuckets, int maxDistance) {
        try (Scope s = Scope.open()) {
            int n = numBuckets;
            Tensor base, distance;
            if (bidirectional) {
                n /= 2;
                base = relative.gt(0).to(DType.I64).mul(n);
                distance = relative.abs();
            } else {
                base = Torch.zeros(DType.I64, relative.device(), relative.shape());
                distance = relative.clampMax(0).neg();
            }
            int maxExact = n / 2;
            Tensor small = distance.lt(maxExact);
            Tensor large = distance.to(DType.F32).div(maxExact).log().div(Math.log((double) maxDistance / maxExact))
                    .mul(n - maxExact).to(DType.I64).add(maxExact).clampMax(n - 1);
            return s.keep(base.add(Torch.where(small, distance, large)));
        }
    }

    /** wo(act(wi_0 x) * wi_1 x) when gated, else wo(act(wi x)). */
    static final class FeedForward extends Module {
        final Linear wi, wi0, wi1, wo;
        final String act;
        final double dropout;

        FeedForward(Config c) {
            act = c.activation;
            dropout = c.dropout;
            wi = c.gated ? null : child("wi", new Linear(c.dModel, c.dFf, false));
            wi0 = c.gated ? child("wi_0", new Linear(c.dModel, c.dFf, false)) : null;
            wi1 = c.gated ? child("wi_1", new Linear(c.dModel, c.dFf, false)) : null;
            wo = child("wo", new Linear(c.dFf, c.dModel, false));
            if (!List.of("relu", "gelu", "gelu_new", "gelu_pytorch_tanh", "silu", "swish").contains(act))
                throw new TorchException("unsupported T5 activation '" + act + "' (feed_forward_proj)");
        }

        Tensor activation(Tensor x) {
            return switch (act) {
                case "relu" -> x.relu();
                case "gelu" -> F.gelu(x);
                case "silu", "swish" -> x.silu();
                default -> F.gelu(x, true); // gelu_new, gelu_pytorch_tanh
            };
        }

        Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                Tensor h = wi != null ? activation(wi.forward(x)) : activation(wi0.forward(x)).mul(wi1.forward(x)); // (N, T, F)
                return s.keep(wo.forward(F.dropout(h, dropout, training))); // (N, T, D)
            }
        }
    }

    /** One {@code layer.M} entry: pre-norm, the sublayer, dropout, residual. */
    static final class SubLayer<M extends Module> extends Module {
        final M body;
        final LayerNorm norm;

        SubLayer(Config c, String name, M body) {
            this.body = child(name, body);
            norm = child("layer_norm", new LayerNorm(c.dModel, c.layerNormEps));
        }
    }

    static final class Block extends Module {
        final SubLayer<Attention> self;
        final SubLayer<Attention> cross; // decoder only
        final SubLayer<FeedForward> ff;
        final double dropout;

        Block(Config c, boolean decoder, boolean first) {
            dropout = c.dropout;
            ModuleList<Module> layer = child("layer", new ModuleList<>(decoder ? 3 : 2, i -> {
                if (i == 0) return new SubLayer<>(c, "SelfAttention", new Attention(c, first));
                if (decoder && i == 1) return new SubLayer<>(c, "EncDecAttention", new Attention(c, false));
                return new SubLayer<>(c, "DenseReluDense", new FeedForward(c));
            }));
            self = cast(layer.get(0));
            cross = decoder ? cast(layer.get(1)) : null;
            ff = cast(layer.get(decoder ? 2 : 1));
        }

        @SuppressWarnings("unchecked")
        private static <M extends Module> SubLayer<M> cast(Module m) {
            return (SubLayer<M>) m;
        }

        Tensor forward(Tensor x, Tensor selfBias, Tensor memory, Tensor crossBias, Cache cache, int index) {
            try (Scope s = Scope.open()) {
                Tensor normed = self.norm.forward(x);
                Tensor h = x.add(F.dropout(self.body.forward(normed, normed, selfBias,
                        cache == null ? null : cache.selfKeys, cache == null ? null : cache.selfValues, index, true),
                        dropout, training));
                if (cross != null)
                    h = h.add(F.dropout(cross.body.forward(cross.norm.forward(h), memory, crossBias,
                            cache == null ? null : cache.crossKeys, cache == null ? null : cache.crossValues, index, false),
                            dropout, training));
                return s.keep(h.add(F.dropout(ff.body.forward(ff.norm.forward(h)), dropout, training)));
            }
        }
    }

    /** {@code encoder} or {@code decoder}: the blocks and the final T5LayerNorm (the embedding is {@code shared}). */
    static final class Stack extends Module {
        final ModuleList<Block> blocks;
        final LayerNorm finalLayerNorm;

        Stack(Config c, boolean decoder) {
            blocks = child("block", new ModuleList<>(decoder ? c.decoderLayers : c.encoderLayers, i -> new Block(c, decoder, i == 0)));
            finalLayerNorm = child("final_layer_norm", new LayerNorm(c.dModel, c.layerNormEps));
        }
    }

    public final Config cfg;
    public final Embedding shared;
    final Stack encoder, decoder;
    final Parameter lmHead;

    public T5(Config cfg) {
        this.cfg = cfg;
        shared = child("shared", new Embedding(cfg.vocabSize, cfg.dModel));
        encoder = child("encoder", new Stack(cfg, false));
        decoder = child("decoder", new Stack(cfg, true));
        lmHead = cfg.ownLmHead ? child("lm_head", new Container()).registerParameter("weight", cfg.vocabSize, cfg.dModel) : null;
    }

    /** Checkpoint keys that name {@code shared} a second time ({@code encoder/decoder.embed_tokens}); a loader drops them. */
    public static boolean isTiedCopy(String key) {
        return key.equals("encoder.embed_tokens.weight") || key.equals("decoder.embed_tokens.weight");
    }

    /** A T5ForConditionalGeneration folder (google/flan-t5-*): its config, the head untied iff it has lm_head, strict load. */
    public static T5 load(HfCheckpoint ckpt, DType dtype, Device device) {
        T5 m = new T5(Config.from(ckpt.config()).withOwnLmHead(ckpt.names(), ""));
        m.loadStateDict(ckpt.source(), k -> isTiedCopy(k) ? null : k, dtype, device, true);
        return m;
    }

    public Tensor embed(Tensor ids) {
        return shared.forward(ids);
    }

    /** d_model: the width of inputs_embeds (what a Blip2 language_projection produces). */
    public int hiddenSize() {
        return cfg.dModel;
    }

    public Module module() {
        return this;
    }

    /**
     * inputsEmbeds (B, T, D); attentionMask (B, T) 0/1 or null (all ones). Returns the
     * encoder's last hidden state (B, T, D), after its final T5LayerNorm.
     */
    public Tensor encode(Tensor inputsEmbeds, Tensor attentionMask) {
        try (Scope s = Scope.open()) {
            long t = inputsEmbeds.size(1);
            Block first = encoder.blocks.get(0);
            Tensor bias = first.self.body.positionBias(t, 0, t, true, cfg.maxDistance, inputsEmbeds.device())
                    .to(inputsEmbeds.dtype());
            if (attentionMask != null) bias = bias.add(Masks.padding(attentionMask, inputsEmbeds.dtype())); // (1 or B, H, T, T)
            Tensor h = F.dropout(inputsEmbeds, cfg.dropout, training);
            for (int i = 0; i < encoder.blocks.size(); i++) h = encoder.blocks.get(i).forward(h, bias, null, null, null, i);
            return s.keep(F.dropout(encoder.finalLayerNorm.forward(h), cfg.dropout, training)); // (B, T, D)
        }
    }

    /**
     * decoderIds (N, T) new decoder tokens; memory (N, S, D) encoder output and memoryMask
     * (N, S) 0/1 or null; cache null for a single full pass, else the tokens continue what the
     * cache holds. Returns logits (N, T, V).
     */
    public Tensor decode(Tensor decoderIds, Tensor memory, Tensor memoryMask, Cache cache) {
        try (Scope s = Scope.open()) {
            Tensor x = embed(decoderIds).to(memory.dtype()); // (N, T, D)
            long t = x.size(1), past = cache == null ? 0 : cache.length(), total = past + t;
            Device dev = x.device();
            // causal self-attention bias (1, H, T, past+T); the decoder has no padding mask
            Tensor bias = decoder.blocks.get(0).self.body.positionBias(t, past, total, false, cfg.maxDistance, dev).to(x.dtype());
            Tensor causal = Torch.ones(DType.BOOL, dev, t, total).tril(past).view(1, 1, t, total);
            bias = bias.add(Masks.additive(causal, x.dtype())); // (1, H, T, past+T)
            // cross-attention: no position bias, only the encoder's padding
            Tensor crossBias = memoryMask == null ? Torch.zeros(x.dtype(), dev, 1, 1, 1, memory.size(1))
                    : Masks.padding(memoryMask, x.dtype()); // (N or 1, 1, 1, S)
            int i = 0;
            Tensor h = F.dropout(x, cfg.dropout, training);
            for (Block b : decoder.blocks) h = b.forward(h, bias, memory, crossBias, cache, i++);
            h = F.dropout(decoder.finalLayerNorm.forward(h), cfg.dropout, training);
            if (cfg.scaleDecoderOutputs) h = h.mul(Math.pow(cfg.dModel, -0.5));
            return s.keep(F.linear(h, lmHead == null ? shared.weight.get() : lmHead.get(), null)); // (N, T, V)
        }
    }

    /** The labels shifted right: decoder start first, -100 replaced by the pad id. labels (B, L) int64. */
    public Tensor shiftRight(Tensor labels) {
        try (Scope s = Scope.open()) {
            long b = labels.size(0), l = labels.size(1);
            Tensor start = Torch.full(cfg.decoderStartTokenId, DType.I64, labels.device(), b, 1);
            Tensor shifted = Torch.cat(1, start, labels.narrow(1, 0, l - 1)); // (B, L)
            return s.keep(shifted.maskedFill(shifted.eq(F.IGNORE_INDEX), cfg.padTokenId));
        }
    }

    /**
     * Mean cross-entropy of logits (B, L, V) against labels (B, L) over the labels that are not
     * -100 (no shift), in float32 for half-precision logits.
     */
    public static Tensor loss(Tensor logits, Tensor labels) {
        try (Scope s = Scope.open()) {
            long v = logits.size(-1);
            Tensor flat = logits.reshape(-1, v);
            if (flat.dtype() == DType.BF16 || flat.dtype() == DType.F16) flat = flat.to(DType.F32);
            return s.keep(F.crossEntropy(flat, labels.reshape(-1)));
        }
    }

    /** encoderLastHiddenState (B, T, D), logits (B, L, V) and loss (scalar, null without labels). */
    public record Output(Tensor encoderLastHiddenState, Tensor logits, Tensor loss) implements TensorRecord {}

    /**
     * The seq2seq forward: inputsEmbeds (B, T, D) and attentionMask (B, T) into the encoder;
     * decoderInputIds (B, L), or null to use labels shifted right; labels (B, L) with -100 to
     * ignore, or null for no loss.
     */
    public Output forward(Tensor inputsEmbeds, Tensor attentionMask, Tensor decoderInputIds, Tensor labels) {
        if (decoderInputIds == null && labels == null)
            throw new TorchException("T5 forward needs decoder_input_ids or labels");
        try (Scope s = Scope.open()) {
            Tensor memory = encode(inputsEmbeds, attentionMask);
            Tensor dec = decoderInputIds != null ? decoderInputIds : shiftRight(labels);
            Tensor logits = decode(dec, memory, attentionMask, null);
            Tensor loss = labels == null ? null : loss(logits, labels);
            return s.keepAll(new Output(memory, logits, loss));
        }
    }
}
