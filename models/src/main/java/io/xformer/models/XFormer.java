package io.xformer.models;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.nn.Container;
import io.xformer.nn.DType;
import io.xformer.nn.F;
import io.xformer.nn.Generator;
import io.xformer.nn.Guard;
import io.xformer.nn.LayerNorm;
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
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * X-Former stage 1 (DESIGN.md "X-Former"): a frozen CLIP-ViT and a frozen MAE-ViT fused by a
 * trainable Q-Former plus the dual cross-attention block, trained with ITC, ITM, ITG and MAE
 * reconstruction. Variant {@code blip2} is the same model without the MAE branch and the block.
 *
 * <pre>
 * C  = CLIP-ViT(x)                      (B, 1+N, Dv)
 * M  = MAE-ViT(mask(x_mae))             (B, 1+keep, Dm)
 * Z  = QFormer(queries, C)              (B, Q, D)
 * m2 = FFN(CrossAttn(W_in M, Z))        (B, 1+keep, D)   block 1
 * M' = W_out m2                         (B, 1+keep, Dm)  -> frozen MAE decoder, reconstruction loss
 * Z' = Layer13([Z; text], kv = m2)      (B, Q, D)        block 2, after every Q-Former pass
 * </pre>
 */
public final class XFormer extends Module {
    /** ITC temperature: BLIP-2's initial value and the range training clamps it to after every step. */
    public static final double TEMP_INIT = 0.07, TEMP_MIN = 0.001, TEMP_MAX = 0.5;
    /** What hides the positive pair before the negative-sampling softmax (LAVIS's masked_fill value). */
    static final double POSITIVE_PAIR_MASK = -10000;

    public static final List<String> VARIANTS = Variant.ids(Variant.STAGE1);

    public record Config(Variant kind, Blip2Vision.Config vision, QFormer.Config qformer, VitMae.Config mae,
                         int numQueryTokens, int embedDim, int decTokenId, double labelSmoothing, int earlyCaLayers) {
        public static Config from(JsonNode c) {
            Variant kind = Variant.of(Json.s(c, "variant", "xformer"), Variant.STAGE1, "X-Former");
            QFormer.Config q = QFormer.Config.from(Json.obj(c, "qformer_config"));
            if (!q.textInput()) throw new TorchException("config.json: qformer_config.use_qformer_text_input must be true for stage 1");
            return new Config(kind, Blip2Vision.Config.from(Json.obj(c, "vision_config")), q,
                    kind.hasMae() ? VitMae.Config.from(Json.obj(c, "mae_config")) : null,
                    Json.i(c, "num_query_tokens", 32), Json.i(c, "image_text_hidden_size", 256), Json.i(c, "dec_token_id", 1),
                    Json.d(c, "label_smoothing", 0.1), Json.i(c, "early_ca_layers", 3));
        }

        /** The config.json value of the variant. */
        public String variant() {
            return kind.id;
        }

        public boolean hasMae() {
            return kind.hasMae();
        }
    }

    /** BERT's LM head ({@code cls.predictions}): dense + GELU + LayerNorm, decoder tied to the word embeddings, own bias. */
    static final class LmHead extends Module {
        final Linear dense;
        final LayerNorm norm;
        final Parameter bias;

        LmHead(QFormer.Config c) {
            Container transform = child("transform", new Container());
            dense = transform.registerChild("dense", new Linear(c.hiddenSize(), c.hiddenSize(), true));
            norm = transform.registerChild("LayerNorm", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
            bias = registerParameter("bias", c.vocabSize());
        }

        Tensor forward(Tensor h, Tensor wordEmbeddings) {
            try (Scope s = Scope.open()) {
                return s.keep(F.linear(norm.forward(F.gelu(dense.forward(h))), wordEmbeddings, bias.get())); // (B, L, D) -> (B, L, V)
            }
        }
    }

    /** The dual cross-attention block ({@code xformer.*}). */
    public static final class Block extends Module {
        final Linear projIn, projOut;
        final QFormer.Attention crossattention;
        final QFormer.FeedForward ffn;
        final QFormer.Layer layer;

        Block(QFormer.Config q, int maeHidden) {
            int d = q.hiddenSize();
            projIn = child("mae_proj_in", new Linear(maeHidden, d, true));
            crossattention = child("mae_crossattention", new QFormer.Attention(d, d, q.heads(), q.layerNormEps(), q.dropout(), q.attentionDropout()));
            ffn = new QFormer.FeedForward(this, "mae_intermediate", "mae_output", d, q.intermediate(), q.layerNormEps(), q.dropout());
            projOut = child("mae_proj_out", new Linear(d, maeHidden, true));
            layer = child("layer", new QFormer.Layer(q, true, d));
        }

