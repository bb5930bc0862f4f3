package io.xformer.models;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.nn.Linear;
import io.xformer.nn.Module;
import io.xformer.nn.Parameter;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.TorchException;

/**
 * transformers' Blip2ForConditionalGeneration (5.x): the vision model and Q-Former produce
 * query outputs, {@code language_projection} maps them to the LLM width, and they replace the
 * embeddings of the {@code image_token_index} placeholders in {@code input_ids} (in order).
 * Keys: {@code vision_model.*}, {@code query_tokens}, {@code qformer.*},
 * {@code language_projection}, {@code language_model.*}.
 */
public final class Blip2Generation extends Module {
    public record Config(Blip2Vision.Config vision, QFormer.Config qformer, Opt.Config text, int numQueryTokens,
                         int imageTokenIndex) {
        public static Config from(JsonNode c) {
            JsonNode text = Json.obj(c, "text_config");
            String type = Json.s(text, "model_type", "opt");
            if (!type.equals("opt"))
                throw new TorchException("config.json: language model '" + type + "' is not supported (only OPT)");
            return new Config(Blip2Vision.Config.from(Json.obj(c, "vision_config")), QFormer.Config.from(Json.obj(c, "qformer_config")),
                    Opt.Config.from(text), Json.i(c, "num_query_tokens", 32), Json.i(c, "image_token_index", -1));
        }
    }

    public final Config cfg;
    public final Blip2Vision visionModel;
    public final Parameter queryTokens;
    public final QFormer qformer;
    public final Linear languageProjection;
    public final Opt languageModel;

    public Blip2Generation(Config cfg) {
        this.cfg = cfg;
        visionModel = child("vision_model", new Blip2Vision(cfg.vision));
        queryTokens = registerParameter("query_tokens", 1, cfg.numQueryTokens, cfg.qformer.hiddenSize());
        qformer = child("qformer", new QFormer(cfg.qformer));
        languageProjection = child("language_projection", new Linear(cfg.qformer.hiddenSize(), cfg.text.hiddenSize(), true));
        languageModel = child("language_model", new Opt(cfg.text));
    }

    /** Everything the forward produces, for the CLI and the parity tests. */
    public record Output(Blip2Vision.Output vision, Tensor qformerOutput, Tensor languageInputs, Tensor inputsEmbeds,
                         Tensor logits) {}

    /** Query outputs (B, Q, D) for image features (B, S, E). */
    public Tensor queryOutput(Tensor image) {
        try (Scope s = Scope.open()) {
            Tensor q = queryTokens.get().expand(image.size(0), cfg.numQueryTokens, cfg.qformer.hiddenSize());
            return s.keep(qformer.forward(q, cfg.numQueryTokens, null, image));
        }
    }

    /** Token embeddings of ids with the placeholders replaced by the projected queries. */
    public Tensor inputsEmbeds(Tensor ids, Tensor languageInputs) {
        try (Scope s = Scope.open()) {
            Tensor emb = languageModel.embed(ids);
            Tensor placeholders = ids.eq(cfg.imageTokenIndex);
            long n = (long) placeholders.sum().item();
            long expected = languageInputs.size(0) * languageInputs.size(1);
            if (n != expected)
                throw new TorchException("input_ids hold " + n + " image tokens (id " + cfg.imageTokenIndex + ") but the images give "
                        + expected + " query embeddings (" + cfg.numQueryTokens + " per image)");
            Tensor mask = placeholders.unsqueeze(-1).expand(emb.shape());
            return s.keep(emb.maskedScatter(mask, languageInputs.to(emb.dtype())));
        }
    }

    public Output forward(Tensor pixels, Tensor ids, Tensor attentionMask) {
        try (Scope s = Scope.open()) {
            Blip2Vision.Output v = visionModel.forward(pixels);
            Tensor q = queryOutput(v.lastHiddenState());
            Tensor lang = languageProjection.forward(q);
            Tensor emb = inputsEmbeds(ids, lang);
            Tensor logits = languageModel.forward(emb, attentionMask, null);
            return new Output(new Blip2Vision.Output(s.keep(v.lastHiddenState()), s.keep(v.pooled()),
                    v.afterFirstLayer() == null ? null : s.keep(v.afterFirstLayer())), s.keep(q), s.keep(lang), s.keep(emb),
                    s.keep(logits));
        }
    }
}
