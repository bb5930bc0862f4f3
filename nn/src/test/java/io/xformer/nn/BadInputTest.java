package io.xformer.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Bad input raises a Java exception naming the problem; it never crashes the JVM. */
class BadInputTest {
    static void fails(String fragment, Executable e) {
        TorchException ex = assertThrows(TorchException.class, e);
        assertTrue(ex.getMessage().toLowerCase().contains(fragment.toLowerCase()),
                "message should mention '" + fragment + "': " + ex.getMessage());
    }

    @Test
    void wrongShapes() {
        try (Scope s = Scope.open()) {
            Tensor a = Torch.zeros(2, 3), b = Torch.zeros(4, 5);
            fails("matmul", () -> a.matmul(b));
            fails("size", () -> a.add(b));
            fails("view", () -> a.view(7));
            fails("linear", () -> F.linear(a, b, null));
            fails("cat", () -> Torch.cat(0, a, b));
            fails("layer_norm", () -> F.layerNorm(a, new long[] {5}, null, null, 1e-5));
            fails("mse_loss", () -> F.mseLoss(a, b, F.Reduction.MEAN));
            fails("scaled_dot_product_attention", () -> F.scaledDotProductAttention(a.unsqueeze(0), b.unsqueeze(0), b.unsqueeze(0), null));
            fails("backward", () -> Torch.ones(2).requiresGrad_(true).mul(2).backward());
            fails("item", () -> a.item());
            fails("from 3 bytes", () -> Torch.fromBytes(new byte[3], DType.F32, 1));
            fails("expand", () -> a.expand(3, 3));
            fails("einsum", () -> Torch.einsum("ij,jk->ik", a, a));
        }
    }

    @Test
    void wrongDtypes() {
        try (Scope s = Scope.open()) {
            Tensor f = Torch.zeros(2, 3);
            Tensor i = Torch.arange(6).view(2, 3);
            fails("cross_entropy", () -> F.crossEntropy(f, f.narrow(1, 0, 1).squeeze(1)));
            fails("requires_grad", () -> i.requiresGrad_(true));
            fails("embedding", () -> F.embedding(f, f));
            fails("index_select", () -> f.indexSelect(0, f.narrow(1, 0, 1).squeeze(1)));
            fails("masked_fill", () -> f.maskedFill(f, 1));
            fails("autocast", () -> Guard.autocast(Device.Type.CPU, DType.F64));
        }
    }

    @Test
    void wrongDevices() {
        if (Torch.cudaIsAvailable()) return; // covered by the CUDA run, where cuda tensors exist
        try (Scope s = Scope.open()) {
            fails("to(cuda", () -> Torch.zeros(2).cuda());
            fails("full", () -> Torch.zeros(DType.F32, Device.cuda(0), 2));
            fails("pin_memory", () -> Torch.zeros(2).pinMemory());
            fails("cuda", () -> Torch.cudaSynchronize(0));
        }
    }

    @Test
    void outOfRangeIndices() {
        try (Scope s = Scope.open()) {
            Tensor a = Torch.zeros(2, 3);
            fails("index_select", () -> a.indexSelect(0, Torch.tensor(new long[] {5}, 1)));
            fails("embedding", () -> F.embedding(Torch.tensor(new long[] {3}, 1), a));
            fails("gather", () -> a.gather(1, Torch.tensor(new long[] {0, 9}, 1, 2)));
            fails("select", () -> a.select(0, 2));
            fails("dim", () -> a.transpose(0, 4));
            fails("narrow", () -> a.narrow(1, 2, 5));
            fails("cross_entropy", () -> F.crossEntropy(a, Torch.tensor(new long[] {0, 7}, 2)));
            fails("topk", () -> a.topk(9, 1, true, true));
            fails("masked_scatter", () -> a.maskedScatter(a.ge(0), Torch.ones(2)));
        }
    }

    @Test
    void freedTensorsAndClosedScopes() {
        Tensor t;
        try (Scope s = Scope.open()) {
            t = Torch.ones(2);
        }
        assertThrows(IllegalStateException.class, () -> t.add(1));
        try (Scope s = Scope.open()) {
            Tensor live = Torch.ones(2);
            assertThrows(IllegalStateException.class, () -> live.add(t), "freed argument");
            assertThrows(IllegalStateException.class, () -> Torch.cat(0, live, t));
            assertThrows(NullPointerException.class, () -> live.add((Tensor) null));
        }
        Scope closed = Scope.open();
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.keep(t));
    }

    @Test
    void aThousandBadCallsLeaveTheJvmHealthy() {
        long base = Live.settled();
        List<Supplier<Object>> bad;
        try (Scope s = Scope.open()) {
            Tensor a = Torch.randn(3, 4), b = Torch.randn(5, 6);
            Tensor idx = Torch.tensor(new long[] {99}, 1);
            bad = List.of(
                    () -> a.matmul(b),
                    () -> a.add(b),
                    () -> a.view(11),
                    () -> a.indexSelect(0, idx),
                    () -> F.embedding(idx, a),
                    () -> a.select(3, 0),
                    () -> F.crossEntropy(a, idx),
                    () -> a.to(Device.cuda(3)),
                    () -> F.layerNorm(a, new long[] {7}, null, null, 1e-5),
                    () -> Torch.cat(9, a, b));
            int thrown = 0;
            for (int i = 0; i < 1000; i++) {
                try {
                    bad.get(i % bad.size()).get();
                } catch (TorchException e) {
                    thrown++;
                }
            }
            if (Torch.cudaIsAvailable()) assertTrue(thrown >= 900, "bad calls raised " + thrown);
            else assertEquals(1000, thrown);
            // still healthy: real work gives the right answer
            Tensor m = Torch.tensor(new float[] {1, 2, 3, 4}, 2, 2);
            assertArrayEquals(new float[] {7, 10, 15, 22}, m.matmul(m).toFloatArray());
        }
        assertEquals(base, Torch.liveTensors(), "failed calls leaked no handles");
    }
}