        /** Block 1: MAE features (B, S, Dm) enriched by the queries Z (B, Q, D) -> m2 (B, S, D). */
        Tensor enrich(Tensor mae, Tensor z) {
            try (Scope s = Scope.open()) {
                Tensor x = projIn.forward(mae); // (B, S, Dm) -> (B, S, D)
                return s.keep(ffn.forward(crossattention.forward(x, z, null))); // m2 (B, S, D)
            }
        }
    }

    /**
     * The paper's §2.2 ablations, as this project reads them (DESIGN.md names them only):
     * {@code concat} lets the Q-Former's cross-attention read [C; W M] (MAE tokens projected to
     * the CLIP width, {@code xformer.mae_proj}); {@code early-ca} fuses before the Q-Former:
     * the CLIP tokens cross-attend to W M in {@code early_ca_layers} BERT-style layers at the
     * CLIP width ({@code xformer.mae_proj_in}, {@code xformer.early.N.*}). Neither has block 2
     * or a reconstruction term.
     */
    public static final class Fusion extends Module {
        final Linear proj;
        final ModuleList<Container> early;
        final List<QFormer.Attention> attn = new ArrayList<>();
        final List<QFormer.FeedForward> ffn = new ArrayList<>();

        Fusion(Config c) {
            int dv = c.vision.hiddenSize(), dm = c.mae.hiddenSize();
            boolean concat = c.kind == Variant.CONCAT;
            proj = child(concat ? "mae_proj" : "mae_proj_in", new Linear(dm, dv, true));
            early = concat ? null : child("early", new ModuleList<>(c.earlyCaLayers, i -> new Container()));
            if (early != null) for (Container layer : early) {
                attn.add(layer.registerChild("crossattention", new QFormer.Attention(dv, dv, c.vision.heads(), c.vision.layerNormEps(),
                        c.qformer.dropout(), c.qformer.attentionDropout())));
                ffn.add(new QFormer.FeedForward(layer, "intermediate", "output", dv, c.vision.intermediate(), c.vision.layerNormEps(),
                        c.qformer.dropout()));
            }
        }

        /** The Q-Former's cross-attention memory from C (B, N, Dv) and the MAE encoding (B, S, Dm). */
        Tensor memory(Tensor clip, Tensor mae) {
            try (Scope s = Scope.open()) {
                Tensor m = proj.forward(mae); // (B, S, Dm) -> (B, S, Dv)
                if (early == null) return s.keep(Torch.cat(1, clip, m)); // (B, N+S, Dv)
                Tensor h = clip;
                for (int i = 0; i < attn.size(); i++) h = ffn.get(i).forward(attn.get(i).forward(h, m, null));
                return s.keep(h); // (B, N, Dv)
            }
        }
    }

    public final Config cfg;
    public final Blip2Vision visionModel;
    public final Blip2Queries queryInput;
    public final Blip2Heads heads;
    public final Parameter queryTokens, temp;
    public final QFormer qformer;
    public final QFormer.TextEmbeddings embeddings;
    public final Linear visionProjection, textProjection, itmHead;
    final LmHead lmHead;
    public final VitMae.ForPreTraining mae;
    public final Block block;
    public final Fusion fusion;

    public XFormer(Config cfg) {
        this.cfg = cfg;
        int d = cfg.qformer.hiddenSize();
        visionModel = child("vision_model", new Blip2Vision(cfg.vision));
        queryInput = new Blip2Queries(this, cfg.qformer, cfg.numQueryTokens, true);
        heads = new Blip2Heads(this, queryInput, cfg.embedDim);
        queryTokens = queryInput.queryTokens;
        qformer = queryInput.qformer;
        embeddings = queryInput.embeddings;
        visionProjection = heads.visionProjection;
        textProjection = heads.textProjection;
        itmHead = heads.itmHead;
        temp = registerParameter("temp");
        lmHead = child("cls", new Container()).registerChild("predictions", new LmHead(cfg.qformer));
        mae = cfg.hasMae() ? child("mae", new VitMae.ForPreTraining(cfg.mae)) : null;
        block = cfg.kind.hasBlock() ? child("xformer", new Block(cfg.qformer, cfg.mae.hiddenSize())) : null;
        fusion = cfg.kind.fusesBeforeQFormer() ? child("xformer", new Fusion(cfg)) : null;
        if (cfg.hasMae() && cfg.mae.decoderHidden() <= 0) throw new TorchException("mae_config: decoder_hidden_size must be > 0");
    }

