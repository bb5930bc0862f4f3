package io.xformer.models;

import io.xformer.nn.F;
import io.xformer.nn.Linear;
import io.xformer.nn.Module;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;

/**
 * BLIP-2's stage-1 heads over the Q-Former's output (transformers' Blip2ForImageTextRetrieval,
 * which X-Former trains too): {@code vision_projection} and {@code text_projection} for ITC,
 * {@code itm_head} for ITM, registered on the owning model at its root. The Q-Former pass
 * itself is the owner's ({@link Pass}): plain for BLIP-2, followed by block 2 for X-Former.
 */
public final class Blip2Heads {
    /** One Q-Former pass over embeddings (B, T, D) whose first queryLength rows are queries; returns (B, T, D). */
    @FunctionalInterface
    public interface Pass {
        Tensor forward(Tensor embeddings, int queryLength, Tensor selfMask);
    }

    public final Blip2Queries queryInput;
    public final Linear visionProjection, textProjection, itmHead;

    Blip2Heads(Module owner, Blip2Queries queryInput, int embedDim) {
        this.queryInput = queryInput;
        int d = queryInput.hidden;
        visionProjection = owner.registerChild("vision_projection", new Linear(d, embedDim, true));
        textProjection = owner.registerChild("text_projection", new Linear(d, embedDim, true));
        itmHead = owner.registerChild("itm_head", new Linear(d, 2, true));
    }

    /** ITM logits (B, 2) for text row i with image row i of whatever pass attends to: itm_head averaged over the query rows. */
    public Tensor itmLogits(Tensor ids, Tensor mask, Pass pass) {
        try (Scope s = Scope.open()) {
            int nq = queryInput.numQueries;
            Blip2Queries.Input in = queryInput.input(ids.size(0), ids, mask); // (B, Q+L, D), text padding hidden
            Tensor h = pass.forward(in.embeddings(), nq, in.selfMask());
            return s.keep(itmHead.forward(h.narrow(1, 0, nq)).mean(1)); // (B, Q, 2) -> (B, 2)
        }
    }

    /** Text-only pass (no queries, no image): the [CLS] row (B, D). */
    public Tensor textCls(Tensor ids, Tensor mask, Pass pass) {
        try (Scope s = Scope.open()) {
            Tensor emb = queryInput.embeddings.forward(ids); // (B, L, D)
            Tensor h = pass.forward(emb, 0, Masks.padding(mask, emb.dtype()));
            return s.keep(h.select(1, 0));
        }
    }

    /** Normalised projected query outputs: (B, Q, D) -> (B, Q, E). */
    public Tensor imageFeatures(Tensor queryOutput) {
        try (Scope s = Scope.open()) {
            return s.keep(F.normalize(visionProjection.forward(queryOutput), -1));
        }
    }

    /** Normalised projected text [CLS]: (B, D) -> (B, E). */
    public Tensor textFeatures(Tensor textCls) {
        try (Scope s = Scope.open()) {
            return s.keep(F.normalize(textProjection.forward(textCls), -1));
        }
    }

    /** ITC logits per image (B_img, B_txt): max over queries of image_feat . text_feat. */
    public static Tensor itcLogits(Tensor imageFeat, Tensor textFeat) {
        try (Scope s = Scope.open()) {
            return s.keep(imageFeat.matmul(textFeat.transpose(0, 1)).amax(1)); // (B, Q, E) @ (E, T) -> (B, Q, T) -> (B, T)
        }
    }
}
