package io.xformer.nn;

import static io.xformer.bindings.xft.xft_h.*;

import io.xformer.bindings.NativeEnv;

/**
 * The process's CPU thread budget, applied once when libxft loads: libtorch's intra-op pool,
 * its inter-op pool, OpenBLAS's own pool and the waiting policy of all of them.
 *
 * <p>Default: intra-op = BLAS = the available cores less one (the core left over serves the data
 * loader, the JVM and whatever else shares the machine), inter-op = 1 (nothing here uses
 * inter-op parallelism), and idle workers sleep instead of spinning ({@link NativeEnv}).
 * Measured on 2 cores (tiny stage-1 step): with 2 threads, spinning workers made a step 26x
 * slower than one thread when two other processes shared the cores, and sleeping workers
 * still 6x (each parallel op waits for a worker the scheduler has not woken); even idle, 2
 * threads were slower than one (101 vs 69 ms), while a mid-size step gained 20% from them.
 * {@code XFT_NUM_THREADS} (or {@code OMP_NUM_THREADS}) overrides the intra-op and BLAS counts,
 * {@code XFT_BLAS_THREADS} the BLAS count alone, {@code OMP_WAIT_POLICY} the policy.
 */
public final class Threads {
    /** intraOp/interOp/blas: pool sizes (blas 0: the BLAS is not OpenBLAS); source: where intraOp came from. */
    public record Budget(int intraOp, int interOp, int blas, String waitPolicy, String source) {
        @Override
        public String toString() {
            return "threads: intra-op " + intraOp + ", inter-op " + interOp + ", BLAS " + (blas > 0 ? blas : "n/a")
                    + ", wait policy " + waitPolicy + " (" + source + ")";
        }
    }

    private static volatile Budget applied;

    private Threads() {}

    static synchronized Budget apply() {
        int cores = Runtime.getRuntime().availableProcessors();
        String xft = System.getenv("XFT_NUM_THREADS"), omp = System.getenv("OMP_NUM_THREADS");
        int intra;
        String source;
        if (xft != null && !xft.isBlank()) {
            intra = parse("XFT_NUM_THREADS", xft);
            source = "XFT_NUM_THREADS";
        } else if (omp != null && !omp.isBlank()) {
            intra = parse("OMP_NUM_THREADS", omp);
            source = "OMP_NUM_THREADS";
        } else {
            intra = Math.max(1, cores - 1);
            source = "default: " + cores + " cores less one";
        }
        Native.check(xft_set_num_threads(intra), "set_num_threads");
        // Possible only before libtorch's first inter-op work; should that already have run, the
        // pool keeps its size, which the budget then reports.
        xft_set_num_interop_threads(1);
        String blasEnv = System.getenv("XFT_BLAS_THREADS");
        int blas = xft_blas_threads(blasEnv != null && !blasEnv.isBlank() ? parse("XFT_BLAS_THREADS", blasEnv) : intra);
        String policy = NativeEnv.get("OMP_WAIT_POLICY");
        applied = new Budget(xft_get_num_threads(), xft_get_num_interop_threads(), Math.max(0, blas),
                policy == null ? "default" : policy, source);
        return applied;
    }

    private static int parse(String name, String value) {
        try {
            int n = Integer.parseInt(value.strip());
            if (n >= 1) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(name + "=" + value + ": expected a thread count >= 1");
    }

    /** The budget in force (libxft is loaded on first use). */
    public static Budget budget() {
        Native.init();
        return applied;
    }

    /** Changes the intra-op and BLAS pool sizes (tests, benchmarks); returns the new budget. */
    public static synchronized Budget set(int n) {
        Native.init();
        Native.check(xft_set_num_threads(n), "set_num_threads");
        int blas = xft_blas_threads(n);
        applied = new Budget(xft_get_num_threads(), applied.interOp(), Math.max(0, blas), applied.waitPolicy(), "set to " + n);
        return applied;
    }
}
