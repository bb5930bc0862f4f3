package io.xformer.nn;

import java.lang.foreign.MemorySegment;

/**
 * Tensor handles and libxft's error protocol for sibling packages that call libxft directly
 * ({@code io.xformer.nn.dist}); everything else goes through {@link Tensor}.
 */
public final class NativeAccess {
    private NativeAccess() {}

    /** Loads libxft (idempotent). */
    public static void ensureLoaded() {
        Native.init();
    }

    public static MemorySegment handle(Tensor t, String what) {
        return Tensor.handle(t, what);
    }

    /** A handle array for the duration of the calling thread's next native call. */
    public static MemorySegment handles(Tensor[] tensors) {
        return Native.handles(tensors);
    }

    /** Wraps a new handle returned by libxft (NULL becomes the last error as a TorchException). */
    public static Tensor wrap(MemorySegment handle, String op) {
        return Tensor.wrap(handle, op);
    }

    public static TorchException error(String op) {
        return Native.error(op);
    }

    public static void check(int rc, String op) {
        Native.check(rc, op);
    }

    public static MemorySegment check(MemorySegment handle, String op) {
        return Native.check(handle, op);
    }
}
