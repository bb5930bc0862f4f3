package io.xformer.nn;

import static io.xformer.bindings.xft.xft_h.xft_last_error;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.xformer.bindings.NativeLibrary;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** The only place that turns libxft's error protocol into exceptions, plus per-thread scratch memory. */
final class Native {
    static {
        NativeLibrary.ensureLoaded();
        Threads.apply();
    }

    private static final int SCRATCH_SLOTS = 64;

    /** Argument buffers reused by every call on a thread: shapes, out-pointers, a double. */
    private static final class Scratch {
        // Arena.ofAuto: lives as long as the thread's Scratch is reachable.
        final Arena arena = Arena.ofAuto();
        final MemorySegment longs = arena.allocate(JAVA_LONG, SCRATCH_SLOTS);
        final MemorySegment ptrs = arena.allocate(ADDRESS, SCRATCH_SLOTS);
        final MemorySegment outs = arena.allocate(ADDRESS, 2);
        final MemorySegment dbl = arena.allocate(JAVA_DOUBLE, 1);
        // shape reads and scope frees have their own buffers: neither may clobber an argument being built
        final MemorySegment sizes = arena.allocate(JAVA_LONG, SCRATCH_SLOTS);
        MemorySegment frees = arena.allocate(ADDRESS, SCRATCH_SLOTS);
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Native() {}

    static void init() {
        // forces the static initialiser (library load)
    }

    static TorchException error(String op) {
        String msg = xft_last_error().getString(0);
        return new TorchException(op + ": " + (msg.isEmpty() ? "failed" : msg));
    }

    static MemorySegment check(MemorySegment handle, String op) {
        if (handle.address() == 0) throw error(op);
        return handle;
    }

    static void check(int rc, String op) {
        if (rc != 0) throw error(op);
    }

    static MemorySegment longs(long[] values) {
        if (values.length > SCRATCH_SLOTS) return Arena.ofAuto().allocateFrom(JAVA_LONG, values);
        MemorySegment s = SCRATCH.get().longs;
        MemorySegment.copy(values, 0, s, JAVA_LONG, 0, values.length);
        return s;
    }

    static MemorySegment handles(Tensor[] tensors) {
        MemorySegment s = tensors.length > SCRATCH_SLOTS
                ? Arena.ofAuto().allocate(ADDRESS, tensors.length)
                : SCRATCH.get().ptrs;
        for (int i = 0; i < tensors.length; i++) s.setAtIndex(ADDRESS, i, Tensor.handle(tensors[i], "tensor list element " + i));
        return s;
    }

    /** A handle array of its own (for calls that take several lists), allocated in arena. */
    static MemorySegment handles(Arena arena, Tensor[] tensors) {
        MemorySegment s = arena.allocate(ADDRESS, Math.max(1, tensors.length));
        for (int i = 0; i < tensors.length; i++) s.setAtIndex(ADDRESS, i, Tensor.handle(tensors[i], "tensor list element " + i));
        return s;
    }

    /** SCRATCH_SLOTS longs for a tensor's sizes. */
    static MemorySegment sizes() {
        return SCRATCH.get().sizes;
    }

    static final int SIZES_SLOTS = SCRATCH_SLOTS;

    /** A pointer buffer of at least n slots for freeing handles (grown, then kept, per thread). */
    static MemorySegment frees(int n) {
        Scratch s = SCRATCH.get();
        if (s.frees.byteSize() < (long) n * ADDRESS.byteSize()) s.frees = s.arena.allocate(ADDRESS, Math.max(n, 2 * s.frees.byteSize() / ADDRESS.byteSize()));
        return s.frees;
    }

    /** Two zeroed pointer slots for functions with out-parameters. */
    static MemorySegment outs() {
        MemorySegment s = SCRATCH.get().outs;
        s.setAtIndex(ADDRESS, 0, MemorySegment.NULL);
        s.setAtIndex(ADDRESS, 1, MemorySegment.NULL);
        return s;
    }

    static MemorySegment dbl() {
        return SCRATCH.get().dbl;
    }
}
