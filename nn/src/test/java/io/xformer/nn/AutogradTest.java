package io.xformer.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** libtorch's analytic gradients, reached through the Java layer, against central finite differences in float64. */
class AutogradTest {
    private static final double EPS = 1e-6;
    private static final double TOL = 1e-6;

    /** Checks d/dx_i of sum(w * f(x_0..x_n)) for every input element against finite differences. */
    static void gradcheck(String name, Function<Tensor[], Tensor> f, double[][] values, long[][] shapes) {
        try (Scope s = Scope.open()) {
            Tensor[] xs = new Tensor[values.length];
            for (int i = 0; i < xs.length; i++) xs[i] = Torch.tensor(values[i].clone(), shapes[i]).requiresGrad_(true);
            Tensor y = f.apply(xs);
            Torch.manualSeed(11);
            Tensor w = Torch.randn(null, DType.F64, Device.CPU, y.shape());
            y.mul(w).sum().backward();
            for (int i = 0; i < xs.length; i++) {
                double[] analytic = xs[i].grad().toDoubleArray();
                for (int j = 0; j < values[i].length; j++) {
                    double numeric = (probe(f, values, shapes, i, j, EPS, w) - probe(f, values, shapes, i, j, -EPS, w)) / (2 * EPS);
                    assertEquals(numeric, analytic[j], TOL * Math.max(1, Math.abs(numeric)),
                            name + ": d/d input" + i + "[" + j + "]");
                }
            }
        }
    }

    private static double probe(Function<Tensor[], Tensor> f, double[][] values, long[][] shapes, int i, int j, double d,
                                Tensor w) {
        try (Scope s = Scope.open(); Guard g = Guard.noGrad()) {
            Tensor[] xs = new Tensor[values.length];
            for (int k = 0; k < xs.length; k++) {
                double[] v = values[k].clone();
                if (k == i) v[j] += d;
                xs[k] = Torch.tensor(v, shapes[k]);
            }
            return f.apply(xs).mul(w).sum().item();
        }
    }

    static double[] rnd(int n, long seed) {
        java.util.Random r = new java.util.Random(seed);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = r.nextGaussian();
        return out;
    }

    @Test
    void linearAndMatmul() {
        gradcheck("linear", x -> F.linear(x[0], x[1], x[2]), new double[][] {rnd(6, 1), rnd(12, 2), rnd(4, 3)},
                new long[][] {{2, 3}, {4, 3}, {4}});
        gradcheck("matmul", x -> x[0].matmul(x[1]), new double[][] {rnd(6, 4), rnd(6, 5)}, new long[][] {{2, 3}, {3, 2}});
        gradcheck("einsum", x -> Torch.einsum("bij,bjk->bik", x[0], x[1]), new double[][] {rnd(8, 6), rnd(8, 7)},
                new long[][] {{2, 2, 2}, {2, 2, 2}});
    }

    @Test
    void normalisationAndActivations() {
        gradcheck("layer_norm", x -> F.layerNorm(x[0], new long[] {4}, x[1], x[2], 1e-5),
                new double[][] {rnd(8, 7), rnd(4, 8), rnd(4, 9)}, new long[][] {{2, 4}, {4}, {4}});
        gradcheck("gelu", x -> F.gelu(x[0]), new double[][] {rnd(5, 10)}, new long[][] {{5}});
        gradcheck("gelu tanh", x -> F.gelu(x[0], true), new double[][] {rnd(5, 11)}, new long[][] {{5}});
        gradcheck("softmax", x -> F.softmax(x[0], -1), new double[][] {rnd(6, 12)}, new long[][] {{2, 3}});
        gradcheck("log_softmax", x -> F.logSoftmax(x[0], 0), new double[][] {rnd(6, 13)}, new long[][] {{2, 3}});
        gradcheck("tanh*sigmoid", x -> x[0].tanh().mul(x[0].sigmoid()), new double[][] {rnd(4, 14)}, new long[][] {{4}});
        gradcheck("normalize", x -> F.normalize(x[0], -1), new double[][] {rnd(6, 15)}, new long[][] {{2, 3}});
        gradcheck("logsumexp+var", x -> x[0].logsumexp(new long[] {1}, false).add(x[0].var(new long[] {1}, 1, false)),
                new double[][] {rnd(6, 16)}, new long[][] {{2, 3}});
    }

