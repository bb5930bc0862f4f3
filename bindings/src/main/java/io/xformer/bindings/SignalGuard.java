package io.xformer.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps the JVM's signal handlers first across the loading of native libraries.
 *
 * <p>HotSpot raises SIGSEGV on purpose (implicit null checks, safepoint polls) and expects its
 * own handler to see it. Libraries that libtorch 2.x pulls in can install fatal-signal handlers
 * from their constructors: Debian 13's libtorch links OpenMPI -> UCX, whose handler turns the
 * JVM's routine SIGSEGVs into a crash ("sent by kill"). This class reads every signal's
 * disposition with libc's {@code sigaction} before a load and puts back any that the load
 * changed, so whoever starts the JVM (launcher, Surefire, an embedding application) needs no
 * {@code LD_PRELOAD} of libjsig. ({@link NativeEnv} also asks UCX not to install them at all.)
 */
public final class SignalGuard {
    // struct sigaction is 152 bytes on x86_64 glibc, 152 on aarch64; a larger buffer is harmless.
    private static final long SIGACTION_BYTES = 512;
    private static final int MAX_SIGNAL = 31;
    private static final int SIGKILL = 9, SIGSTOP = 19;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SIGACTION = LINKER.downcallHandle(
            LINKER.defaultLookup().find("sigaction").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));

    private SignalGuard() {}

    /** Runs {@code load} (a System.load) and restores every signal disposition it changed; returns their numbers. */
    public static List<Integer> around(Runnable load) {
        // Arena.ofConfined: the saved dispositions live only for this call.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] saved = new MemorySegment[MAX_SIGNAL + 1];
            for (int sig = 1; sig <= MAX_SIGNAL; sig++) {
                if (sig == SIGKILL || sig == SIGSTOP) continue;
                MemorySegment buf = arena.allocate(SIGACTION_BYTES);
                if (sigaction(sig, MemorySegment.NULL, buf) == 0) saved[sig] = buf;
            }
            load.run();
            List<Integer> restored = new ArrayList<>();
            MemorySegment now = arena.allocate(SIGACTION_BYTES);
            for (int sig = 1; sig <= MAX_SIGNAL; sig++) {
                if (saved[sig] == null) continue;
                now.fill((byte) 0);
                if (sigaction(sig, MemorySegment.NULL, now) != 0) continue;
                if (now.mismatch(saved[sig]) == -1) continue;
                if (sigaction(sig, saved[sig], MemorySegment.NULL) == 0) restored.add(sig);
            }
            if (!restored.isEmpty() && System.getenv("XFORMER_DEBUG") != null)
                System.err.println("xformer: restored the JVM's handlers of signals " + restored + " after loading native code");
            return restored;
        }
    }

    private static int sigaction(int sig, MemorySegment act, MemorySegment old) {
        try {
            return (int) SIGACTION.invokeExact(sig, act, old);
        } catch (Throwable t) {
            throw new IllegalStateException("sigaction(" + sig + ") failed", t);
        }
    }
}
