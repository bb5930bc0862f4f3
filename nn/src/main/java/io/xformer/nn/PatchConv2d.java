package io.xformer.nn;

import java.util.Arrays;

/**
 * nn.Conv2d(in, out, kernel_size=p, stride=p) followed by flatten(2).transpose(1, 2), as every
 * ViT patch embedding uses it: non-overlapping patches make the convolution one matmul,
 * (B, C, H, W) -> (B, H/p * W/p, C*p*p) -> (B, N, out). Parameters as Conv2d's.
 */
public final class PatchConv2d extends Module {
    public final Parameter weight;
    public final Parameter bias;
    private final long in, out, patch;

    public PatchConv2d(long in, long out, long patch) {
        this.in = in;
        this.out = out;
        this.patch = patch;
        this.weight = parameter("weight", out, in, patch, patch);
        this.bias = parameter("bias", out);
    }

    public Tensor forward(Tensor pixels) {
        long[] s = pixels.shape();
        if (s.length != 4 || s[1] != in || s[2] % patch != 0 || s[3] % patch != 0)
            throw new TorchException("patch embedding expects (B, " + in + ", H, W) with H, W multiples of " + patch
                    + ", got " + Arrays.toString(s));
        long b = s[0], gh = s[2] / patch, gw = s[3] / patch;
        try (Scope sc = Scope.open()) {
            // (B, C, gh, p, gw, p) -> (B, gh, gw, C, p, p): each row is one patch in the conv weight's (c, p, q) order
            Tensor patches = pixels.reshape(b, in, gh, patch, gw, patch).permute(0, 2, 4, 1, 3, 5)
                    .reshape(b, gh * gw, in * patch * patch);
            return sc.keep(F.linear(patches, weight.get().reshape(out, in * patch * patch), bias.get()));
        }
    }
}
