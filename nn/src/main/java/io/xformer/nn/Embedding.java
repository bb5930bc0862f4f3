package io.xformer.nn;

/** A lookup table ({@code weight} (num, dim)) indexed by int64 ids. */
public final class Embedding extends Module {
    public final Parameter weight;

    public Embedding(long num, long dim) {
        this.weight = parameter("weight", num, dim);
    }

    public Tensor forward(Tensor ids) {
        return F.embedding(ids, weight.get());
    }
}
