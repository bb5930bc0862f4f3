package io.xformer.models;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.nn.DType;
import io.xformer.nn.Guard;
import io.xformer.nn.Linear;
import io.xformer.nn.Module;
import io.xformer.nn.Parameter;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.TensorRecord;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;
import java.util.Collection;

/**
 * transformers' Blip2ForConditionalGeneration with a T5 language model (blip2-flan-t5): vision
 * model and Q-Former give query outputs, {@code language_projection} maps them to d_model and
 * they take the place of the {@code image_token_index} placeholders of the encoder input; the
 * T5 decoder produces the text. Keys: {@code vision_model.*}, {@code query_tokens},
 * {@code qformer.*}, {@code language_projection.*}, {@code language_model.*} (a
 * T5ForConditionalGeneration). {@link #languageInputs} and {@link T5} are what a model with
 * another query producer (X-Former) reuses.
 */
public final class Blip2T5 extends Module {
    public static final String LM_PREFIX = "language_model.";

    public record Config(Blip2Vision.Config vision, QFormer.Config qformer, T5.Config text, int numQueryTokens,
                         int imageTokenIndex) {
        /** checkpointKeys: the folder's tensor names, which decide whether lm_head is untied; null = the config's word. */
        public static Config from(JsonNode c, Collection<String> checkpointKeys) {
            T5.Config text = T5.Config.from(Json.obj(c, "text_config"));
            if (checkpointKeys != null) text = text.withOwnLmHead(checkpointKeys, LM_PREFIX);
            return new Config(Blip2Vision.Config.from(Json.obj(c, "vision_config")), QFormer.Config.from(Json.obj(c, "qformer_config")),
                    text, Json.i(c, "num_query_tokens", 32), Json.i(c, "image_token_index", -1));
        }
    }

    /** Maps a checkpoint key to this model's (for {@link Module#loadStateDict}): drops the stored copies of {@code shared}. */
    public static String rename(String key) {
        return key.startsWith(LM_PREFIX) && T5.isTiedCopy(key.substring(LM_PREFIX.length())) ? null : key;
    }

    public final Config cfg;
    public final Blip2Vision visionModel;
    public final Blip2Queries queryInput;
    public final Parameter queryTokens;
    public final QFormer qformer;
    public final Linear languageProjection;
    public final T5 languageModel;

    public Blip2T5(Config cfg) {
        this.cfg = cfg;
        visionModel = child("vision_model", new Blip2Vision(cfg.vision));
        queryInput = new Blip2Queries(this, cfg.qformer, cfg.numQueryTokens, false);
        queryTokens = queryInput.queryTokens;
        qformer = queryInput.qformer;
        languageProjection = child("language_projection", new Linear(cfg.qformer.hiddenSize(), cfg.text.dModel(), true));
        languageModel = child("language_model", new T5(cfg.text));
    }

    /** Query outputs (B, Q, D) for image features (B, S, E). */
    public Tensor queryOutput(Tensor image) {
        try (Scope s = Scope.open()) {
            Tensor q = queryInput.expand(image.size(0)); // (B, Q, D)
            return s.keep(qformer.forward(q, cfg.numQueryTokens, null, image)); // (B, Q, D)
        }
    }

    /** The encoder input: embeddings (B, T', D) and their mask (B, T'). */
    public record LanguageInputs(Tensor inputsEmbeds, Tensor attentionMask) implements TensorRecord {}

    /**
     * Token embeddings of ids (B, T) with the projected queries (B, Q, D) in place of the
     * imageTokenIndex placeholders, query j of row b at the j-th placeholder of row b (HF's
     * masked_scatter). Ids without any placeholder get the queries in front instead, with mask
     * 1 (LAVIS's concatenation, the same numbers). attentionMask (B, T) or null (all ones).
     */
    public static LanguageInputs languageInputs(T5 lm, Tensor ids, Tensor attentionMask, Tensor queries, int imageTokenIndex) {
        try (Scope s = Scope.open()) {
            Tensor emb = lm.embed(ids); // (B, T, D)
            Tensor q = queries.to(emb.dtype());
            long b = ids.size(0), n = q.size(0) * q.size(1);
            if (q.size(0) != b) throw new TorchException("input_ids has " + b + " rows but the images give " + q.size(0));
            Tensor mask = attentionMask != null ? attentionMask.to(DType.I64) : Torch.ones(DType.I64, ids.device(), ids.shape()); // (B, T)
            long found = imageTokenIndex < 0 ? 0 : (long) ids.eq(imageTokenIndex).sum().item();
            if (found == 0) {
                Tensor queryMask = Torch.ones(DType.I64, ids.device(), b, q.size(1));
                return s.keepAll(new LanguageInputs(Torch.cat(1, q, emb), Torch.cat(1, queryMask, mask))); // (B, Q+T, D), (B, Q+T)
            }
            if (found != n)
                throw new TorchException("input_ids hold " + found + " image tokens (id " + imageTokenIndex + ") but the images give "
                        + n + " query embeddings (" + q.size(1) + " per image)");
            Tensor where = ids.eq(imageTokenIndex).unsqueeze(-1).expand(emb.shape()); // (B, T, D)
            return s.keepAll(new LanguageInputs(emb.maskedScatter(where, q), mask));
        }
    }

    /** Everything the forward produces, for the CLI and the parity tests; loss null without labels. */
    public record Output(Blip2Vision.Output vision, Tensor qformerOutput, Tensor languageProjection, Tensor inputsEmbeds,
                         Tensor encoderLastHiddenState, Tensor logits, Tensor loss) implements TensorRecord {}

    /**
     * pixels (B, 3, H, W); ids (B, T) with placeholders; attentionMask (B, T) or null;
     * decoderInputIds (B, L) or null (labels shifted right); labels (B, L) with -100, or null.
     */
    public Output forward(Tensor pixels, Tensor ids, Tensor attentionMask, Tensor decoderInputIds, Tensor labels) {
        try (Scope s = Scope.open()) {
            Blip2Vision.Output v = visionModel.forward(pixels);
            Tensor q = queryOutput(v.lastHiddenState()); // (B, Q, D_qformer)
            Tensor proj = languageProjection.forward(q); // (B, Q, d_model)
            LanguageInputs in = languageInputs(languageModel, ids, attentionMask, proj, cfg.imageTokenIndex);
            T5.Output o = languageModel.forward(in.inputsEmbeds(), in.attentionMask(), decoderInputIds, labels);
            return s.keepAll(new Output(v, q, proj, in.inputsEmbeds(), o.encoderLastHiddenState(), o.logits(), o.loss()));
        }
    }

    /** Greedy or beam search from the images and the prompt ids (with placeholders): (B, 1 + generated) ids. */
    public Tensor generate(Tensor pixels, Tensor ids, Tensor attentionMask, Generate.Options o) {
        try (Scope s = Scope.open(); Guard g = Guard.inferenceMode()) {
            Tensor proj = languageProjection.forward(queryOutput(visionModel.forward(pixels).lastHiddenState()));
            LanguageInputs in = languageInputs(languageModel, ids, attentionMask, proj, cfg.imageTokenIndex);
            return s.keep(Seq2SeqGenerate.generate(languageModel, in.inputsEmbeds(), in.attentionMask(), o));
        }
    }
}
