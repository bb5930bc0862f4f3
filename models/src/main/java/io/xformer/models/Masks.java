package io.xformer.models;

import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;

/** Attention masks in transformers' additive convention: 0 where allowed, the dtype's most negative value elsewhere. */
public final class Masks {
    private Masks() {}

    /** torch.finfo(dtype).min */
    public static double minValue(DType dtype) {
        return switch (dtype) {
            case F64 -> -Double.MAX_VALUE;
            case F32 -> -Float.MAX_VALUE;
            case BF16 -> -3.3895313892515355e38;
            case F16 -> -65504.0;
            default -> throw new IllegalArgumentException("no additive mask for " + dtype);
        };
    }

    /** A 0/1 keep mask (any dtype) -> additive (1 - keep) * min in dtype. */
    public static Tensor additive(Tensor keep, DType dtype) {
        try (Scope s = Scope.open()) {
            return s.keep(keep.to(dtype).mul(-1).add(1).mul(minValue(dtype)));
        }
    }

    /**
     * UniLM mask for [queries; text] (B, 1, Q+L, Q+L): queries see queries only; text sees
     * every query and the text up to itself; padded text keys (textKeep == 0) are hidden.
     */
    public static Tensor unilm(Tensor textKeep, int numQueries, DType dtype) {
        try (Scope s = Scope.open()) {
            long b = textKeep.size(0), l = textKeep.size(1), t = numQueries + l;
            io.xformer.nn.Device dev = textKeep.device();
            Tensor structure = DeviceConstants.unilmStructure(numQueries, l, dev);
            Tensor keys = io.xformer.nn.Torch.cat(1, io.xformer.nn.Torch.ones(DType.BOOL, dev, b, numQueries), textKeep.ne(0))
                    .view(b, 1, 1, t);
            return s.keep(additive(structure.logicalAnd(keys), dtype));
        }
    }

    /** A (B, T) padding mask -> (B, 1, 1, T) additive, broadcast over heads and query rows. */
    public static Tensor padding(Tensor keep, DType dtype) {
        try (Scope s = Scope.open()) {
            long[] sh = keep.shape();
            return s.keep(additive(keep, dtype).view(sh[0], 1, 1, sh[1]));
        }
    }
}
