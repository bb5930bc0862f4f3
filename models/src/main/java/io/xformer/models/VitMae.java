package io.xformer.models;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.nn.Container;
import io.xformer.nn.DType;
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
import java.util.Arrays;

/**
 * ViT-MAE (He et al.) as transformers' ViTMAEForPreTraining: random masking driven by a
 * noise tensor, the ViT encoder over the kept patches, the decoder that re-inserts mask
 * tokens, and the reconstruction loss on masked patches. State-dict keys: {@code vit.*},
 * {@code decoder.*}.
 */
public final class VitMae {
    private VitMae() {}

    public record Config(int hiddenSize, int layers, int heads, int intermediate, int imageSize, int patchSize,
                         int channels, boolean qkvBias, double layerNormEps, double maskRatio, int decoderHidden,
                         int decoderLayers, int decoderHeads, int decoderIntermediate, boolean normPixLoss) {
        public static Config from(JsonNode c) {
            return new Config(Json.i(c, "hidden_size", 768), Json.i(c, "num_hidden_layers", 12),
                    Json.i(c, "num_attention_heads", 12), Json.i(c, "intermediate_size", 3072), Json.i(c, "image_size", 224),
                    Json.i(c, "patch_size", 16), Json.i(c, "num_channels", 3), Json.b(c, "qkv_bias", true),
                    Json.d(c, "layer_norm_eps", 1e-12), Json.d(c, "mask_ratio", 0.75), Json.i(c, "decoder_hidden_size", 512),
                    Json.i(c, "decoder_num_hidden_layers", 8), Json.i(c, "decoder_num_attention_heads", 16),
                    Json.i(c, "decoder_intermediate_size", 2048), Json.b(c, "norm_pix_loss", false));
        }

        public int numPatches() {
            return (imageSize / patchSize) * (imageSize / patchSize);
        }
    }

    /** A pre-norm ViT block: x + attn(ln(x)), then x + mlp(ln(x)). */
    static final class Layer extends Module {
        final Attention attention;
        final Linear intermediate, output;
        final LayerNorm before, after;