    /**
     * Training mode for what trains; the frozen encoders (CLIP-ViT, MAE-ViT) stay in eval mode,
     * as in LAVIS, so that no dropout touches the features they give.
     */
    public void trainExceptFrozen() {
        train(true);
        visionModel.train(false);
        if (mae != null) mae.train(false);
    }

    /** Checkpoint key -> module key (the MAE's module-style names become VitMae's). */
    public static String fromCheckpointKey(String key) {
        return key.startsWith("mae.") ? "mae." + MaeKeys.toSaved(key.substring(4)) : key;
    }

    /** Module key -> checkpoint key, so a saved X-Former uses the layout it was loaded from. */
    public static String toCheckpointKey(String key) {
        return key.startsWith("mae.") ? "mae." + MaeKeys.toModule(key.substring(4)) : key;
    }

    /** The state dict under checkpoint names. */
    public Map<String, Tensor> checkpointState() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        stateDict().forEach((k, v) -> out.put(toCheckpointKey(k), v));
        return out;
    }

    // ---- the pieces of a stage-1 forward ----

    /** Image-side features of a batch: C, the MAE encoding (xformer) and m2 (xformer). */
    public record Vision(Tensor clip, VitMae.Encoded mae, Tensor z, Tensor m2, Tensor zPrime) implements TensorRecord {}

    /** A Q-Former pass's hidden states (B, T, D) before and after block 2 (the same tensor without a block). */
    record Hidden(Tensor preBlock, Tensor postBlock) implements TensorRecord {}

    /** The Q-Former's 12 layers, then block 2 as the 13th (xformer). */
    Hidden pass(Tensor embeddingsIn, int queryLength, Tensor selfMask, Tensor clip, Tensor m2) {
        return pass(embeddingsIn, queryLength, selfMask, clip, m2, null);
    }

    /** As above, row b reading memory row rows[b] of clip and m2 (B', ...) (null: row b). */
    Hidden pass(Tensor embeddingsIn, int queryLength, Tensor selfMask, Tensor clip, Tensor m2, Tensor rows) {
        try (Scope s = Scope.open()) {
            Tensor h = qformer.forward(embeddingsIn, queryLength, selfMask, clip, rows); // (B, T, D)
            Tensor out = block == null ? h : block.layer.forward(h, selfMask, queryLength, m2, rows, null);
            return s.keepAll(new Hidden(h, out));
        }
    }

    /** What the frozen encoders produce: C and (xformer) the MAE encoding. */
    public record Encoded(Tensor clip, VitMae.Encoded mae) implements TensorRecord {}

    /** The frozen encoders. Training runs this under inference mode and clones the result. */
    public Encoded encode(Tensor pixels, Tensor pixelsMae, Tensor noise) {
        try (Scope s = Scope.open()) {
            Tensor clip = visionModel.forward(pixels).lastHiddenState(); // C (B, 1+N, Dv)
            if (mae == null) return s.keepAll(new Encoded(clip, null));
            if (pixelsMae == null) throw new TorchException("the xformer variant needs pixel_values_mae");
            return s.keepAll(new Encoded(clip, mae.vit.forward(pixelsMae, noise)));
        }
    }

    /** The trainable image side: the queries-only pass and (xformer) block 1. Vision.clip is the Q-Former's memory. */
    public Vision queries(Encoded e) {
        try (Scope s = Scope.open()) {
            long b = e.clip().size(0);
            if (block == null) {
                Tensor memory = fusion == null ? e.clip() : fusion.memory(e.clip(), e.mae().lastHiddenState()); // (B, S', Dv)
                Hidden h = pass(queryInput.expand(b), cfg.numQueryTokens, null, memory, null);
                return s.keepAll(new Vision(memory, e.mae(), h.preBlock(), null, h.postBlock()));
            }
            Tensor z = qformer.forward(queryInput.expand(b), cfg.numQueryTokens, null, e.clip()); // Z (B, Q, D)
            Tensor m2 = block.enrich(e.mae().lastHiddenState(), z); // m2 (B, 1+keep, D)
            Tensor zPrime = block.layer.forward(z, null, cfg.numQueryTokens, m2, null); // Z' (B, Q, D)
            return s.keepAll(new Vision(e.clip(), e.mae(), z, m2, zPrime));
        }
    }

    /** Everything image-side: frozen encoders, the queries-only pass, block 1. */
    public Vision vision(Tensor pixels, Tensor pixelsMae, Tensor noise) {
        try (Scope s = Scope.open()) {
            return s.keepAll(queries(encode(pixels, pixelsMae, noise)));
        }
    }

