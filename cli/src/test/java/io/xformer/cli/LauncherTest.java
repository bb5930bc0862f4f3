package io.xformer.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** --nproc: workers get torchrun's variables, output is prefixed by rank, a failed worker stops the job. */
class LauncherTest {
    private static List<String> worker(String mode) {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp", System.getProperty("java.class.path")));
        String lib = System.getProperty("xft.library");
        if (lib != null && !lib.isBlank()) cmd.add("-Dxft.library=" + lib);
        cmd.addAll(List.of(LaunchedWorker.class.getName(), mode));
        return cmd;
    }

    private record Outcome(int code, String output, double seconds) {}

    private static Outcome launch(String mode) throws Exception {
        var bytes = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        int code;
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            code = Launcher.launch(new Launcher.Spec(2, 1, 0, "127.0.0.1", null), worker(mode), out);
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        System.out.println(text);
        return new Outcome(code, text, (System.nanoTime() - t0) / 1e9);
    }

    @Test
    void workersFormOneJobAndTheirOutputIsPrefixedByRank() throws Exception {
        Outcome o = launch("ok");
        assertEquals(0, o.code(), o.output());
        assertTrue(o.output().contains("[rank 0] local 0/2 sum 3.0"), o.output());
        assertTrue(o.output().contains("[rank 1] local 1/2 sum 3.0"), o.output());
    }

    @Test
    void aFailedWorkerStopsTheOthersAndNamesItsRank() throws Exception {
        Outcome o = launch("exit3");
        assertEquals(3, o.code(), o.output());
        assertTrue(o.output().contains("xformer: error: rank 1 (pid "), o.output());
        assertTrue(o.output().contains("exited with code 3; stopping the other workers"), o.output());
        assertTrue(o.seconds() < 40, o.seconds() + " s");
    }

    @Test
    void aKilledWorkerStopsTheJob() throws Exception {
        Outcome o = launch("kill9");
        assertEquals(1, o.code(), o.output());
        assertTrue(o.output().contains("rank 1 (pid ") && o.output().contains("was killed by signal 9"), o.output());
    }

    @Test
    void aPortInUseIsAClearError() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            var spec = new Launcher.Spec(2, 1, 0, "127.0.0.1", taken.getLocalPort());
            var e = assertThrows(IllegalArgumentException.class, () -> Launcher.launch(spec, worker("ok"), System.out));
            assertTrue(e.getMessage().contains("--master-port " + taken.getLocalPort() + " is already in use"), e.getMessage());
        }
    }

    @Test
    void workersReadTheStartUpCacheButNeverWriteIt() {
        List<String> first = List.of("-XX:AOTMode=record", "-XX:AOTConfiguration=/r/cds/train.7.aotconf",
                "-Dxformer.aot.ok=/r/cds/train.7.aotconf.ok", "-XX:+DisplayVMOutputToStderr",
                "--enable-native-access=ALL-UNNAMED", "-XX:+AutoCreateSharedArchive", "-XX:SharedArchiveFile=/r/cds/train.jsa", "-Dxft.library=/r/libxft.so");
        assertEquals(List.of("-XX:+DisplayVMOutputToStderr", "--enable-native-access=ALL-UNNAMED", "-Dxft.library=/r/libxft.so"),
                Launcher.childJvmOptions(first));
        List<String> later = List.of("-XX:AOTCache=/r/cds/train-1-2.aot", "-Xlog:aot*=off", "-Xmx4g");
        assertEquals(later, Launcher.childJvmOptions(later));
    }

    @Test
    void launcherOptionsAreNotPassedToWorkers() {
        assertEquals(List.of("train", "--config", "c.json", "--max-steps", "5"), Launcher.withoutOwnOptions(
                List.of("train", "--nproc", "2", "--config", "c.json", "--master-port=2950", "--max-steps", "5", "--nnodes", "1")));
        assertThrows(IllegalArgumentException.class, () -> new Launcher.Spec(2, 2, 0, "127.0.0.1", 29500));
        assertThrows(IllegalArgumentException.class, () -> new Launcher.Spec(2, 2, 2, "10.0.0.1", 29500));
        assertThrows(IllegalArgumentException.class, () -> new Launcher.Spec(2, 2, 1, "10.0.0.1", null));
    }
}
