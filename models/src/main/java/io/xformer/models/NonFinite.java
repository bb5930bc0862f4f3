package io.xformer.models;

import io.xformer.nn.Module;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Counts of NaN and infinite values, for warnings that name the tensor: weights with flipped
 * bytes load without complaint and give all-NaN outputs, which must not pass silently.
 */
public final class NonFinite {
    private NonFinite() {}

    /** NaN and +-inf values in t (0 for integer tensors); one host sync. */
    public static long count(Tensor t) {
        if (!t.dtype().isFloatingPoint()) return 0;
        try (Scope s = Scope.open()) {
            Tensor nan = t.ne(t).sum(), inf = t.abs().eq(Double.POSITIVE_INFINITY).sum();
            return (long) nan.add(inf).item();
        }
    }

    /** "name: N of M values are NaN or infinite" for each tensor that has any, in map order. */
    public static List<String> describe(Map<String, Tensor> tensors) {
        List<String> out = new ArrayList<>();
        tensors.forEach((name, t) -> {
            long n = count(t);
            if (n > 0) out.add(name + ": " + n + " of " + t.numel() + " values are NaN or infinite");
        });
        return out;
    }

    /** The same for a model's parameters (the checkpoint's names). */
    public static List<String> inWeights(Module m) {
        Map<String, Tensor> w = new java.util.LinkedHashMap<>();
        m.namedParameters().forEach((k, p) -> w.put(k, p.get()));
        return describe(w);
    }
}
