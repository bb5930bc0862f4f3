package io.xformer.nn;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Output dtypes under autocast, as torch.autocast("cpu", bfloat16) gives them. */
class AutocastTest {
    @Test
    void cpuBf16CastsMatmulFamilyOnly() {
        try (Scope s = Scope.open()) {
            Tensor a = Torch.randn(4, 8), w = Torch.randn(3, 8), b = Torch.randn(3);
            assertFalse(Guard.isAutocastEnabled(Device.Type.CPU));
            try (Guard g = Guard.autocast(Device.Type.CPU, DType.BF16)) {
                assertTrue(Guard.isAutocastEnabled(Device.Type.CPU));
                assertEquals(DType.BF16, F.linear(a, w, b).dtype(), "linear runs in bf16");
                assertEquals(DType.BF16, a.matmul(w.transpose(0, 1)).dtype(), "matmul runs in bf16");
                assertEquals(DType.BF16, a.unsqueeze(0).bmm(w.transpose(0, 1).unsqueeze(0)).dtype(), "bmm runs in bf16");
                assertEquals(DType.F32, a.add(a).dtype(), "elementwise ops keep fp32");
                assertEquals(DType.F32, F.softmax(a, -1).dtype(), "softmax keeps fp32");
                Tensor h = F.linear(a, w, b);
                assertEquals(DType.F32, h.add(Torch.ones(3)).dtype(), "bf16 + fp32 promotes to fp32");
                // master weights stay fp32 and receive fp32 gradients
                Tensor p = Torch.randn(3, 8).requiresGrad_(true);
                F.linear(a, p, null).to(DType.F32).sum().backward();
                assertEquals(DType.F32, p.grad().dtype());
            }
            assertFalse(Guard.isAutocastEnabled(Device.Type.CPU), "state restored on exit");
            assertEquals(DType.F32, F.linear(a, w, b).dtype());
        }
    }

    @Test
    void nestedAutocastRestoresOuterState() {
        try (Scope s = Scope.open(); Guard outer = Guard.autocast(Device.Type.CPU, DType.BF16)) {
            try (Guard inner = Guard.autocast(Device.Type.CPU, DType.BF16)) {
                assertTrue(Guard.isAutocastEnabled(Device.Type.CPU));
            }
            assertTrue(Guard.isAutocastEnabled(Device.Type.CPU));
            assertEquals(DType.BF16, Torch.randn(2, 2).matmul(Torch.randn(2, 2)).dtype());
        }
        assertFalse(Guard.isAutocastEnabled(Device.Type.CPU));
    }

    @Test
    void badAutocastRequestsAreErrors() {
        assertThrows(TorchException.class, () -> Guard.autocast(Device.Type.CPU, DType.I64));
        if (!Torch.cudaIsAvailable())
            assertThrows(TorchException.class, () -> Guard.autocast(Device.Type.CUDA, DType.BF16));
    }
}
