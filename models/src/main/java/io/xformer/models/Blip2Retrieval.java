package io.xformer.models;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.nn.DType;
import io.xformer.nn.F;
import io.xformer.nn.Linear;
import io.xformer.nn.Module;
import io.xformer.nn.Parameter;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;

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
    public final Parameter queryTokens;
    public final QFormer qformer;
    public final QFormer.TextEmbeddings embeddings;
    public final Linear visionProjection, textProjection, itmHead;

    public Blip2Retrieval(Config cfg) {
        this.cfg = cfg;
        int d = cfg.qformer.hiddenSize();
        visionModel = child("vision_model", new Blip2Vision(cfg.vision));
        queryTokens = registerParameter("query_tokens", 1, cfg.numQueryTokens, d);
        qformer = child("qformer", new QFormer(cfg.qformer));
        embeddings = child("embeddings", new QFormer.TextEmbeddings(cfg.qformer));
        visionProjection = child("vision_projection", new Linear(d, cfg.embedDim, true));
        textProjection = child("text_projection", new Linear(d, cfg.embedDim, true));
        itmHead = child("itm_head", new Linear(d, 2, true));
    }

    Tensor expandQueries(long batch) {
        return queryTokens.get().expand(batch, cfg.numQueryTokens, cfg.qformer.hiddenSize());
    }

    /** ITM logits (B, 2) for image i paired with text i. */
    public Tensor itm(Tensor image, Tensor ids, Tensor attentionMask) {
        try (Scope s = Scope.open()) {
            long b = ids.size(0);
            int nq = cfg.numQueryTokens;
            Tensor keep = Torch.cat(1, Torch.ones(DType.I64, ids.device(), b, nq), attentionMask.to(DType.I64));
            Tensor emb = Torch.cat(1, expandQueries(b), embeddings.forward(ids));
            Tensor h = qformer.forward(emb, nq, Masks.padding(keep, emb.dtype()), image);
            return s.keep(itmHead.forward(h.narrow(1, 0, nq)).mean(1));
        }
    }

    /** Normalised projected query outputs (B, Q, E). */
    public Tensor imageFeatures(Tensor image) {
        try (Scope s = Scope.open()) {
            Tensor q = qformer.forward(expandQueries(image.size(0)), cfg.numQueryTokens, null, image);
            return s.keep(F.normalize(visionProjection.forward(q), -1));
        }
    }

    /** Normalised projected text [CLS] (B, E) from a text-only pass. */
    public Tensor textFeatures(Tensor ids, Tensor attentionMask) {
        try (Scope s = Scope.open()) {
            Tensor emb = embeddings.forward(ids);
            Tensor h = qformer.forward(emb, 0, Masks.padding(attentionMask, emb.dtype()), null);
            return s.keep(F.normalize(textProjection.forward(h.select(1, 0)), -1));
        }
    }

    /** ITC logits per image (B_img, B_txt): max over queries of image_feat . text_feat. */
    public static Tensor itcLogits(Tensor imageFeat, Tensor textFeat) {
        try (Scope s = Scope.open()) {
            // (B, Q, E) @ (E, T) -> (B, Q, T) -> max over Q
            return s.keep(imageFeat.matmul(textFeat.transpose(0, 1)).amax(1));
        }
    }
}