    /** ITM negatives (B): text[i] is the negative text of image i, image[i] the negative image of text i. */
    public record Negatives(Tensor text, Tensor image) implements TensorRecord {}

    /**
     * Hard negatives as training samples them: one text per image and one image per text,
     * drawn from the softmax of the ITC similarities with the positive masked out.
     */
    public static Negatives sampleNegatives(Tensor simI2t, Generator gen) {
        long b = simI2t.size(0);
        if (b < 2) throw new TorchException("ITM needs a batch of at least 2 to draw negatives");
        try (Scope s = Scope.open(); Guard g = Guard.noGrad()) {
            Tensor sim = simI2t.detach().to(DType.F32);
            // (B, B) diagonal
            Tensor eye = Torch.ones(DType.BOOL, sim.device(), b, b).tril(0).logicalAnd(Torch.ones(DType.BOOL, sim.device(), b, b).triu(0));
            Tensor wI2t = sim.maskedFill(eye, POSITIVE_PAIR_MASK).softmax(1);
            Tensor wT2i = sim.transpose(0, 1).maskedFill(eye, POSITIVE_PAIR_MASK).softmax(1);
            Tensor negText = Torch.multinomial(wI2t, 1, false, gen).view(b); // (B)
            Tensor negImage = Torch.multinomial(wT2i, 1, false, gen).view(b);
            return s.keepAll(new Negatives(negText, negImage));
        }
    }

    /** Text-only pass: the [CLS] row (B, D). */
    public Tensor textCls(Tensor ids, Tensor mask) {
        try (Scope s = Scope.open()) {
            return s.keep(heads.textCls(ids, mask, (emb, nq, selfMask) -> pass(emb, nq, selfMask, null, null).postBlock()));
        }
    }

    /** ITC similarities (B_img, B_txt) = max over queries of normalised projections, divided by temp. */
    public Tensor itcSimilarity(Tensor zPrime, Tensor textCls) {
        try (Scope s = Scope.open()) {
            Tensor img = heads.imageFeatures(zPrime), txt = heads.textFeatures(textCls); // (B, Q, E), (B_txt, E)
            return s.keep(Blip2Heads.itcLogits(img, txt).div(temp.get())); // (B, B_txt)
        }
    }

    /** Mean of row-wise and column-wise cross-entropy against the diagonal, label-smoothed. */
    public Tensor itcLoss(Tensor simI2t) {
        try (Scope s = Scope.open()) {
            Tensor target = DeviceConstants.arange(simI2t.size(0), simI2t.device());
            double ls = cfg.labelSmoothing;
            Tensor a = F.crossEntropy(simI2t, target, null, F.Reduction.MEAN, F.IGNORE_INDEX, ls);
            Tensor b = F.crossEntropy(simI2t.transpose(0, 1), target, null, F.Reduction.MEAN, F.IGNORE_INDEX, ls);
            return s.keep(a.add(b).div(2));
        }
    }

    /** ITM logits (3B, 2) over pairs images [i, negImage[i], i] x texts [i, i, negText[i]]. */
    public Tensor itmLogits(Vision v, Tensor ids, Tensor mask, Tensor negText, Tensor negImage) {
        try (Scope s = Scope.open()) {
            Tensor self = DeviceConstants.arange(v.clip().size(0), negImage.device()); // (B)
            Tensor rows = Torch.cat(0, self, negImage, self); // (3B): image rows [i, neg, i], read from the B memories
            Tensor allIds = Torch.cat(0, ids, ids, ids.indexSelect(0, negText)); // (3B, L)
            Tensor allMask = Torch.cat(0, mask, mask, mask.indexSelect(0, negText));
            return s.keep(heads.itmLogits(allIds, allMask,
                    (emb, nq, selfMask) -> pass(emb, nq, selfMask, v.clip(), v.m2(), rows).postBlock()));
        }
    }

    /**
     * The query rows (P, Q, D) of the joint image-text pass (as ITM runs it) over P given pairs:
     * memory row p ({@code Vision.clip()}, and {@code m2} for xformer) with text p. Evaluation
     * scores arbitrary pairs with it: ITM logits = {@code itmHead(rows).mean over queries}.
     */
    public Tensor jointQueries(Tensor clip, Tensor m2, Tensor ids, Tensor mask) {
        try (Scope s = Scope.open()) {
            int nq = cfg.numQueryTokens;
            Blip2Queries.Input in = queryInput.input(ids.size(0), ids, mask); // (P, Q+L, D), text padding hidden
            Tensor h = pass(in.embeddings(), nq, in.selfMask(), clip, m2).postBlock(); // (P, Q+L, D)
            return s.keep(h.narrow(1, 0, nq).contiguous()); // (P, Q, D)
        }
    }

