package io.xformer.nn;

/** Zeroes elements with probability p in training mode (scaling the rest by 1/(1-p)); identity in eval mode. */
public final class Dropout extends Module {
    private final double p;

    public Dropout(double p) {
        if (p < 0 || p > 1) throw new IllegalArgumentException("dropout probability must be in [0, 1], got " + p);
        this.p = p;
    }

    public Tensor forward(Tensor x) {
        return F.dropout(x, p, training);
    }
}
