package io.xformer.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Environment defaults that libraries under libtorch read once, in their constructors, so they
 * must be in the process environment (libc's, not Java's copy) before libxft loads. A value the
 * user set always wins.
 */
public final class NativeEnv {
    /**
     * OMP_WAIT_POLICY=PASSIVE: idle OpenMP workers sleep instead of spinning; spinning workers
     * made a 79 ms CPU step take 2 s when other processes shared the cores.
     * OPENBLAS_THREAD_TIMEOUT=4: OpenBLAS's own workers go to sleep after 2^4 cycles, the
     * same thing for Debian's OpenBLAS pool.
     * UCX_HANDLE_ERRORS=none: UCX (under libtorch 2.x's OpenMPI) installs no fatal-signal handlers.
     */
    public static final Map<String, String> DEFAULTS = defaults();

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SETENV = LINKER.downcallHandle(LINKER.defaultLookup().find("setenv").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle GETENV = LINKER.downcallHandle(LINKER.defaultLookup().find("getenv").orElseThrow(),
            FunctionDescriptor.of(ADDRESS, ADDRESS));

    private NativeEnv() {}

    private static Map<String, String> defaults() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("OMP_WAIT_POLICY", "PASSIVE");
        m.put("OPENBLAS_THREAD_TIMEOUT", "4");
        m.put("UCX_HANDLE_ERRORS", "none");
        return Map.copyOf(m);
    }

    /** Sets every default the environment does not already have. */
    public static void applyDefaults() {
        DEFAULTS.forEach(NativeEnv::setIfUnset);
    }

    /** The process environment's value (what native code sees), or null. */
    public static String get(String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = (MemorySegment) GETENV.invokeExact(arena.allocateFrom(name));
            return v.address() == 0 ? null : v.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException("getenv(" + name + ") failed", t);
        }
    }

    public static void setIfUnset(String name, String value) {
        // Arena.ofConfined: setenv copies both strings.
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) SETENV.invokeExact(arena.allocateFrom(name), arena.allocateFrom(value), 0);
            if (rc != 0) throw new IllegalStateException("setenv(" + name + ") returned " + rc);
        } catch (IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("setenv(" + name + ") failed", t);
        }
    }
}