    @Test
    void attentionAndLosses() {
        double[] mask = {0, -1e9, 0, 0, 0, -1e9};
        gradcheck("sdpa", x -> F.scaledDotProductAttention(x[0], x[1], x[2], Torch.tensor(mask, 1, 2, 3)),
                new double[][] {rnd(8, 17), rnd(12, 18), rnd(12, 19)}, new long[][] {{1, 2, 4}, {1, 3, 4}, {1, 3, 4}});
        gradcheck("sdpa causal", x -> F.scaledDotProductAttention(x[0], x[1], x[2], null, 0, true, 0),
                new double[][] {rnd(12, 20), rnd(12, 21), rnd(12, 22)}, new long[][] {{1, 3, 4}, {1, 3, 4}, {1, 3, 4}});
        gradcheck("cross_entropy smoothed", x -> F.crossEntropy(x[0], Torch.tensor(new long[] {2, 0, -100}, 3), null,
                F.Reduction.MEAN, -100, 0.1), new double[][] {rnd(12, 23)}, new long[][] {{3, 4}});
        gradcheck("mse", x -> F.mseLoss(x[0], x[1], F.Reduction.MEAN), new double[][] {rnd(6, 24), rnd(6, 25)},
                new long[][] {{6}, {6}});
        gradcheck("embedding", x -> F.embedding(Torch.tensor(new long[] {1, 1, 0}, 3), x[0]), new double[][] {rnd(6, 26)},
                new long[][] {{2, 3}});
        gradcheck("views", x -> Torch.cat(0, x[0].transpose(0, 1), x[0].narrow(0, 0, 1).view(3, 1).mul(2)),
                new double[][] {rnd(3, 27)}, new long[][] {{1, 3}});
        gradcheck("masked_fill+where", x -> Torch.where(x[0].gt(0), x[0].maskedFill(x[0].lt(-0.5), 0), x[0].mul(3)),
                new double[][] {rnd(8, 28)}, new long[][] {{8}});
    }

    @Test
    void gradBookkeeping() {
        try (Scope s = Scope.open()) {
            Tensor w = Torch.ones(3).requiresGrad_(true);
            assertTrue(w.requiresGrad());
            assertTrue(w.isLeaf());
            assertNull(w.grad(), "no gradient before backward");
            assertFalse(w.hasGrad());
            w.mul(2).sum().backward();
            assertArrayEquals(new double[] {2, 2, 2}, w.grad().toDoubleArray());
            w.mul(3).sum().backward();
            assertArrayEquals(new double[] {5, 5, 5}, w.grad().toDoubleArray(), "gradients accumulate");
            assertTrue(w.hasGrad());
            Tensor u = Torch.ones(2).requiresGrad_(true), unused = Torch.ones(2).requiresGrad_(true);
            u.sum().backward();
            Tensor.setGradsNone(new Tensor[] {u, w, unused});
            assertFalse(u.hasGrad() || w.hasGrad() || unused.hasGrad(), "one call clears every gradient, absent ones included");
            w.mul(5).sum().backward();
            w.zeroGrad();
            assertArrayEquals(new double[] {0, 0, 0}, w.grad().toDoubleArray());
            w.setGradNone();
            assertNull(w.grad());
            Tensor y = w.mul(w);
            assertFalse(y.isLeaf());
            y.backward(Torch.tensor(new float[] {1, 0, 2}, 3), true);
            y.backward(Torch.tensor(new float[] {1, 0, 2}, 3), false);
            assertArrayEquals(new double[] {4, 0, 8}, w.grad().toDoubleArray(), "retain_graph allows a second backward");
            assertFalse(w.detach().requiresGrad());
        }
    }

    @Test
    void gradModes() {
        try (Scope s = Scope.open()) {
            Tensor w = Torch.ones(2).requiresGrad_(true);
            assertTrue(Guard.isGradEnabled());
            try (Guard g = Guard.noGrad()) {
                assertFalse(Guard.isGradEnabled());
                assertFalse(w.mul(2).requiresGrad());
                try (Guard e = Guard.enableGrad()) {
                    assertTrue(w.mul(2).requiresGrad());
                }
                assertFalse(Guard.isGradEnabled());
            }
            assertTrue(Guard.isGradEnabled());
            try (Guard g = Guard.inferenceMode()) {
                assertTrue(Guard.isInferenceMode());
                assertFalse(w.mul(2).requiresGrad());
            }
            assertFalse(Guard.isInferenceMode());
        }
    }
}
