package io.xformer.models;

import io.xformer.nn.DType;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;
import java.util.Arrays;

/**
 * ViT position embeddings for another image size, as LAVIS's {@code interpolate_pos_embed}: the
 * class token's row kept, the patch grid resized bicubically (PyTorch's {@code F.interpolate},
 * mode bicubic, align_corners false: cubic convolution with A = -0.75, borders clamped). Computed
 * on the host in double precision; these tensors are small (1 + N rows).
 */
public final class PositionEmbeddings {
    private static final double A = -0.75;

    private PositionEmbeddings() {}

    /** pos (1, 1 + g*g, D) -> (1, 1 + newGrid^2, D), same dtype and device. */
    public static Tensor interpolate(Tensor pos, int newGrid) {
        long n = pos.size(1) - 1, d = pos.size(2);
        int g = (int) Math.round(Math.sqrt(n));
        if (pos.dim() != 3 || pos.size(0) != 1 || (long) g * g != n)
            throw new TorchException("position embeddings must be (1, 1 + g*g, D), got " + Arrays.toString(pos.shape()));
        if (g == newGrid) return pos.clone();
        double[] in = pos.to(DType.F64).toDoubleArray();
        double[] out = new double[(int) ((1 + (long) newGrid * newGrid) * d)];
        System.arraycopy(in, 0, out, 0, (int) d); // the class token
        double[][] wy = weights(g, newGrid), wx = wy;
        int[][] iy = indices(g, newGrid), ix = iy;
        for (int oy = 0; oy < newGrid; oy++)
            for (int ox = 0; ox < newGrid; ox++) {
                int o = (int) ((1 + oy * newGrid + ox) * d);
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) {
                        double w = wy[oy][a] * wx[ox][b];
                        int src = (int) ((1 + iy[oy][a] * g + ix[ox][b]) * d);
                        for (int c = 0; c < d; c++) out[o + c] += w * in[src + c];
                    }
            }
        return Torch.tensor(out, 1, 1 + (long) newGrid * newGrid, d).to(pos.device(), pos.dtype(), false);
    }

    private static double source(int o, int in, int out) {
        return (o + 0.5) * ((double) in / out) - 0.5;
    }

    static double[][] weights(int in, int out) {
        double[][] w = new double[out][];
        for (int o = 0; o < out; o++) {
            double real = source(o, in, out), t = real - Math.floor(real);
            w[o] = new double[] {far(t + 1), near(t), near(1 - t), far(2 - t)};
        }
        return w;
    }

    static int[][] indices(int in, int out) {
        int[][] idx = new int[out][4];
        for (int o = 0; o < out; o++) {
            int i = (int) Math.floor(source(o, in, out));
            for (int k = 0; k < 4; k++) idx[o][k] = Math.min(Math.max(i - 1 + k, 0), in - 1);
        }
        return idx;
    }

    private static double near(double x) {
        return ((A + 2) * x - (A + 3)) * x * x + 1;
    }

    private static double far(double x) {
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    }
}
