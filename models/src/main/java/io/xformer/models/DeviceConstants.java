package io.xformer.models;

import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Guard;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Labels, targets, position ids and mask structures that depend only on a shape: built on the
 * device once per (what, shape, device) and reused, so a step neither rebuilds them nor copies
 * them from host memory. Tensors made under inference mode are cached apart (they cannot take
 * part in autograd). Callers must not modify what they get.
 */
public final class DeviceConstants {
    private record Key(String what, String shape, Device device, boolean inference) {}

    private static final Map<Key, Tensor> CACHE = new ConcurrentHashMap<>();

    private DeviceConstants() {}

    private static Tensor get(String what, Device device, Supplier<Tensor> make, long... shape) {
        Key k = new Key(what, Arrays.toString(shape), device, Guard.isInferenceMode());
        Tensor t = CACHE.get(k);
        if (t != null) return t;
        try (Scope s = Scope.open()) {
            t = Scope.unscoped(s.keep(make.get()));
        }
        Tensor prev = CACHE.putIfAbsent(k, t);
        if (prev != null) {
            t.close();
            return prev;
        }
        return t;
    }

    /** 0, 1, ..., n-1 as int64 (n): position ids, ITC targets. */
    public static Tensor arange(long n, Device device) {
        return get("arange", device, () -> Torch.arange(0, n, 1, DType.I64, device), n);
    }

    /** ITM labels (3B): 1 for the B positive pairs, 0 for the 2B negatives. */
    public static Tensor itmLabels(long b3, Device device) {
        long b = b3 / 3;
        return get("itm_labels", device, () -> Torch.cat(0, Torch.ones(DType.I64, device, b), Torch.zeros(DType.I64, device, b3 - b)), b3);
    }

    /** int64 ones (rows, cols): the always-visible query columns of a keep mask. */
    public static Tensor ones(long rows, long cols, Device device) {
        return get("ones_i64", device, () -> Torch.ones(DType.I64, device, rows, cols), rows, cols);
    }

    /** The UniLM structure (1, 1, Q+L, Q+L) as bool: queries see queries, text sees queries and earlier text. */
    public static Tensor unilmStructure(int numQueries, long l, Device device) {
        long t = numQueries + l;
        return get("unilm", device, () -> {
            Tensor top = Torch.cat(1, Torch.ones(DType.BOOL, device, numQueries, numQueries), Torch.zeros(DType.BOOL, device, numQueries, l));
            Tensor bottom = Torch.cat(1, Torch.ones(DType.BOOL, device, l, numQueries), Torch.ones(DType.BOOL, device, l, l).tril(0));
            return Torch.cat(0, top, bottom).view(1, 1, t, t);
        }, numQueries, l);
    }

    /** Constants cached now (a test hook). */
    public static int size() {
        return CACHE.size();
    }
}
