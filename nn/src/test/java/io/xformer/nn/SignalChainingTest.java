package io.xformer.nn;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * libtorch 2.x links OpenMPI -> UCX, whose SIGSEGV handler, installed when the library loads,
 * takes the JVM's routine SIGSEGVs (implicit null checks, safepoint polls) and, in 8 of 10 runs
 * of the suite on Debian 13, killed the JVM. libxft is always loaded inside
 * {@link io.xformer.bindings.SignalGuard}, which puts the JVM's handlers back. Driven on purpose
 * here: a load that resets SIGSEGV to its default action kills an unguarded JVM for certain and
 * leaves a guarded one alive; UCX's own libucs (UCX_HANDLE_ERRORS=bt, its default) catches the
 * JVM's SIGSEGVs when loaded plainly and never sees one when loaded through the guard.
 */
class SignalChainingTest {
    static final List<Path> UCS = List.of(Path.of("/usr/lib/x86_64-linux-gnu/libucs.so.0"),
            Path.of("/usr/lib/aarch64-linux-gnu/libucs.so.0"));
    static final String UCX_CAUGHT = "Caught signal 11";

    record Run(int exit, String output) {}

    static Run child(String hostile, String mode) throws Exception {
        Path dir = Files.createTempDirectory("signals");
        Path log = dir.resolve(mode + ".log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                "-XX:ErrorFile=" + dir.resolve("hs_err.log"), "-Dxft.library=" + System.getProperty("xft.library"),
                "-cp", System.getProperty("java.class.path"), SignalStress.class.getName(), hostile, mode, "3");
        pb.environment().put("UCX_HANDLE_ERRORS", "bt");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("child JVM hung");
        }
        return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }

    @Test
    void aLoadThatTakesSigsegvKillsAnUnguardedJvmButNotAGuardedOne() throws Exception {
        Run bad = child("default", "unguarded"), good = child("default", "guarded");
        System.out.println("SignalChainingTest: SIGSEGV reset during a load: unguarded exit " + bad.exit() + ", guarded exit " + good.exit());
        assertNotEquals(0, bad.exit(), "without the guard the JVM should have died at its first SIGSEGV:\n" + bad.output());
        assertEquals(0, good.exit(), "the guarded JVM died:\n" + good.output());
        assertTrue(good.output().contains("survived"), good.output());
    }

    @Test
    void ucxNeverSeesTheJvmsSignalsWhenLoadedThroughTheGuard() throws Exception {
        Path lib = UCS.stream().filter(Files::isRegularFile).findFirst().orElse(null);
        assumeTrue(lib != null, "UCX (libucx0) is not installed (./test installs it): no UCX to drive the mechanism with");
        Run bad = child(lib.toString(), "unguarded"), good = child(lib.toString(), "guarded");
        System.out.println("SignalChainingTest: libucs: unguarded exit " + bad.exit() + " (UCX caught a JVM SIGSEGV: "
                + bad.output().contains(UCX_CAUGHT) + "), guarded exit " + good.exit());
        assertTrue(bad.exit() != 0 || bad.output().contains(UCX_CAUGHT),
                "loaded plainly, UCX's handler should have taken one of the JVM's SIGSEGVs:\n" + bad.output());
        assertEquals(0, good.exit(), "the guarded JVM died:\n" + good.output());
        assertFalse(good.output().contains(UCX_CAUGHT), "UCX's handler ran in the guarded JVM:\n" + good.output());
    }
}
