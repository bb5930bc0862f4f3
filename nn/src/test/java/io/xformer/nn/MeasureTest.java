package io.xformer.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The device-to-host counter, the op profiler, single-copy uploads and the sync-free gradient clip. */
class MeasureTest {
    static final class Two extends Module {
        final Parameter w = registerParameter("w", 3, 4), b = registerParameter("b", 4);
    }

    @Test
    void readsAreCountedAndOpsAreNot() {
        try (Scope s = Scope.open()) {
            Tensor a = Torch.tensor(new float[] {1, 2, 3, 4}, 2, 2);
            long before = Torch.d2hReads();
            Tensor c = a.matmul(a).add(1).sum();
            assertEquals(0, Torch.d2hReads() - before, "ops alone read nothing back");
            // [[1,2],[3,4]]^2 = [[7,10],[15,22]]; + 1 -> 8 + 11 + 16 + 23 = 58
            assertEquals(58, c.item());
            a.toFloatArray();
            assertEquals(2, Torch.d2hReads() - before, "item() and toFloatArray() are one read each");
        }
    }

    @Test
    void theProfilerCountsOpsAndSelfTimes() {
        try (Scope s = Scope.open()) {
            Tensor a = Torch.rand(64, 64);
            Profiler.start();
            for (int i = 0; i < 3; i++) a.matmul(a).relu();
            List<Profiler.Op> ops = Profiler.stop();
            Map<String, Profiler.Op> by = ops.stream().collect(Collectors.toMap(Profiler.Op::name, o -> o));
            assertEquals(3, by.get("aten::matmul").calls());
            assertEquals(3, by.get("aten::mm").calls(), "matmul of two matrices dispatches to mm");
            assertEquals(3, by.get("aten::relu").calls());
            Profiler.Op mm = by.get("aten::mm"), matmul = by.get("aten::matmul");
            assertTrue(matmul.totalMicros() >= mm.totalMicros(), "matmul's time includes the mm inside it");
            assertTrue(matmul.selfMicros() <= matmul.totalMicros() - mm.totalMicros() + 1e-3, "self time leaves the nested mm out");
            assertThrows(TorchException.class, Profiler::stop, "stopping twice is an error");
            a.add(1);
            Profiler.start();
            List<Profiler.Op> none = Profiler.stop();
            assertTrue(none.isEmpty(), "nothing ran: " + none);
        }
    }

    @Test
    void uploadMakesTheSameTensorAsTensor() {
        try (Scope s = Scope.open()) {
            float[] px = {0.5f, -1, 2, 3.25f, 4, 5};
            long[] ids = {2, 7, 9, 11};
            assertArrayEquals(px, Torch.upload(px, Device.CPU, 1, 2, 3).toFloatArray());
            assertArrayEquals(new long[] {1, 2, 3}, Torch.upload(px, Device.CPU, 1, 2, 3).shape());
            assertArrayEquals(ids, Torch.upload(ids, Device.CPU, 2, 2).toLongArray());
            assertEquals(DType.I64, Torch.upload(ids, Device.CPU, 2, 2).dtype());
            assertThrows(IllegalArgumentException.class, () -> Torch.upload(ids, Device.CPU, 3, 2));
        }
    }

    @Test
    void clipOnTheDeviceGivesTheSameGradientsBitForBit() {
        for (double maxNorm : new double[] {0.5, 1e3}) { // clipped, and left alone (factor clamped to 1)
            float[][] grads = new float[2][];
            for (int variant = 0; variant < 2; variant++) {
                try (Scope s = Scope.open()) {
                    Two m = new Two();
                    try (Generator g = new Generator(3)) {
                        m.initialize(g, DType.F32, Device.CPU, 1.0);
                    }
                    m.w.get().square().sum().add(m.b.get().mul(3).sum()).backward();
                    try (AdamW opt = new AdamW(m.namedParameters(), 0.9, 0.98, 1e-8, 0.0)) {
                        if (variant == 0) opt.clipGradNorm(maxNorm);
                        else opt.clipGradNormOnDevice(maxNorm);
                    }
                    grads[variant] = Torch.cat(0, m.w.get().grad().reshape(-1), m.b.get().grad().reshape(-1)).toFloatArray();
                }
            }
            assertArrayEquals(grads[0], grads[1], "maxNorm " + maxNorm);
        }
    }
}