    public Tensor itmLoss(Tensor logits) {
        try (Scope s = Scope.open()) {
            long b3 = logits.size(0);
            return s.keep(F.crossEntropy(logits, DeviceConstants.itmLabels(b3, logits.device())));
        }
    }

    /** ITG logits (B, L, V): [DEC]-prefixed text decoded under the UniLM mask. */
    public Tensor itgLogits(Vision v, Tensor ids, Tensor mask) {
        try (Scope s = Scope.open()) {
            int nq = cfg.numQueryTokens;
            long b = ids.size(0), l = ids.size(1);
            // (B, L): [DEC] replaces [CLS]
            Tensor dec = Torch.cat(1, Torch.full(cfg.decTokenId, DType.I64, ids.device(), b, 1), ids.narrow(1, 1, l - 1));
            Tensor emb = Torch.cat(1, queryInput.expand(b), embeddings.forward(dec)); // (B, Q+L, D)
            Tensor h = pass(emb, nq, Masks.unilm(mask, nq, emb.dtype()), v.clip(), v.m2()).postBlock();
            return s.keep(lmHead.forward(h.narrow(1, nq, l), embeddings.words.weight.get())); // (B, L, V)
        }
    }

    /** Next-token cross-entropy on the text (padding ignored), label-smoothed. */
    public Tensor itgLoss(Tensor logits, Tensor ids, Tensor mask) {
        try (Scope s = Scope.open()) {
            long l = ids.size(1);
            Tensor target = ids.narrow(1, 1, l - 1).maskedFill(mask.narrow(1, 1, l - 1).eq(0), F.IGNORE_INDEX); // (B, L-1)
            Tensor pred = logits.narrow(1, 0, l - 1); // (B, L-1, V)
            return s.keep(F.crossEntropy(pred.reshape(-1, pred.size(2)), target.reshape(-1), null, F.Reduction.MEAN, F.IGNORE_INDEX,
                    cfg.labelSmoothing));
        }
    }

    /** Everything one stage-1 forward produces. Null entries for the blip2 variant. */
    public record Output(Vision vision, Tensor textCls, Tensor itcSim, Tensor itmLogits, Tensor itgLogits, Tensor maeProjected,
                         Tensor recLogits, Tensor lossItc, Tensor lossItm, Tensor lossItg, Tensor lossRec, Tensor loss)
            implements TensorRecord {
        /** The losses alone (the rest null), for a training step that keeps nothing else. */
        public Output lossesOnly() {
            return new Output(null, null, null, null, null, null, null, lossItc, lossItm, lossItg, lossRec, loss);
        }
    }

    /** The exact stage-1 forward with given ITM negatives. */
    public Output forward(Tensor pixels, Tensor pixelsMae, Tensor noise, Tensor ids, Tensor mask, Tensor negText,
                          Tensor negImage) {
        try (Scope s = Scope.open()) {
            return s.keepAll(losses(queries(encode(pixels, pixelsMae, noise)), pixelsMae, ids, mask,
                    sim -> new Negatives(negText, negImage)));
        }
    }

    /** Every loss from the image side, the text and a way to pick ITM negatives from the ITC similarities. */
    public Output losses(Vision v, Tensor pixelsMae, Tensor ids, Tensor mask, Function<Tensor, Negatives> negatives) {
        try (Scope s = Scope.open()) {
            Tensor cls = textCls(ids, mask); // (B, D)
            Tensor sim = itcSimilarity(v.zPrime(), cls); // (B, B)
            Negatives neg = negatives.apply(sim);
            Tensor itm = itmLogits(v, ids, mask, neg.text(), neg.image()); // (3B, 2)
            Tensor itg = itgLogits(v, ids, mask); // (B, L, V)
            Tensor lItc = itcLoss(sim), lItm = itmLoss(itm), lItg = itgLoss(itg, ids, mask);
            Tensor loss = lItc.add(lItm).add(lItg);
            Tensor projected = null, rec = null, lRec = null;
            if (block != null) {
                projected = block.projOut.forward(v.m2()); // M' = W_out m2, the decoder's input
                rec = mae.decoder.forward(projected, v.mae().idsRestore()); // (B, N, p*p*C)
                lRec = mae.loss(pixelsMae, rec, v.mae().mask());
                loss = loss.add(lRec);
            }
            return s.keepAll(new Output(v, cls, sim, itm, itg, projected, rec, lItc, lItm, lItg, lRec, loss));
        }
    }
}
