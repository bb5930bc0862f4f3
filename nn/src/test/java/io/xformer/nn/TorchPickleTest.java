package io.xformer.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** torch::pickle_save files read back through the restricted unpickler: dtypes, nesting, shared storage. */
class TorchPickleTest {
    @TempDir
    Path tmp;

    @Test
    void roundTripKeepsDtypesValuesAndSharedStorage() throws java.io.IOException {
        try (Scope s = Scope.open()) {
            Tensor w = Torch.randn(4, 3);
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put("layer.weight", w);
            in.put("layer.tied", w.narrow(0, 1, 2)); // a view: rows 1..2 of the same storage
            in.put("half", Torch.randn(5).to(DType.F16));
            in.put("brain", Torch.randn(2, 2).to(DType.BF16));
            in.put("ids", Torch.tensor(new long[] {3, 1, 4}, 3));
            Path f = tmp.resolve("ckpt.pth");
            TorchPickle.save(f, in, "model");
            assertFalse(Files.exists(tmp.resolve("ckpt.pth.tmp")));
            try (TorchPickle p = TorchPickle.open(f, null)) {
                assertEquals("model", p.stateKey(), "a file whose top level is not all tensors: its 'model' dict");
                assertEquals(List.copyOf(in.keySet()), p.names());
                for (var e : in.entrySet()) {
                    assertEquals(e.getValue().dtype(), p.entry(e.getKey()).dtype(), e.getKey());
                    assertArrayEquals(e.getValue().shape(), p.entry(e.getKey()).shape(), e.getKey());
                    assertArrayEquals(e.getValue().toByteArray(), p.get(e.getKey()).toByteArray(), e.getKey());
                }
                // writing through the view changes the tensor it was cut from
                Tensor full = p.get("layer.weight"), tied = p.get("layer.tied");
                double before = full.toDoubleArray()[3];
                tied.add_(1.0);
                assertEquals(before + 1.0, full.toDoubleArray()[3], 1e-6);
                assertEquals(w.toDoubleArray()[0], full.toDoubleArray()[0], 0.0, "row 0 is not in the view");
            }
            try (TorchPickle p = TorchPickle.open(f, "model")) {
                assertEquals(5, p.names().size());
            }
            // a flat dict of tensors is read whole
            Path flat = tmp.resolve("flat.bin");
            TorchPickle.save(flat, Map.of("a", Torch.ones(2)), null);
            try (TorchPickle p = TorchPickle.open(flat, null)) {
                assertEquals("", p.stateKey());
                assertEquals(List.of("a"), p.names());
            }
            InputException e = assertThrows(InputException.class, () -> TorchPickle.open(flat, "model"));
            assertTrue(e.getMessage().startsWith(flat + ": no state key 'model'"), e.getMessage());
            e = assertThrows(InputException.class, () -> TorchPickle.open(tmp.resolve("absent.pth"), null));
            assertTrue(e.getMessage().contains("absent.pth"), e.getMessage());
            Files.writeString(tmp.resolve("text.pth"), "not a checkpoint");
            e = assertThrows(InputException.class, () -> TorchPickle.open(tmp.resolve("text.pth"), null));
            assertTrue(e.getMessage().contains("text.pth: not a torch.save checkpoint"), e.getMessage());
        }
    }
}
