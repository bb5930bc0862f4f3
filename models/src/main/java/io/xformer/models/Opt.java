package io.xformer.models;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.nn.Container;
import io.xformer.nn.DType;
import io.xformer.nn.Embedding;
import io.xformer.nn.F;
import io.xformer.nn.LayerNorm;
import io.xformer.nn.Linear;
import io.xformer.nn.Module;
import io.xformer.nn.ModuleList;
import io.xformer.nn.Parameter;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;
import java.util.ArrayList;
import java.util.List;

/**
 * OPT (transformers' OPTForCausalLM): learned positions offset by 2 and derived from the
 * attention mask, pre- or post-norm decoder layers, optional project_in/out, LM head tied to
 * the input embeddings unless the checkpoint has its own. Keys: {@code model.decoder.*},
 * {@code lm_head.weight} (untied only). Incremental decoding keeps a per-layer KV cache.
 */
public final class Opt extends Module implements LanguageModel {
    /** OPT's LayerNorms use torch's default eps (transformers' OPT has no config field for it). */
    static final double LAYER_NORM_EPS = 1e-5;
    public record Config(int vocabSize, int hiddenSize, int wordEmbedProjDim, int layers, int heads, int ffnDim,
                         int maxPositions, boolean doLayerNormBefore, boolean removeFinalLayerNorm, String activation,
                         boolean tieWordEmbeddings, boolean enableBias, double dropout, int bosTokenId, int eosTokenId,
                         int padTokenId) {
        public static Config from(JsonNode c) {
            int hidden = Json.i(c, "hidden_size", 768);
            return new Config(Json.i(c, "vocab_size", 50272), hidden, Json.i(c, "word_embed_proj_dim", hidden),
                    Json.i(c, "num_hidden_layers", 12), Json.i(c, "num_attention_heads", 12), Json.i(c, "ffn_dim", 3072),
                    Json.i(c, "max_position_embeddings", 2048), Json.b(c, "do_layer_norm_before", true),
                    Json.b(c, "_remove_final_layer_norm", false), Json.s(c, "activation_function", "relu"),
                    Json.b(c, "tie_word_embeddings", true), Json.b(c, "enable_bias", true), Json.d(c, "dropout", 0.1),
                    Json.i(c, "bos_token_id", 2), Json.i(c, "eos_token_id", 2), Json.i(c, "pad_token_id", 1));
        }
    }

    /** Keys and values of every layer so far, each (B, H, T, D). */
    public static final class Cache implements AutoCloseable {
        final List<Tensor> keys = new ArrayList<>(), values = new ArrayList<>();
        Tensor mask; // (B, T) 0/1 of everything seen

        public long length() {
            return keys.isEmpty() ? 0 : keys.get(0).size(2);
        }

        /** Keeps batch rows {@code index} (beam search reorders beams with this). */
        public void select(Tensor index) {
            for (int i = 0; i < keys.size(); i++) {
                keys.set(i, swap(keys.get(i), keys.get(i).indexSelect(0, index)));
                values.set(i, swap(values.get(i), values.get(i).indexSelect(0, index)));
            }
            mask = swap(mask, mask.indexSelect(0, index));
        }

        static Tensor swap(Tensor old, Tensor fresh) {
            Scope.unscoped(fresh);
            if (old != null) old.close();
            return fresh;
        }

        @Override
        public void close() {
            keys.forEach(Tensor::close);
            values.forEach(Tensor::close);
            keys.clear();
            values.clear();
            if (mask != null) mask.close();
            mask = null;
        }
    }

    static final class Attention extends Module {
        final Linear q, k, v, out;
        final int heads;

        Attention(Config c) {
            heads = c.heads;
            q = child("q_proj", new Linear(c.hiddenSize, c.hiddenSize, c.enableBias));
            k = child("k_proj", new Linear(c.hiddenSize, c.hiddenSize, c.enableBias));
            v = child("v_proj", new Linear(c.hiddenSize, c.hiddenSize, c.enableBias));
            out = child("out_proj", new Linear(c.hiddenSize, c.hiddenSize, c.enableBias));
        }

        Tensor forward(Tensor x, Tensor mask, Cache cache, int layer) {
            try (Scope s = Scope.open()) {
                Tensor qh = Heads.split(q.forward(x), heads), kh = Heads.split(k.forward(x), heads),
                        vh = Heads.split(v.forward(x), heads); // (B, H, T, D/H) each
                if (cache != null) {
                    if (cache.keys.size() > layer) {
                        kh = Torch.cat(2, cache.keys.get(layer), kh); // (B, H, past+T, D/H)
                        vh = Torch.cat(2, cache.values.get(layer), vh);
                        cache.keys.set(layer, Cache.swap(cache.keys.get(layer), kh));
                        cache.values.set(layer, Cache.swap(cache.values.get(layer), vh));
                    } else {
                        cache.keys.add(Scope.unscoped(kh.contiguous()));
                        cache.values.add(Scope.unscoped(vh.contiguous()));
                        kh = cache.keys.get(layer);
                        vh = cache.values.get(layer);
                    }
                }
                return s.keep(out.forward(Heads.merge(F.scaledDotProductAttention(qh, kh, vh, mask)))); // (B, T, D)
            }
        }
    }

    static final class Layer extends Module {
        final Attention attn;
        final LayerNorm attnNorm, finalNorm;
        final Linear fc1, fc2;
        final boolean preNorm;
        final String act;

