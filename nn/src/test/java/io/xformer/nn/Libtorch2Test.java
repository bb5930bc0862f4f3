package io.xformer.nn;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What libtorch 2.x adds, checked against the composed paths that 1.13 runs: the multi-tensor
 * and fused AdamW against the per-tensor formula, the public SDPA kernel against
 * matmul-softmax-matmul. On 1.13 the 2.x-only checks are skipped with the reason.
 */
class Libtorch2Test {
    static final String NO_FUSED = "this libtorch has no fused AdamW kernel for CPU (needs >= 2.4): " + Torch.version();
    static final String NO_SDPA = "this libtorch has no public scaled_dot_product_attention (needs >= 2.1), so attention"
            + " IS the composed path: " + Torch.version();

    /** A matrix, a vector and a 3-d tensor: both weight-decay groups. */
    static Map<String, Parameter> params(long seed) {
        Torch.manualSeed(seed);
        Map<String, Parameter> m = new LinkedHashMap<>();
        long[][] shapes = {{8, 5}, {5}, {2, 3, 4}};
        for (int i = 0; i < shapes.length; i++) {
            Parameter p = new Parameter(shapes[i], false);
            p.set(Torch.randn(shapes[i]));
            m.put("p" + i, p);
        }
        return m;
    }

    /** 20 steps of the same gradients (loss = sum(p^3 * c_t)); returns the final values. */
    static Map<String, double[]> train(AdamW.Impl impl) {
        Map<String, Parameter> ps = params(1);
        Map<String, double[]> out = new LinkedHashMap<>();
        try (AdamW opt = new AdamW(ps, 0.9, 0.98, 1e-8, 0.05).impl(impl)) {
            for (int t = 1; t <= 20; t++) {
                try (Scope s = Scope.open()) {
                    Tensor loss = null;
                    for (Parameter p : ps.values()) {
                        Tensor term = p.get().pow(3).mul(0.3 + 0.05 * t).sum();
                        loss = loss == null ? term : loss.add(term);
                    }
                    loss.backward();
                }
                opt.step(1e-2 * (1 + 0.1 * t));
                opt.zeroGrad();
            }
        }
        ps.forEach((k, p) -> out.put(k, p.get().toDoubleArray()));
        ps.values().forEach(Parameter::close);
        return out;
    }

    static double maxDiff(Map<String, double[]> a, Map<String, double[]> b) {
        double d = 0;
        for (String k : a.keySet()) {
            double[] x = a.get(k), y = b.get(k);
            for (int i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
        }
        return d;
    }

    @Test
    void foreachAdamWIsTheComposedArithmetic() {
        Map<String, double[]> composed = train(AdamW.Impl.COMPOSED), foreach = train(AdamW.Impl.FOREACH);
        double d = maxDiff(composed, foreach);
        Map<String, Parameter> start = params(1);
        Map<String, double[]> initial = new LinkedHashMap<>();
        start.forEach((k, p) -> initial.put(k, p.get().toDoubleArray()));
        start.values().forEach(Parameter::close);
        assertTrue(maxDiff(initial, composed) > 0.05, "the 20 steps moved the parameters");
        System.out.printf("Libtorch2Test: foreach vs composed AdamW over 20 steps, max |diff| %.3g%n", d);
        assertEquals(0, d, 1e-7);
    }

    @Test
    void fusedAdamWMatchesTheComposedOneOverTwentySteps() {
        assumeTrue(Torch.hasFeature("fused_adamw_cpu"), NO_FUSED);
        Map<String, double[]> composed = train(AdamW.Impl.COMPOSED), fused = train(AdamW.Impl.FUSED);
        double d = maxDiff(composed, fused);
        System.out.printf("Libtorch2Test: fused vs composed AdamW over 20 steps, max |diff| %.3g%n", d);
        assertTrue(d < 1e-6, "fused AdamW drifted by " + d);
    }

    @Test
    void fusedAdamWIsRefusedByNameWhereLibtorchLacksIt() {
        assumeTrue(!Torch.hasFeature("fused_adamw_cpu"), "this libtorch has the kernel");
        TorchException e = assertThrows(TorchException.class, () -> train(AdamW.Impl.FUSED));
        assertTrue(e.getMessage().contains("no fused AdamW kernel"), e.getMessage());
    }

    @Test
    void publicSdpaEqualsTheComposedPath() {
        assumeTrue(Torch.hasFeature("public_sdpa"), NO_SDPA);
        try (Scope s = Scope.open()) {
            Torch.manualSeed(3);
            Tensor q = Torch.randn(2, 4, 7, 8), k = Torch.randn(2, 4, 9, 8), v = Torch.randn(2, 4, 9, 8);
            Tensor qc = Torch.randn(2, 4, 9, 8);
            Tensor boolMask = Torch.rand(2, 1, 7, 9).gt(0.3);
            Tensor additive = Torch.where(Torch.rand(2, 1, 7, 9).gt(0.3), Torch.zeros(1), Torch.full(-10000, DType.F32, Device.CPU, 1));
            double worst = 0;
            worst = Math.max(worst, diff(F.scaledDotProductAttention(q, k, v, null, 0, false, 0), F.attentionReference(q, k, v, null, false, 0)));
            worst = Math.max(worst, diff(F.scaledDotProductAttention(q, k, v, boolMask, 0, false, 0), F.attentionReference(q, k, v, boolMask, false, 0)));
            worst = Math.max(worst, diff(F.scaledDotProductAttention(q, k, v, additive, 0, false, 0.2), F.attentionReference(q, k, v, additive, false, 0.2)));
            worst = Math.max(worst, diff(F.scaledDotProductAttention(qc, k, v, null, 0, true, 0), F.attentionReference(qc, k, v, null, true, 0)));
            System.out.printf("Libtorch2Test: public SDPA vs composed, max |diff| %.3g%n", worst);
            assertTrue(worst < 1e-5, "public SDPA differs from the composed path by " + worst);
        }
    }

    static double diff(Tensor a, Tensor b) {
        return a.sub(b).abs().amax().item();
    }
}
