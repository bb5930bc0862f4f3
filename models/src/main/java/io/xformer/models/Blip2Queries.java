package io.xformer.models;

import io.xformer.nn.DType;
import io.xformer.nn.Module;
import io.xformer.nn.Parameter;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;

/**
 * What every BLIP-2 model puts in front of its Q-Former: the learned queries
 * ({@code query_tokens}), the Q-Former ({@code qformer.*}) and, when the Q-Former reads text,
 * its word and position embeddings ({@code embeddings.*}, Blip2ForImageTextRetrieval's names).
 * Registered on the owning model at its root, so the keys stay transformers' keys.
 */
public final class Blip2Queries {
    public final Parameter queryTokens;
    public final QFormer qformer;
    /** null when the Q-Former takes no text (use_qformer_text_input false). */
    public final QFormer.TextEmbeddings embeddings;
    public final int numQueries;
    final int hidden;

    Blip2Queries(Module owner, QFormer.Config q, int numQueryTokens, boolean withText) {
        numQueries = numQueryTokens;
        hidden = q.hiddenSize();
        queryTokens = owner.registerParameter("query_tokens", 1, numQueryTokens, hidden);
        qformer = owner.registerChild("qformer", new QFormer(q));
        embeddings = withText ? owner.registerChild("embeddings", new QFormer.TextEmbeddings(q)) : null;
    }

    /** The learned queries for a batch: (B, Q, D), a view of query_tokens. */
    public Tensor expand(long batch) {
        return queryTokens.get().expand(batch, numQueries, hidden);
    }

    /** A Q-Former input: the embeddings (B, Q(+L), D) and the self-attention mask (null: queries only). */
    public record Input(Tensor embeddings, Tensor selfMask) {}

    /**
     * The queries for B rows, followed by the embedded text ids (B, L) when ids is given, with
     * a bidirectional self-attention mask that hides the text's padding (mask (B, L), 0 = pad).
     */
    public Input input(long batch, Tensor ids, Tensor mask) {
        Tensor emb = expand(batch);
        if (ids == null) return new Input(emb, null);
        if (embeddings == null)
            throw new TorchException("this model's Q-Former takes no text (qformer_config.use_qformer_text_input is false)");
        emb = Torch.cat(1, emb, embeddings.forward(ids)); // (B, Q+L, D)
        Tensor keep = Torch.cat(1, DeviceConstants.ones(batch, numQueries, ids.device()), mask.to(DType.I64)); // (B, Q+L)
        return new Input(emb, Masks.padding(keep, emb.dtype()));
    }
}