        Layer(Config c) {
            preNorm = c.doLayerNormBefore;
            act = c.activation;
            attn = child("self_attn", new Attention(c));
            attnNorm = child("self_attn_layer_norm", new LayerNorm(c.hiddenSize, LAYER_NORM_EPS));
            fc1 = child("fc1", new Linear(c.hiddenSize, c.ffnDim, c.enableBias));
            fc2 = child("fc2", new Linear(c.ffnDim, c.hiddenSize, c.enableBias));
            finalNorm = child("final_layer_norm", new LayerNorm(c.hiddenSize, LAYER_NORM_EPS));
        }

        Tensor forward(Tensor x, Tensor mask, Cache cache, int layer) {
            try (Scope s = Scope.open()) {
                // 1. self-attention block (pre-norm for every OPT but 350m)
                Tensor h = x.add(attn.forward(preNorm ? attnNorm.forward(x) : x, mask, cache, layer)); // (B, T, D)
                if (!preNorm) h = attnNorm.forward(h);
                // 2. feed-forward block
                Tensor f = fc2.forward(activation(fc1.forward(preNorm ? finalNorm.forward(h) : h))); // (B, T, D) -> (B, T, F) -> (B, T, D)
                Tensor out = h.add(f);
                return s.keep(preNorm ? out : finalNorm.forward(out));
            }
        }

        Tensor activation(Tensor x) {
            return switch (act) {
                case "relu" -> x.relu();
                case "gelu" -> F.gelu(x);
                case "gelu_new", "gelu_pytorch_tanh" -> F.gelu(x, true);
                default -> throw new TorchException("unsupported OPT activation '" + act + "'");
            };
        }
    }

    public final Config cfg;
    public final Embedding embedTokens, embedPositions;
    final Linear projectIn, projectOut;
    final ModuleList<Layer> layers;
    final LayerNorm finalLayerNorm;
    final Parameter lmHead;

    public Opt(Config cfg) {
        this.cfg = cfg;
        Container decoder = child("model", new Container()).registerChild("decoder", new Container());
        embedTokens = decoder.registerChild("embed_tokens", new Embedding(cfg.vocabSize, cfg.wordEmbedProjDim));
        embedPositions = decoder.registerChild("embed_positions", new Embedding(cfg.maxPositions + 2, cfg.hiddenSize));
        boolean project = cfg.wordEmbedProjDim != cfg.hiddenSize;
        projectOut = project ? decoder.registerChild("project_out", new Linear(cfg.hiddenSize, cfg.wordEmbedProjDim, false)) : null;
        projectIn = project ? decoder.registerChild("project_in", new Linear(cfg.wordEmbedProjDim, cfg.hiddenSize, false)) : null;
        finalLayerNorm = cfg.doLayerNormBefore && !cfg.removeFinalLayerNorm
                ? decoder.registerChild("final_layer_norm", new LayerNorm(cfg.hiddenSize, LAYER_NORM_EPS)) : null;
        layers = decoder.registerChild("layers", new ModuleList<>(cfg.layers, i -> new Layer(cfg)));
        lmHead = cfg.tieWordEmbeddings ? null
                : child("lm_head", new Container()).registerParameter("weight", cfg.vocabSize, cfg.wordEmbedProjDim);
    }

    @Override
    public Tensor embed(Tensor ids) {
        return embedTokens.forward(ids);
    }

    @Override
    public int hiddenSize() {
        return cfg.hiddenSize;
    }

    @Override
    public Module module() {
        return this;
    }

    /**
     * inputsEmbeds (B, T, word_embed_proj_dim) of the new tokens; attentionMask (B, T) 0/1 for
     * them (null = all ones); cache null for a single full pass. Returns logits (B, T, V).
     */
    public Tensor forward(Tensor inputsEmbeds, Tensor attentionMask, Cache cache) {
        try (Scope s = Scope.open()) {
            long b = inputsEmbeds.size(0), t = inputsEmbeds.size(1);
            long past = cache == null ? 0 : cache.length();
            Tensor newMask = attentionMask != null ? attentionMask.to(DType.I64)
                    : Torch.ones(DType.I64, inputsEmbeds.device(), b, t);
            Tensor mask = cache != null && cache.mask != null ? Torch.cat(1, cache.mask, newMask) : newMask; // (B, past+T)
            if (cache != null) cache.mask = Cache.swap(cache.mask, mask.contiguous());
            // 1. positions: cumsum(mask) * mask - 1, offset 2, for the new tokens only
            Tensor positions = mask.cumsum(1).mul(mask).sub(1).narrow(1, past, t).add(2); // (B, T)
            Tensor x = projectIn == null ? inputsEmbeds : projectIn.forward(inputsEmbeds); // (B, T, D)
            Tensor h = x.add(embedPositions.forward(positions).to(x.dtype())); // (B, T, D)
            // 2. causal + padding mask (B, 1, T, past+T)
            Tensor attnMask = causalMask(mask, t, past, h.dtype());
            for (int i = 0; i < layers.size(); i++) h = layers.get(i).forward(h, attnMask, cache, i);
            if (finalLayerNorm != null) h = finalLayerNorm.forward(h);
            if (projectOut != null) h = projectOut.forward(h); // (B, T, word_embed_proj_dim)
            // 3. LM head (tied to the input embeddings unless the checkpoint has lm_head)
            return s.keep(F.linear(h, lmHead == null ? embedTokens.weight.get() : lmHead.get(), null)); // (B, T, V)
        }
    }

    static Tensor causalMask(Tensor keep, long t, long past, DType dtype) {
        try (Scope s = Scope.open()) {
            long total = past + t;
            // row i (absolute position past+i) may see columns <= past+i that are not padding
            Tensor causal = Torch.ones(DType.BOOL, keep.device(), t, total).tril(past);
            long b = keep.size(0);
            Tensor allowed = causal.view(1, 1, t, total).logicalAnd(keep.ne(0).view(b, 1, 1, total));
            return s.keep(Masks.additive(allowed, dtype));
        }
    }
}
