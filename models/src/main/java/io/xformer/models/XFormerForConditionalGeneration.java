package io.xformer.models;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.nn.Container;
import io.xformer.nn.DType;
import io.xformer.nn.F;
import io.xformer.nn.Linear;
import io.xformer.nn.Module;
import io.xformer.nn.Parameter;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.TensorRecord;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The stage-2 model (DESIGN.md "Stage 2"): image queries projected into an LLM's input.
 * Variant {@code blip2} is transformers' Blip2ForConditionalGeneration (5.x) key for key, so an
 * HF BLIP-2 folder loads and runs unchanged; variant {@code xformer} adds the frozen MAE-ViT
 * ({@code mae.vit.*}, module-style names as in stage 1) and the X-Former block ({@code xformer.*}).
 * With {@code use_qformer_text_input} the Q-Former also reads a question ({@code embeddings.*},
 * as Blip2ForImageTextRetrieval names them).
 *
 * <pre>
 * C  = CLIP-ViT(x)                           (B, 1+N, Dv)    frozen
 * M  = MAE-ViT(x_mae, mask ratio r2)         (B, 1+N', Dm)   frozen (xformer)
 * Z  = QFormer([queries; question], C)       (B, Q(+L), D)
 * Z' = block 2 (Z, m2 = block 1 (M, Z))      (B, Q, D)       (xformer; blip2: Z' = Z[:, :Q])
 * P  = language_projection(Z')               (B, Q, D_llm)
 * LLM(inputs_embeds = ids' embeddings with the image_token_index rows replaced by P, in order)
 * </pre>
 */
public final class XFormerForConditionalGeneration extends Module {
    public static final List<String> VARIANTS = Variant.ids(Variant.STAGE2);

    /** json: the config.json this was read from (exports write it back). */
    public record Config(Variant kind, Blip2Vision.Config vision, QFormer.Config qformer, VitMae.Config mae, JsonNode textConfig,
                         int numQueryTokens, int imageTokenIndex, double maeMaskRatio, JsonNode json) {
        /** From an XFormerForConditionalGeneration or Blip2ForConditionalGeneration config.json. */
        public static Config from(JsonNode c) {
            // an HF Blip2ForConditionalGeneration folder has no variant
            Variant kind = Variant.of(Json.s(c, "variant", "blip2"), Variant.STAGE2, "stage-2");
            double r2 = Json.d(c, "stage2_mae_mask_ratio", 0.0);
            if (r2 < 0 || r2 >= 1) throw new TorchException("config.json: stage2_mae_mask_ratio must be in [0, 1), got " + r2);
            VitMae.Config mae = null;
            if (kind.hasMae()) {
                VitMae.Config m = VitMae.Config.from(Json.obj(c, "mae_config"));
                // stage 2 masks with r2, not with the pre-training ratio
                mae = new VitMae.Config(m.hiddenSize(), m.layers(), m.heads(), m.intermediate(), m.imageSize(), m.patchSize(),
                        m.channels(), m.qkvBias(), m.layerNormEps(), r2, m.decoderHidden(), m.decoderLayers(), m.decoderHeads(),
                        m.decoderIntermediate(), m.normPixLoss());
            }
            return new Config(kind, Blip2Vision.Config.from(Json.obj(c, "vision_config")), QFormer.Config.from(Json.obj(c, "qformer_config")),
                    mae, Json.obj(c, "text_config"), Json.i(c, "num_query_tokens", 32), Json.i(c, "image_token_index", -1), r2, c.deepCopy());
        }

        /** The config.json value of the variant. */
        public String variant() {
            return kind.id;
        }

        public boolean hasMae() {
            return kind.hasMae();
        }
    }

    public final Config cfg;
    public final Blip2Vision visionModel;
    public final Blip2Queries queryInput;
    public final Parameter queryTokens;
    public final QFormer qformer;
    public final QFormer.TextEmbeddings embeddings;
    public final Linear languageProjection;
    public final LanguageModel languageModel;
    public final VitMae.Encoder mae;
    public final XFormer.Block block;

    public XFormerForConditionalGeneration(Config cfg) {
        this.cfg = cfg;
        int d = cfg.qformer.hiddenSize();
        visionModel = child("vision_model", new Blip2Vision(cfg.vision));
        queryInput = new Blip2Queries(this, cfg.qformer, cfg.numQueryTokens, cfg.qformer.textInput());
        queryTokens = queryInput.queryTokens;
        qformer = queryInput.qformer;
        embeddings = queryInput.embeddings;
        languageModel = LanguageModel.of(cfg.textConfig);
        languageProjection = child("language_projection", new Linear(d, languageModel.hiddenSize(), true));
        child("language_model", languageModel.module());
        mae = cfg.hasMae() ? child("mae", new Container()).registerChild("vit", new VitMae.Encoder(cfg.mae)) : null;
        block = cfg.kind.hasBlock() ? child("xformer", new XFormer.Block(cfg.qformer, cfg.mae.hiddenSize())) : null;
    }

    /** The decoder-only LM (OPT); an encoder-decoder LM has its own forward. */
    public Opt opt() {
        if (languageModel instanceof Opt o) return o;
        throw new TorchException("this operation needs a decoder-only language model (OPT), not " + languageModel.getClass().getSimpleName());
    }

    /**
     * Training mode for what trains; the frozen encoders (CLIP-ViT, MAE-ViT) and, unless it
     * trains, the language model stay in eval mode.
     */
    public void trainExceptFrozen(boolean languageModelTrains) {
        train(true);
        visionModel.train(false);
        if (mae != null) mae.train(false);
        if (!languageModelTrains) languageModel.module().train(false);
    }

    /** Checkpoint key -> module key (MAE stored with module-style names, as in stage 1). */
    public static String fromCheckpointKey(String key) {
        return XFormer.fromCheckpointKey(key);
    }

    /** The state dict under checkpoint names. */
    public Map<String, Tensor> checkpointState() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        stateDict().forEach((k, v) -> out.put(XFormer.toCheckpointKey(k), v));
        return out;
    }

    /** What the frozen encoders produce: C and (xformer) the MAE encoding. */
    public record Encoded(Tensor clip, VitMae.Encoded mae, Blip2Vision.Output vision) implements TensorRecord {}

    /** The frozen encoders. noise (B, N) drives the MAE's masking; null: random (identity order when r2 = 0). */
    public Encoded encode(Tensor pixels, Tensor pixelsMae, Tensor noise) {
        try (Scope s = Scope.open()) {
            Blip2Vision.Output v = visionModel.forward(pixels);
            VitMae.Encoded m = mae == null ? null : encodeMae(pixelsMae, noise);
            return s.keepAll(new Encoded(v.lastHiddenState(), m, v));
        }
    }

    /** The MAE-ViT at mask ratio r2 (xformer). */
    public VitMae.Encoded encodeMae(Tensor pixelsMae, Tensor noise) {
        if (pixelsMae == null) throw new TorchException("the xformer variant needs pixel_values_mae (ImageNet-normalised pixels)");
        try (Scope s = Scope.open()) {
            if (noise == null && cfg.maeMaskRatio == 0) {
                // nothing is masked: keep the patches in order (the result does not depend on it)
                long b = pixelsMae.size(0), n = cfg.mae.numPatches();
                noise = Torch.arange(0, n, 1, DType.F32, pixelsMae.device()).unsqueeze(0).expand(b, n).contiguous();
            }
            return s.keepAll(mae.forward(pixelsMae, noise));
        }
    }

    /** Query outputs: Z (the Q-Former's queries) and Z' (what language_projection reads), both (B, Q, D). */
    public record Queries(Tensor z, Tensor zPrime) implements TensorRecord {}

    /**
     * The trainable image side. question ids / mask (B, L) go into the Q-Former with the queries
     * (use_qformer_text_input; null: queries only). Returns the query rows only.
     */
    public Queries queries(Encoded e, Tensor questionIds, Tensor questionMask) {
        try (Scope s = Scope.open()) {
            long b = e.clip().size(0);
            int nq = cfg.numQueryTokens;
            Blip2Queries.Input in = queryInput.input(b, questionIds, questionMask); // (B, Q(+L), D)
            Tensor selfMask = in.selfMask();
            Tensor h = qformer.forward(in.embeddings(), nq, selfMask, e.clip()); // (B, Q(+L), D)
            Tensor z = h.narrow(1, 0, nq); // Z (B, Q, D)
            if (block == null) return s.keepAll(new Queries(z, z));
            Tensor m2 = block.enrich(e.mae().lastHiddenState(), z);
            Tensor out = block.layer.forward(h, selfMask, nq, m2, null); // (B, Q(+L), D)
            return s.keepAll(new Queries(z, out.narrow(1, 0, nq)));
        }
    }

    /** Token embeddings of ids with the placeholders replaced by the projected queries, in row-major order. */
    public Tensor inputsEmbeds(Tensor ids, Tensor languageInputs) {
        try (Scope s = Scope.open()) {
            Tensor emb = languageModel.embed(ids); // (B, T, D_llm)
            Tensor placeholders = ids.eq(cfg.imageTokenIndex); // (B, T)
            long n = (long) placeholders.sum().item();
            long expected = languageInputs.size(0) * languageInputs.size(1);
            if (n != expected)
                throw new TorchException("input_ids hold " + n + " image tokens (id " + cfg.imageTokenIndex + ") but the images give "
                        + expected + " query embeddings (" + cfg.numQueryTokens + " per image)");
            Tensor mask = placeholders.unsqueeze(-1).expand(emb.shape()); // (B, T, D_llm)
            return s.keep(emb.maskedScatter(mask, languageInputs.to(emb.dtype())));
        }
    }

    /**
     * Everything a forward produces, for the CLI, the parity tests and training. loss is null without
     * labels; encoderLastHiddenState only for an encoder-decoder LM (T5).
     */
    public record Output(Blip2Vision.Output vision, Tensor qformerOutput, Tensor languageInputs, Tensor inputsEmbeds,
                         Tensor logits, Tensor loss, Tensor encoderLastHiddenState) implements TensorRecord {}

    /** The whole forward from pixels; labels (B, T) with -100 where no loss is taken (null: no loss). */
    public Output forward(Tensor pixels, Tensor pixelsMae, Tensor noise, Tensor ids, Tensor attentionMask, Tensor labels) {
        return forward(pixels, pixelsMae, noise, ids, attentionMask, null, labels);
    }

    /** As above; decoderInputIds (T5 only; null: the labels shifted right). */
    public Output forward(Tensor pixels, Tensor pixelsMae, Tensor noise, Tensor ids, Tensor attentionMask, Tensor decoderInputIds,
                          Tensor labels) {
        try (Scope s = Scope.open()) {
            Encoded e = encode(pixels, pixelsMae, noise);
            Output o = forward(e, null, null, ids, attentionMask, decoderInputIds, labels);
            return s.keepAll(new Output(e.vision(), o.qformerOutput(), o.languageInputs(), o.inputsEmbeds(), o.logits(), o.loss(),
                    o.encoderLastHiddenState()));
        }
    }

    /** The trainable part of the forward from encoded images (training runs the encoders under inference mode). */
    public Output forward(Encoded e, Tensor questionIds, Tensor questionMask, Tensor ids, Tensor attentionMask, Tensor labels) {
        return forward(e, questionIds, questionMask, ids, attentionMask, null, labels);
    }

    public Output forward(Encoded e, Tensor questionIds, Tensor questionMask, Tensor ids, Tensor attentionMask, Tensor decoderInputIds,
                          Tensor labels) {
        try (Scope s = Scope.open()) {
            Queries q = queries(e, questionIds, questionMask);
            Tensor lang = languageProjection.forward(q.zPrime()); // P (B, Q, D_llm)
            Tensor emb = inputsEmbeds(ids, lang); // (B, T, D_llm)
            Tensor logits, loss, memory = null;
            if (languageModel instanceof T5 t5) {
                // encoder-decoder: labels are the decoder's targets (decoder input = labels shifted right)
                T5.Output o = t5.forward(emb, attentionMask, decoderInputIds, labels);
                logits = o.logits();
                loss = o.loss();
                memory = o.encoderLastHiddenState();
            } else {
                logits = opt().forward(emb, attentionMask, null);
                loss = labels == null ? null : causalLmLoss(logits, labels);
            }
            return s.keepAll(new Output(e.vision(), q.zPrime(), lang, emb, logits, loss, memory));
        }
    }

    /**
     * Blip2ForConditionalGeneration's loss: logits[:, -L:] with L = labels' length, logits[:, :-1]
     * predict labels[:, 1:], cross-entropy averaged over every label that is not -100 in the batch.
     */
    public static Tensor causalLmLoss(Tensor logits, Tensor labels) {
        try (Scope s = Scope.open()) {
            long l = labels.size(1), t = logits.size(1);
            Tensor lg = logits.narrow(1, t - l, l).narrow(1, 0, l - 1).to(DType.F32); // (B, L-1, V)
            Tensor target = labels.narrow(1, 1, l - 1).to(DType.I64); // (B, L-1)
            long v = lg.size(2);
            return s.keep(F.crossEntropy(lg.reshape(-1, v), target.reshape(-1), null, F.Reduction.MEAN, F.IGNORE_INDEX, 0.0));
        }
    }

    /** Decodes after a prompt whose image_token_index placeholders take the (question-aware) queries; (B, prompt + new). */
    public Tensor generate(Encoded e, Tensor questionIds, Tensor questionMask, Tensor ids, Tensor attentionMask, Generate.Options o) {
        try (Scope s = Scope.open()) {
            Tensor lang = languageProjection.forward(queries(e, questionIds, questionMask).zPrime());
            if (languageModel instanceof T5 t5) return s.keep(Seq2SeqGenerate.generate(t5, inputsEmbeds(ids, lang), attentionMask, o));
            return s.keep(Generate.generate(opt(), ids, inputsEmbeds(ids, lang), attentionMask, o));
        }
    }
}
