package io.xformer.models;

import io.xformer.nn.Tensor;

/** (B, T, H*D) <-> (B, H, T, D) reshapes around multi-head attention. */
final class Heads {
    private Heads() {}

    static Tensor split(Tensor x, int heads) {
        long[] s = x.shape();
        return x.view(s[0], s[1], heads, s[2] / heads).transpose(1, 2);
    }

    static Tensor merge(Tensor x) {
        long[] s = x.shape();
        return x.transpose(1, 2).reshape(s[0], s[2], s[1] * s[3]);
    }
}
