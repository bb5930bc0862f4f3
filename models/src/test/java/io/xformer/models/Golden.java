package io.xformer.models;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.nn.SafeTensors;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/** Fixture folders and golden-tensor comparisons shared by the parity tests. */
final class Golden {
    static final Path ROOT = Path.of(System.getProperty("xformer.root", "..")).toAbsolutePath().normalize();
    static final Path HF = ROOT.resolve("test-data/hf-tiny");

    private Golden() {}

    /** Golden tensors of a fixture folder, owned by the current scope. */
    static Map<String, Tensor> load(String folder) {
        return SafeTensors.load(HF.resolve(folder).resolve("golden.safetensors"));
    }

    static double maxAbsDiff(Tensor expected, Tensor actual) {
        try (Scope s = Scope.open()) {
            return expected.to(io.xformer.nn.DType.F64).sub(actual.to(io.xformer.nn.DType.F64)).abs().amax().item();
        }
    }

    static void assertClose(String name, Tensor expected, Tensor actual, double tol) {
        assertArrayEquals(expected.shape(), actual.shape(), name + " shape");
        double d = maxAbsDiff(expected, actual);
        System.out.printf("parity %-28s max |diff| %.3g%n", name, d);
        assertTrue(d <= tol, name + ": max |diff| " + d + " > " + tol);
    }

    static void assertExact(String name, Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape(), name + " shape");
        assertArrayEquals(expected.toDoubleArray(), actual.toDoubleArray(), name + " " + Arrays.toString(expected.shape()));
    }
}
