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
 * kills the JVM at its first routine SIGSEGV. This drives that mechanism on purpose with UCX's
 * own libucs and UCX_HANDLE_ERRORS=bt (its default): loaded plainly, the JVM must die;
 * loaded through {@link io.xformer.bindings.SignalGuard} (as libxft always is), it must live.
 */
class SignalChainingTest {
    static final List<Path> UCS = List.of(Path.of("/usr/lib/x86_64-linux-gnu/libucs.so.0"),
            Path.of("/usr/lib/aarch64-linux-gnu/libucs.so.0"));

    static Path libucs() {
        return UCS.stream().filter(Files::isRegularFile).findFirst().orElse(null);
    }

    static Process child(Path lib, String mode, Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                "-XX:ErrorFile=" + log.getParent().resolve("hs_err_" + mode + ".log"),
                "-Dxft.library=" + System.getProperty("xft.library"), "-cp", System.getProperty("java.class.path"),
                SignalStress.class.getName(), lib.toString(), mode, "4");
        pb.environment().put("UCX_HANDLE_ERRORS", "bt");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        return pb.start();
    }

    static int waitFor(Process p) throws InterruptedException {
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("child JVM hung");
        }
        return p.exitValue();
    }

    @Test
    void ucxHandlersKillAnUnguardedJvmButNotAGuardedOne() throws Exception {
        Path lib = libucs();
        assumeTrue(lib != null, "UCX (libucx0) is not installed: ./test installs it; nothing to drive the mechanism with");
        Path dir = Files.createTempDirectory("signals");
        Path bad = dir.resolve("unguarded.log"), good = dir.resolve("guarded.log");
        int unguarded = waitFor(child(lib, "unguarded", bad));
        int guarded = waitFor(child(lib, "guarded", good));
        String badOut = Files.readString(bad, StandardCharsets.UTF_8), goodOut = Files.readString(good, StandardCharsets.UTF_8);
        System.out.println("SignalChainingTest: unguarded exit " + unguarded + ", guarded exit " + guarded);
        assertNotEquals(0, unguarded, "without the guard UCX's handler should have killed the JVM; output:\n" + badOut);
        assertEquals(0, guarded, "the guarded JVM died; output:\n" + goodOut);
        assertTrue(goodOut.contains("survived"), goodOut);
    }
}
