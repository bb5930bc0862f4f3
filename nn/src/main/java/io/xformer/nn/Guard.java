package io.xformer.nn;

import static io.xformer.bindings.xft.xft_h.*;

import java.lang.foreign.MemorySegment;

/**
 * A thread-local libtorch mode (no-grad, enable-grad, inference mode, autocast) held for a
 * try-with-resources block. libtorch keeps these modes per thread, so a guard must be closed
 * on the thread that opened it, innermost first.
 */
public final class Guard implements AutoCloseable {
    private MemorySegment handle;
    private final Thread thread = Thread.currentThread();
    private final String name;

    private Guard(MemorySegment handle, String name) {
        this.handle = Native.check(handle, name);
        this.name = name;
    }

    /** torch.no_grad() */
    public static Guard noGrad() {
        Native.init();
        return new Guard(xft_no_grad_enter(), "no_grad");
    }

    /** torch.enable_grad() */
    public static Guard enableGrad() {
        Native.init();
        return new Guard(xft_enable_grad_enter(), "enable_grad");
    }

    /** torch.inference_mode(): no autograd and no version counting; tensors made inside stay inference tensors. */
    public static Guard inferenceMode() {
        Native.init();
        return new Guard(xft_inference_mode_enter(), "inference_mode");
    }

    /** torch.autocast(device_type, dtype): eligible ops (matmul, linear, ...) run in dtype. */
    public static Guard autocast(Device.Type deviceType, DType dtype) {
        Native.init();
        return new Guard(xft_autocast_enter(deviceType.code, dtype.code), "autocast(" + deviceType + ", " + dtype + ")");
    }

    /**
     * The caller vouches that every embedding index used inside was checked on the host before
     * upload (or built in range): embeddings then skip their device-side index check, which on
     * CUDA reads the indices' min and max back (two host syncs per lookup).
     */
    public static Guard idsCheckedOnHost() {
        Native.init();
        return new Guard(xft_ids_checked_on_host_enter(), "ids_checked_on_host");
    }

    public static boolean isGradEnabled() {
        Native.init();
        return xft_is_grad_enabled() == 1;
    }

    public static boolean isInferenceMode() {
        Native.init();
        return xft_is_inference_mode() == 1;
    }

    public static boolean isAutocastEnabled(Device.Type deviceType) {
        Native.init();
        int v = xft_is_autocast_enabled(deviceType.code);
        if (v < 0) throw Native.error("is_autocast_enabled");
        return v == 1;
    }

    @Override
    public void close() {
        if (handle == null) return;
        if (Thread.currentThread() != thread)
            throw new IllegalStateException(name + " guard opened on " + thread.getName() + " closed on "
                    + Thread.currentThread().getName());
        xft_guard_exit(handle);
        handle = null;
    }
}
