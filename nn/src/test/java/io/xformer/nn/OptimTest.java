package io.xformer.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;
import org.junit.jupiter.api.Test;

class OptimTest {
    static final class Two extends Module {
        final Parameter w = registerParameter("w", 2, 2), b = registerParameter("b", 2);
    }

    @Test
    void adamWMatchesTheTorchFormula() {
        try (Scope s = Scope.open()) {
            Two m = new Two();
            m.w.set(Torch.tensor(new double[] {1, -2, 3, 0.5}, 2, 2));
            m.b.set(Torch.tensor(new double[] {0.1, -0.1}, 2));
            double lr = 0.01, b1 = 0.9, b2 = 0.98, eps = 1e-8, wd = 0.05;
            try (AdamW opt = new AdamW(m.namedParameters(), b1, b2, eps, wd)) {
                double[] w = {1, -2, 3, 0.5}, bb = {0.1, -0.1}, mw = new double[4], vw = new double[4], mb = new double[2], vb = new double[2];
                for (int t = 1; t <= 3; t++) {
                    // loss = sum(w^2 * t) + sum(b); grads 2tw and 1
                    m.w.get().square().mul(t).sum().add(m.b.get().sum()).backward();
                    opt.step(lr);
                    opt.zeroGrad();
                    double bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t);
                    for (int i = 0; i < 4; i++) {
                        double g = 2 * t * w[i];
                        w[i] *= 1 - lr * wd;
                        mw[i] = b1 * mw[i] + (1 - b1) * g;
                        vw[i] = b2 * vw[i] + (1 - b2) * g * g;
                        w[i] -= lr / bc1 * mw[i] / (Math.sqrt(vw[i]) / Math.sqrt(bc2) + eps);
                    }
                    for (int i = 0; i < 2; i++) { // no weight decay on vectors
                        mb[i] = b1 * mb[i] + (1 - b1);
                        vb[i] = b2 * vb[i] + (1 - b2);
                        bb[i] -= lr / bc1 * mb[i] / (Math.sqrt(vb[i]) / Math.sqrt(bc2) + eps);
                    }
                }
                assertArrayEquals(w, m.w.get().toDoubleArray(), 1e-12);
                assertArrayEquals(bb, m.b.get().toDoubleArray(), 1e-12);
                assertEquals(3, opt.step());
                assertNull(m.w.get().grad(), "zeroGrad sets gradients to None");

                // state round trip: a copy resumed from the saved state continues identically
                Map<String, Tensor> state = opt.state();
                Two copy = new Two();
                copy.w.set(m.w.get().clone());
                copy.b.set(m.b.get().clone());
                try (AdamW resumed = new AdamW(copy.namedParameters(), b1, b2, eps, wd)) {
                    resumed.load(state, opt.step());
                    for (Two x : new Two[] {m, copy}) x.w.get().sum().backward();
                    opt.step(lr);
                    resumed.step(lr);
                    assertArrayEquals(m.w.get().toDoubleArray(), copy.w.get().toDoubleArray(), 0);
                    assertThrows(TorchException.class, () -> resumed.load(Map.of("exp_avg.nope", Torch.zeros(1)), 1));
                }
                copy.close();
            }
            m.close();
        }
    }

    @Test
    void gradientClippingBoundsTheGlobalNorm() {
        try (Scope s = Scope.open()) {
            Two m = new Two();
            m.w.set(Torch.zeros(DType.F64, Device.CPU, 2, 2));
            m.b.set(Torch.zeros(DType.F64, Device.CPU, 2));
            m.w.get().sum().mul(3).add(m.b.get().sum().mul(4)).backward(); // grads 3 (x4) and 4 (x2): norm sqrt(36+32)
            try (AdamW opt = new AdamW(m.namedParameters(), 0.9, 0.98, 1e-8, 0)) {
                assertEquals(Math.sqrt(68), opt.clipGradNorm(1.0), 1e-9);
                double n = Math.sqrt(m.w.get().grad().square().sum().item() + m.b.get().grad().square().sum().item());
                assertEquals(1.0, n, 1e-5);
            }
            m.close();
        }
    }

    @Test
    void warmupThenCosine() {
        LrSchedule s = new LrSchedule(1e-4, 1e-5, 1e-6, 10, 110);
        assertEquals(1e-6, s.at(0), 1e-15);
        assertEquals(1e-6 + (1e-4 - 1e-6) * 0.5, s.at(5), 1e-15);
        assertEquals(1e-4, s.at(10), 1e-15);
        assertEquals(1e-5 + (1e-4 - 1e-5) * 0.5, s.at(60), 1e-15);
        assertEquals(1e-5, s.at(110), 1e-15);
        assertEquals(1e-5, s.at(500), 1e-15);
    }
}
