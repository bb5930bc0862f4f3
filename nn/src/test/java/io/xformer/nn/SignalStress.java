package io.xformer.nn;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.bindings.SignalGuard;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Child-JVM workload of {@link SignalChainingTest}: takes the JVM's SIGSEGV handler away the way
 * a library constructor does, guarded by {@link SignalGuard} or not, then does what makes
 * HotSpot raise SIGSEGV on purpose: JIT-compiled implicit null checks that hit null, safepoints
 * forced by GC, Jackson parsing, and libtorch work on several threads.
 * Args: HOSTILE guarded|unguarded SECONDS, where HOSTILE is a library to load (UCX's libucs, as
 * libtorch 2.x's OpenMPI loads it) or "default" (SIGSEGV reset to the default action, which
 * kills the process at the first trap). Exit 0 when the JVM survived.
 */
public final class SignalStress {
    static final class Holder {
        int x = 1;
    }

    static int read(Holder h) {
        return h.x; // compiled as an implicit null check: a null h is a SIGSEGV the JVM turns into an NPE
    }

    static void resetSegvToDefault() {
        Linker linker = Linker.nativeLinker();
        MethodHandle sigaction = linker.downcallHandle(linker.defaultLookup().find("sigaction").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        // Arena.ofConfined: sigaction copies the struct; all zero = SIG_DFL, empty mask, no flags.
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) sigaction.invokeExact(11, arena.allocate(512), MemorySegment.NULL);
            if (rc != 0) throw new IllegalStateException("sigaction returned " + rc);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static void main(String[] args) throws Exception {
        Runnable hostile = args[0].equals("default") ? SignalStress::resetSegvToDefault : () -> System.load(Path.of(args[0]).toString());
        boolean guarded = args[1].equals("guarded");
        if (guarded) SignalGuard.around(hostile);
        else hostile.run();
        Torch.manualSeed(0); // loads libtorch (through the guarded loader)
        // Timed from here, and every loop runs at least once: on a loaded machine the set-up
        // alone can take longer than the whole duration.
        long until = System.nanoTime() + (long) (Double.parseDouble(args[2]) * 1e9);

        List<Thread> threads = new ArrayList<>();
        long[] npes = new long[4];
        for (int t = 0; t < 4; t++) {
            final int id = t;
            threads.add(Thread.ofPlatform().start(() -> {
                Holder h = new Holder();
                do {
                    for (int i = 0; i < 100_000; i++) {
                        try {
                            read(i % 5_000 == 0 ? null : h);
                        } catch (NullPointerException e) {
                            npes[id]++;
                        }
                    }
                } while (System.nanoTime() < until);
            }));
        }
        for (int t = 0; t < 2; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                do {
                    try (Scope s = Scope.open()) {
                        Tensor a = Torch.randn(64, 64);
                        a.matmul(a).sum().item();
                    }
                } while (System.nanoTime() < until);
            }));
        }
        threads.add(Thread.ofPlatform().start(() -> {
            ObjectMapper json = new ObjectMapper();
            do {
                try {
                    JsonNode n = json.readTree("{\"a\": [1, 2, {\"b\": \"c\"}], \"d\": {\"e\": 1.5}}");
                    if (n.path("a").size() != 3) throw new IllegalStateException("bad parse");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            } while (System.nanoTime() < until);
        }));
        do {
            System.gc(); // a safepoint: every running compiled loop takes a poll SIGSEGV
            Thread.sleep(5);
        } while (System.nanoTime() < until);
        for (Thread t : threads) t.join();
        long total = 0;
        for (long n : npes) total += n;
        if (total == 0) throw new IllegalStateException("no null-check trap was taken: the workload did not run");
        System.out.println("survived; null-check traps turned into NPEs: " + total);
    }
}
