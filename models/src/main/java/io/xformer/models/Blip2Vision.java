package io.xformer.models;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.nn.Container;
import io.xformer.nn.F;
import io.xformer.nn.LayerNorm;
import io.xformer.nn.Linear;
import io.xformer.nn.Module;
import io.xformer.nn.ModuleList;
import io.xformer.nn.Parameter;
import io.xformer.nn.PatchConv2d;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.TensorRecord;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;

/**
 * The EVA-style ViT of BLIP-2 (transformers' Blip2VisionModel): fused qkv projection with
 * q/v bias, pre-norm blocks, and a post-layernorm applied to the last hidden state (and,
 * once more, to its [CLS] row for the pooled output). Keys: {@code embeddings.*},
 * {@code encoder.layers.N.*}, {@code post_layernorm}.
 */
public final class Blip2Vision extends Module {
    public record Config(int hiddenSize, int layers, int heads, int intermediate, int imageSize, int patchSize,
                         double layerNormEps, boolean qkvBias) {
        public static Config from(JsonNode c) {
            return new Config(Json.i(c, "hidden_size", 1408), Json.i(c, "num_hidden_layers", 39),
                    Json.i(c, "num_attention_heads", 16), Json.i(c, "intermediate_size", 6144), Json.i(c, "image_size", 224),
                    Json.i(c, "patch_size", 14), Json.d(c, "layer_norm_eps", 1e-6), Json.b(c, "qkv_bias", true));
        }

        public int numPositions() {
            return (imageSize / patchSize) * (imageSize / patchSize) + 1;
        }
    }

    static final class Attention extends Module {
        final Linear qkv, projection;
        final int heads;

        Attention(Config c) {
            heads = c.heads;
            qkv = child("qkv", new Linear(c.hiddenSize, 3L * c.hiddenSize, c.qkvBias));
            projection = child("projection", new Linear(c.hiddenSize, c.hiddenSize, true));
        }

        Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                long b = x.size(0), t = x.size(1), d = x.size(2);
                // (B, T, 3D) -> (3, B, H, T, D/H)
                Tensor mixed = qkv.forward(x).reshape(b, t, 3, heads, d / heads).permute(2, 0, 3, 1, 4);
                Tensor o = F.scaledDotProductAttention(mixed.select(0, 0), mixed.select(0, 1), mixed.select(0, 2), null); // (B, H, T, D/H)
                return s.keep(projection.forward(Heads.merge(o))); // (B, T, D)
            }
        }
    }

    static final class Mlp extends Module {
        final Linear fc1, fc2;

        Mlp(Config c) {
            fc1 = child("fc1", new Linear(c.hiddenSize, c.intermediate, true));
            fc2 = child("fc2", new Linear(c.intermediate, c.hiddenSize, true));
        }

        Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                return s.keep(fc2.forward(F.gelu(fc1.forward(x)))); // (B, T, D) -> (B, T, I) -> (B, T, D)
            }
        }
    }

    static final class Layer extends Module {
        final Attention attn;
        final LayerNorm ln1, ln2;
        final Mlp mlp;

        Layer(Config c) {
            attn = child("self_attn", new Attention(c));
            ln1 = child("layer_norm1", new LayerNorm(c.hiddenSize, c.layerNormEps));
            mlp = child("mlp", new Mlp(c));
            ln2 = child("layer_norm2", new LayerNorm(c.hiddenSize, c.layerNormEps));
        }

        Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                Tensor h = x.add(attn.forward(ln1.forward(x))); // (B, T, D), pre-norm residual
                return s.keep(h.add(mlp.forward(ln2.forward(h))));
            }
        }
    }

    /** lastHiddenState (post-layernorm), pooled, and the hidden state after the first layer. */
    public record Output(Tensor lastHiddenState, Tensor pooled, Tensor afterFirstLayer) implements TensorRecord {}

    public final Config cfg;
    final Parameter classEmbedding, positionEmbedding;
    final PatchConv2d patchEmbedding;
    final ModuleList<Layer> layers;
    final LayerNorm postLayernorm;

    public Blip2Vision(Config cfg) {
        this.cfg = cfg;
        Container emb = child("embeddings", new Container());
        classEmbedding = emb.registerParameter("class_embedding", 1, 1, cfg.hiddenSize);
        patchEmbedding = emb.registerChild("patch_embedding", new PatchConv2d(3, cfg.hiddenSize, cfg.patchSize));
        positionEmbedding = emb.registerParameter("position_embedding", 1, cfg.numPositions(), cfg.hiddenSize);
        layers = child("encoder", new Container()).registerChild("layers", new ModuleList<>(cfg.layers, i -> new Layer(cfg)));
        postLayernorm = child("post_layernorm", new LayerNorm(cfg.hiddenSize, cfg.layerNormEps));
    }

    /** pixels (B, 3, H, W) -> Output; all three tensors are kept in the caller's scope. */
    public Output forward(Tensor pixels) {
        try (Scope s = Scope.open()) {
            long b = pixels.size(0);
            // 1. [CLS] + patches + positions
            Tensor patches = patchEmbedding.forward(pixels); // (B, N, D), N = (H/p)(W/p)
            long t = patches.size(1) + 1;
            if (t > cfg.numPositions())
                throw new TorchException("image of " + (t - 1) + " patches exceeds the " + (cfg.numPositions() - 1)
                        + " position embeddings of this model");
            Tensor cls = classEmbedding.get().to(patches.dtype()).expand(b, 1, cfg.hiddenSize); // (B, 1, D)
            Tensor h = Torch.cat(1, cls, patches).add(positionEmbedding.get().narrow(1, 0, t).to(patches.dtype())); // (B, 1+N, D)
            // 2. encoder
            Tensor first = null;
            for (int i = 0; i < layers.size(); i++) {
                h = layers.get(i).forward(h);
                if (i == 0) first = h;
            }
            // 3. post-layernorm; pooled = post_layernorm(last[:, 0])
            Tensor last = postLayernorm.forward(h); // (B, 1+N, D)
            Tensor pooled = postLayernorm.forward(last.select(1, 0)); // (B, D)
            return s.keepAll(new Output(last, pooled, first));
        }
    }
}
