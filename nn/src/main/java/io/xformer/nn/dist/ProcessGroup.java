package io.xformer.nn.dist;

import static io.xformer.bindings.xft.xft_h.*;

import io.xformer.nn.Device;
import io.xformer.nn.NativeAccess;
import io.xformer.nn.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Optional;

/**
 * This process's membership of a distributed job over libtorch's c10d: a TCPStore that rank 0
 * hosts at MASTER_ADDR:MASTER_PORT, and a Gloo (CPU) or NCCL (CUDA) process group. Every
 * collective blocks until done and must be called by every rank in the same order. A failure
 * (a dead peer, a timeout) is a {@link io.xformer.nn.TorchException} whose message names this
 * rank and the rank that stopped responding.
 */
public final class ProcessGroup implements Collectives, AutoCloseable {
    public enum Backend {
        GLOO, NCCL;

        /** Gloo for CPU tensors, NCCL for CUDA ones. */
        public static Backend forDevice(Device device) {
            return device.isCuda() ? NCCL : GLOO;
        }
    }

    public enum Op {
        SUM, AVG, MAX, MIN;

        int code() {
            return switch (this) {
                case SUM -> XFT_DIST_SUM();
                case AVG -> XFT_DIST_AVG();
                case MAX -> XFT_DIST_MAX();
                case MIN -> XFT_DIST_MIN();
            };
        }
    }

    /** torch.distributed's default collective timeout. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

    private final DistEnv env;
    private final Backend backend;
    private MemorySegment store;
    private MemorySegment group;

    private ProcessGroup(DistEnv env, Backend backend, MemorySegment store, MemorySegment group) {
        this.env = env;
        this.backend = backend;
        this.store = store;
        this.group = group;
    }

    /**
     * Joins the job: rank 0 hosts the store, everyone connects and meets its peers. Fails
     * within {@code timeout} when a peer never arrives, at once when the port is taken.
     */
    public static ProcessGroup init(DistEnv env, Backend backend, Duration timeout) {
        NativeAccess.ensureLoaded();
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        if (backend == Backend.NCCL && xft_dist_has_nccl() == 0)
            throw new IllegalArgumentException("NCCL requested, but libxft was built against a libtorch without CUDA/NCCL");
        long ms = timeout.toMillis();
        MemorySegment store;
        try (Arena a = Arena.ofConfined()) {
            store = NativeAccess.check(xft_store_new(a.allocateFrom(env.masterAddr()), env.masterPort(), env.rank() == 0 ? 1 : 0,
                    env.worldSize(), ms), "rank " + env.rank() + " rendezvous");
        }
        int code = backend == Backend.GLOO ? XFT_DIST_GLOO() : XFT_DIST_NCCL();
        MemorySegment group = xft_dist_new(store, env.rank(), env.worldSize(), code, env.localRank(), ms);
        if (group.address() == 0) {
            var e = NativeAccess.error("rank " + env.rank() + " process group");
            xft_store_free(store);
            throw e;
        }
        return new ProcessGroup(env, backend, store, group);
    }

    /** The job in the torchrun variables, if they are set (see {@link DistEnv#fromEnvironment}). */
    public static Optional<ProcessGroup> fromEnvironment(Device device, Duration timeout) {
        return DistEnv.fromEnvironment(System.getenv()).map(e -> init(e, Backend.forDevice(device), timeout));
    }

    @Override
    public int rank() {
        return env.rank();
    }

    @Override
    public int worldSize() {
        return env.worldSize();
    }

    public int localRank() {
        return env.localRank();
    }

    public DistEnv env() {
        return env;
    }

    public Backend backend() {
        return backend;
    }

    /** Where this group's tensors live: the CPU for Gloo, the LOCAL_RANK-th GPU for NCCL. */
    public Device device() {
        return backend == Backend.NCCL ? Device.cuda(env.localRank()) : Device.CPU;
    }

    /** Rank 0, the one that logs and writes files. */
    public boolean isMain() {
        return env.rank() == 0;
    }

    MemorySegment handle() {
        MemorySegment g = group;
        if (g == null) throw new IllegalStateException("process group used after close()");
        return g;
    }

    /** In place: every rank ends with the reduction of everyone's {@code t}. */
    @Override
    public void allReduce(Tensor t, Op op) {
        NativeAccess.check(xft_dist_all_reduce(handle(), NativeAccess.handle(t, "tensor"), op.code()), "distributed");
    }

    /** In place: every rank ends with rank {@code root}'s {@code t}. */
    public void broadcast(Tensor t, int root) {
        NativeAccess.check(xft_dist_broadcast(handle(), NativeAccess.handle(t, "tensor"), root), "distributed");
    }

    /** (B, ...) on every rank -> (worldSize * B, ...) in rank order, without gradient. */
    @Override
    public Tensor allGather(Tensor t) {
        return NativeAccess.wrap(xft_dist_all_gather(handle(), NativeAccess.handle(t, "tensor")), "distributed");
    }

    /**
     * As {@link #allGather}, but differentiable as LAVIS's GatherLayer: the gradient of the
     * result is summed over ranks and each rank's {@code t} receives its own rows of it.
     */
    @Override
    public Tensor allGatherWithGrad(Tensor t) {
        return NativeAccess.wrap(xft_dist_all_gather_with_grad(handle(), NativeAccess.handle(t, "tensor")), "distributed");
    }

    public void barrier() {
        NativeAccess.check(xft_dist_barrier(handle()), "distributed");
    }

    /** Leaves the job (no collective: peers may already be gone). Idempotent. */
    @Override
    public void close() {
        if (group != null) {
            xft_dist_free(group);
            group = null;
        }
        if (store != null) {
            xft_store_free(store);
            store = null;
        }
    }
}