        Layer(int hidden, int heads, int inter, boolean qkvBias, double eps) {
            attention = child("attention", new Attention(hidden, heads, qkvBias));
            intermediate = child("intermediate", new Dense(hidden, inter)).dense;
            output = child("output", new Dense(inter, hidden)).dense;
            before = child("layernorm_before", new LayerNorm(hidden, eps));
            after = child("layernorm_after", new LayerNorm(hidden, eps));
        }

        Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                Tensor h = x.add(attention.forward(before.forward(x)));            // 1. attention residual
                Tensor m = output.forward(F.gelu(intermediate.forward(after.forward(h)))); // 2. MLP
                return s.keep(h.add(m));
            }
        }
    }

    /** {@code attention.{query,key,value}} + {@code output.dense}. */
    static final class Attention extends Module {
        final SelfAttention self;
        final Linear out;
        final int heads;

        Attention(int hidden, int heads, boolean bias) {
            this.heads = heads;
            self = child("attention", new SelfAttention(hidden, bias));
            out = child("output", new Dense(hidden, hidden)).dense;
        }

        Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                Tensor q = Heads.split(self.query.forward(x), heads), k = Heads.split(self.key.forward(x), heads),
                        v = Heads.split(self.value.forward(x), heads); // (B, H, T, D/H) each
                return s.keep(out.forward(Heads.merge(F.scaledDotProductAttention(q, k, v, null)))); // (B, T, D)
            }
        }
    }

    static final class SelfAttention extends Module {
        final Linear query, key, value;

        SelfAttention(int hidden, boolean bias) {
            query = child("query", new Linear(hidden, hidden, bias));
            key = child("key", new Linear(hidden, hidden, bias));
            value = child("value", new Linear(hidden, hidden, bias));
        }
    }

    /** A module holding one Linear named {@code dense}. */
    static final class Dense extends Module {
        final Linear dense;

        Dense(int in, int out) {
            dense = child("dense", new Linear(in, out, true));
        }
    }

    /** The output of the encoder: kept-patch features (with cls first), the mask and the restore order. */
    public record Encoded(Tensor lastHiddenState, Tensor mask, Tensor idsRestore) implements TensorRecord {
        /** Plain copies, in component order (inference-mode tensors cannot be saved for backward). */
        public Encoded copy() {
            return new Encoded(lastHiddenState.clone(), mask.clone(), idsRestore.clone());
        }
    }

    /** ViTMAEModel: {@code embeddings}, {@code encoder.layer.N}, {@code layernorm}. */
    public static final class Encoder extends Module {
        final Config cfg;
        final Parameter clsToken, positionEmbeddings;
        final PatchConv2d projection;
        final ModuleList<Layer> layers;
        final LayerNorm layernorm;

        public Encoder(Config cfg) {
            this.cfg = cfg;
            Module emb = child("embeddings", new Container());
            clsToken = emb.registerParameter("cls_token", 1, 1, cfg.hiddenSize);
            positionEmbeddings = emb.registerParameter("position_embeddings", 1, cfg.numPatches() + 1, cfg.hiddenSize);
            projection = emb.registerChild("patch_embeddings", new Container())
                    .registerChild("projection", new PatchConv2d(cfg.channels, cfg.hiddenSize, cfg.patchSize));
            layers = child("encoder", new Container()).registerChild("layer", new ModuleList<>(cfg.layers,
                    i -> new Layer(cfg.hiddenSize, cfg.heads, cfg.intermediate, cfg.qkvBias, cfg.layerNormEps)));
            layernorm = child("layernorm", new LayerNorm(cfg.hiddenSize, cfg.layerNormEps));
        }

        /** pixels (B, C, H, W); noise (B, N) orders the patches (small = kept), random when null. */
        public Encoded forward(Tensor pixels, Tensor noise) {
            try (Scope s = Scope.open()) {
                long b = pixels.size(0), n = cfg.numPatches(), d = cfg.hiddenSize;
                // 1. patches + position embeddings (without the cls slot)
                Tensor pos = positionEmbeddings.get();
                Tensor x = projection.forward(pixels).add(pos.narrow(1, 1, n)); // (B, N, D)
                // 2. per-sample shuffle by argsort(noise): keep the first len_keep
                long keep = (long) (n * (1 - cfg.maskRatio));
                if (noise == null) noise = Torch.rand(null, DType.F32, pixels.device(), b, n);
                if (noise.size(0) != b || noise.size(1) != n)
                    throw new TorchException("noise must be (" + b + ", " + n + "), got " + Arrays.toString(noise.shape()));
                Tensor idsShuffle = noise.argsort(1, false);
                Tensor idsRestore = idsShuffle.argsort(1, false); // (B, N)
                Tensor idsKeep = idsShuffle.narrow(1, 0, keep); // (B, keep)
                Tensor kept = x.gather(1, idsKeep.unsqueeze(-1).expand(b, keep, d)); // (B, keep, D)
                // 3. binary mask (1 = removed) in the original order
                Tensor mask = Torch.cat(1, Torch.zeros(x.dtype(), x.device(), b, keep), Torch.ones(x.dtype(), x.device(), b, n - keep))
                        .gather(1, idsRestore); // (B, N)
                // 4. cls token first, then the encoder
                Tensor cls = clsToken.get().add(pos.narrow(1, 0, 1)).expand(b, 1, d); // (B, 1, D)
                Tensor h = Torch.cat(1, cls, kept); // (B, 1+keep, D)
                for (Layer layer : layers) h = layer.forward(h);
                return s.keepAll(new Encoded(layernorm.forward(h), mask, idsRestore));
            }
        }
    }

    /** ViTMAEDecoder: {@code decoder_embed}, {@code mask_token}, {@code decoder_pos_embed}, {@code decoder_encoder.layer.N}, ... */
    public static final class Decoder extends Module {
        final Config cfg;
        final Linear embed, pred;
        final Parameter maskToken, posEmbed;
        final ModuleList<Layer> layers;
        final LayerNorm norm;

        public Decoder(Config cfg) {
            this.cfg = cfg;
            int dh = cfg.decoderHidden;
            embed = child("decoder_embed", new Linear(cfg.hiddenSize, dh, true));
            maskToken = registerParameter("mask_token", 1, 1, dh);
            posEmbed = registerBuffer("decoder_pos_embed", 1, cfg.numPatches() + 1, dh);
            layers = child("decoder_encoder", new Container()).registerChild("layer", new ModuleList<>(cfg.decoderLayers,
                    i -> new Layer(dh, cfg.decoderHeads, cfg.decoderIntermediate, cfg.qkvBias, cfg.layerNormEps)));
            norm = child("decoder_norm", new LayerNorm(dh, cfg.layerNormEps));
            pred = child("decoder_pred", new Linear(dh, (long) cfg.patchSize * cfg.patchSize * cfg.channels, true));
        }

        /** latent (B, 1+keep, hidden) -> per-patch pixel predictions (B, N, p*p*C). */
        public Tensor forward(Tensor latent, Tensor idsRestore) {
            try (Scope s = Scope.open()) {
                Tensor x = embed.forward(latent); // (B, 1+keep, Dd)
                long b = x.size(0), n = idsRestore.size(1), d = x.size(2);
                // 1. append mask tokens, unshuffle to the original patch order, cls back in front
                Tensor masks = maskToken.get().expand(b, n + 1 - x.size(1), d); // (B, N-keep, Dd)
                Tensor body = Torch.cat(1, x.narrow(1, 1, x.size(1) - 1), masks)
                        .gather(1, idsRestore.unsqueeze(-1).expand(b, n, d)); // (B, N, Dd)
                Tensor h = Torch.cat(1, x.narrow(1, 0, 1), body).add(posEmbed.get()); // (B, 1+N, Dd)
                // 2. transformer, norm, prediction; drop the cls row
                for (Layer layer : layers) h = layer.forward(h);
                Tensor logits = pred.forward(norm.forward(h)); // (B, 1+N, p*p*C)
                return s.keep(logits.narrow(1, 1, n));
            }
        }
    }

    /** ViTMAEForPreTraining. */
    public static final class ForPreTraining extends Module {
        public final Config cfg;
        public final Encoder vit;
        public final Decoder decoder;

        public ForPreTraining(Config cfg) {
            this.cfg = cfg;
            vit = child("vit", new Encoder(cfg));
            decoder = child("decoder", new Decoder(cfg));
        }

        public record Output(Encoded encoded, Tensor logits, Tensor loss) implements TensorRecord {}

        public Output forward(Tensor pixels, Tensor noise) {
            try (Scope s = Scope.open()) {
                Encoded e = vit.forward(pixels, noise);
                Tensor logits = decoder.forward(e.lastHiddenState(), e.idsRestore());
                Tensor loss = loss(pixels, logits, e.mask());
                return s.keepAll(new Output(e, logits, loss));
            }
        }

        /** Mean over masked patches of the per-patch mean squared error (target normalised per patch if norm_pix_loss). */
        public Tensor loss(Tensor pixels, Tensor pred, Tensor mask) {
            try (Scope s = Scope.open()) {
                Tensor target = patchify(pixels, cfg.patchSize); // (B, N, p*p*C)
                if (cfg.normPixLoss) {
                    Tensor mean = target.mean(-1, true);
                    Tensor var = target.var(new long[] {-1}, 1, true);
                    target = target.sub(mean).div(var.add(1e-6).sqrt());
                }
                Tensor perPatch = pred.sub(target).square().mean(-1);
                return s.keep(perPatch.mul(mask).sum().div(mask.sum()));
            }
        }
    }

    /** (B, C, H, W) -> (B, N, p*p*C), each patch in (p, q, c) order ("nchpwq->nhwpqc"). */
    public static Tensor patchify(Tensor pixels, long p) {
        long[] s = pixels.shape();
        long b = s[0], c = s[1], gh = s[2] / p, gw = s[3] / p;
        try (Scope sc = Scope.open()) {
            return sc.keep(pixels.reshape(b, c, gh, p, gw, p).permute(0, 2, 4, 3, 5, 1).reshape(b, gh * gw, p * p * c));
        }
    }
}
