package io.xformer.nn.dist;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** Starts {@link DistWorker} ranks as separate JVMs on the loopback and collects their output. */
final class Ranks implements AutoCloseable {
    final List<Process> processes = new ArrayList<>();
    final List<List<String>> lines = new ArrayList<>();

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static Ranks start(String scenario, int world, long timeoutMillis) throws IOException {
        Ranks r = new Ranks();
        int port = freePort();
        String java = ProcessHandle.current().info().command().orElse("java");
        for (int rank = 0; rank < world; rank++) {
            List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m",
                    "-cp", System.getProperty("java.class.path")));
            String lib = System.getProperty("xft.library");
            if (lib != null && !lib.isBlank()) cmd.add("-Dxft.library=" + lib);
            cmd.addAll(List.of(DistWorker.class.getName(), scenario, String.valueOf(rank), String.valueOf(world),
                    String.valueOf(port), String.valueOf(timeoutMillis)));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("XFT_NUM_THREADS", "1");
            Process p = pb.start();
            List<String> out = new CopyOnWriteArrayList<>();
            Thread.ofVirtual().start(() -> {
                try (var in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String l; (l = in.readLine()) != null; ) out.add(l);
                } catch (IOException ignored) {
                    // the process is gone
                }
            });
            r.processes.add(p);
            r.lines.add(out);
        }
        return r;
    }

    /** Waits for rank's exit; returns its exit code (or throws after the limit). */
    int await(int rank, long seconds) throws InterruptedException {
        Process p = processes.get(rank);
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) throw new AssertionError("rank " + rank + " still running after " + seconds + " s\n" + log());
        Thread.sleep(100);  // let the reader drain
        return p.exitValue();
    }

    void awaitLine(int rank, String line, long seconds) throws InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (!lines.get(rank).contains(line)) {
            if (System.nanoTime() > end || !processes.get(rank).isAlive())
                throw new AssertionError("rank " + rank + " never printed '" + line + "'\n" + log());
            Thread.sleep(50);
        }
    }

    String log() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) for (String l : lines.get(i)) b.append("[rank ").append(i).append("] ").append(l).append('\n');
        return b.toString();
    }

    @Override
    public void close() {
        for (Process p : processes) p.destroyForcibly();
    }
}
