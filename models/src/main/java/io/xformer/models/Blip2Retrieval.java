package io.xformer.models;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.nn.Module;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;

/**
 * transformers' Blip2ForImageTextRetrieval: the stage-1 heads. ITM runs queries + text jointly
 * (bidirectional, padding masked) and averages {@code itm_head} over the query rows; ITC takes
 * the max over queries of the cosine similarity between projected query outputs and the
 * projected text [CLS]. Keys: {@code vision_model.*}, {@code query_tokens}, {@code qformer.*},
 * {@code embeddings.*}, {@code vision_projection}, {@code text_projection}, {@code itm_head}.
 */
public final class Blip2Retrieval extends Module {
    public record Config(Blip2Vision.Config vision, QFormer.Config qformer, int numQueryTokens, int embedDim) {
        public static Config from(JsonNode c) {
            return new Config(Blip2Vision.Config.from(Json.obj(c, "vision_config")), QFormer.Config.from(Json.obj(c, "qformer_config")),
                    Json.i(c, "num_query_tokens", 32), Json.i(c, "image_text_hidden_size", 256));
        }
    }

    public final Config cfg;
    public final Blip2Vision visionModel;
    public final Blip2Queries queryInput;
    public final Blip2Heads heads;

    public Blip2Retrieval(Config cfg) {
        this.cfg = cfg;
        visionModel = child("vision_model", new Blip2Vision(cfg.vision));
        queryInput = new Blip2Queries(this, cfg.qformer, cfg.numQueryTokens, true);
        heads = new Blip2Heads(this, queryInput, cfg.embedDim);
    }

    /** The plain Q-Former over image features (B, S, E); null: a text-only pass. */
    private Blip2Heads.Pass pass(Tensor image) {
        return (emb, queryLength, selfMask) -> queryInput.qformer.forward(emb, queryLength, selfMask, image);
    }

    /** ITM logits (B, 2) for image i paired with text i. */
    public Tensor itm(Tensor image, Tensor ids, Tensor attentionMask) {
        return heads.itmLogits(ids, attentionMask, pass(image));
    }

    /** Normalised projected query outputs (B, Q, E). */
    public Tensor imageFeatures(Tensor image) {
        try (Scope s = Scope.open()) {
            Tensor q = pass(image).forward(queryInput.expand(image.size(0)), cfg.numQueryTokens, null); // (B, Q, D)
            return s.keep(heads.imageFeatures(q));
        }
    }

    /** Normalised projected text [CLS] (B, E) from a text-only pass. */
    public Tensor textFeatures(Tensor ids, Tensor attentionMask) {
        try (Scope s = Scope.open()) {
            return s.keep(heads.textFeatures(heads.textCls(ids, attentionMask, pass(null))));
        }
    }

    /** ITC logits per image (B_img, B_txt): max over queries of image_feat . text_feat. */
    public static Tensor itcLogits(Tensor imageFeat, Tensor textFeat) {
        return Blip2Heads.itcLogits(imageFeat, textFeat);
    }
}
