package io.xformer.nn.dist;

import static io.xformer.bindings.xft.xft_h.*;

import io.xformer.nn.Guard;
import io.xformer.nn.NativeAccess;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/**
 * DistributedDataParallel's gradient averaging for a map of trainable parameters. At creation
 * every rank checks that it holds the same parameters (names and shapes) and takes rank 0's
 * values. During backward, gradient hooks fill buckets of about {@code bucketBytes}, in reverse
 * parameter order, and all-reduce each full bucket while backward goes on; {@link #finish()}
 * (after every backward, before the optimiser step) waits and sets each {@code .grad} to the
 * mean over ranks of what the backwards since the last finish produced (see {@link #sync}); a
 * {@code .grad} is set to that mean, so zero or clear gradients before each step.
 */
public final class GradientSync implements AutoCloseable {
    /** DDP's default bucket_cap_mb. */
    public static final long DEFAULT_BUCKET_BYTES = 25L << 20;

    private final ProcessGroup group;
    private MemorySegment handle;

    private GradientSync(ProcessGroup group, MemorySegment handle) {
        this.group = group;
        this.handle = handle;
    }

    /** Parameters in {@code params}' iteration order, which must be the same on every rank. */
    public static GradientSync create(ProcessGroup group, Map<String, Tensor> params, long bucketBytes) {
        if (params.isEmpty()) throw new IllegalArgumentException("gradient sync: no trainable parameters");
        checkSameParameters(group, params);
        Tensor[] ts = params.values().toArray(Tensor[]::new);
        try (Guard g = Guard.noGrad()) {
            for (Tensor t : ts) group.broadcast(t, 0);
        }
        MemorySegment h = NativeAccess.check(xft_ddp_new(group.handle(), NativeAccess.handles(ts), ts.length, bucketBytes),
                "gradient sync");
        return new GradientSync(group, h);
    }

    // Different names, order or shapes would pair up unrelated gradients silently; compare a
    // fingerprint (its max and min over ranks agree only when every rank has the same one).
    private static void checkSameParameters(ProcessGroup group, Map<String, Tensor> params) {
        long h = 1125899906842597L;
        for (var e : params.entrySet()) {
            for (byte b : e.getKey().getBytes(StandardCharsets.UTF_8)) h = 31 * h + b;
            h = 31 * h + Arrays.hashCode(e.getValue().shape());
        }
        long fingerprint = h;
        long[] agreed = new long[2];
        for (int i = 0; i < 2; i++) {
            try (Tensor cpu = Torch.tensor(new long[] {fingerprint}, 1); Tensor t = cpu.to(group.device())) {
                group.allReduce(t, i == 0 ? ProcessGroup.Op.MAX : ProcessGroup.Op.MIN);
                agreed[i] = t.itemLong();
            }
        }
        if (agreed[0] != agreed[1])
            throw new IllegalStateException("gradient sync: rank " + group.rank()
                    + " and another rank hold different trainable parameters (names, order or shapes); "
                    + params.size() + " here");
    }

    /** Waits for every bucket and writes the averaged gradients. Call once after each backward. */
    public void finish() {
        NativeAccess.check(xft_ddp_finish(h()), "gradient sync on rank " + group.rank());
    }

    /**
     * Off: the following backwards only accumulate (the micro-batches of gradient accumulation
     * before the last, DDP's no_sync); on (the default): the next backward all-reduces as it goes.
     * finish() averages everything accumulated since the last finish.
     */
    public void sync(boolean on) {
        NativeAccess.check(xft_ddp_set_sync(h(), on ? 1 : 0), "gradient sync");
    }

    public int bucketCount() {
        return (int) xft_ddp_bucket_count(h());
    }

    private MemorySegment h() {
        if (handle == null) throw new IllegalStateException("gradient sync used after close()");
        return handle;
    }

    /** Removes the hooks. */
    @Override
    public void close() {
        if (handle != null) {
            xft_ddp_free(handle);
            handle = null;
        }
    }
}
