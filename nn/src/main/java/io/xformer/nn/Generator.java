package io.xformer.nn;

import static io.xformer.bindings.xft.xft_h.xft_generator_free;
import static io.xformer.bindings.xft.xft_h.xft_generator_new;

import java.lang.foreign.MemorySegment;

/** A seeded random-number generator, independent of the global one. */
public final class Generator implements AutoCloseable {
    static {
        Native.init();
    }

    private MemorySegment handle;
    private final Thread owner = Thread.currentThread();

    public Generator(long seed, Device.Type deviceType) {
        this.handle = Native.check(xft_generator_new(seed, deviceType.code), "generator");
    }

    public Generator(long seed) {
        this(seed, Device.Type.CPU);
    }

    static MemorySegment handle(Generator g) {
        if (g == null) return MemorySegment.NULL;
        if (g.handle == null) throw new IllegalStateException("generator used after close()");
        return g.handle;
    }

    @Override
    public void close() {
        if (handle == null) return;
        if (Thread.currentThread() != owner) throw new IllegalStateException("generator closed on another thread");
        xft_generator_free(handle);
        handle = null;
    }
}
