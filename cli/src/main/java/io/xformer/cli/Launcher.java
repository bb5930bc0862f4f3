package io.xformer.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code --nproc N}: starts N local workers running the same command, each one rank of the job,
 * described to it by torchrun's variables. Forwards their output prefixed by rank; when a
 * worker fails, stops the others and returns non-zero, naming the rank.
 */
final class Launcher {
    /** The launch options; the world is nproc * nnodes ranks, this node's are node_rank * nproc + i. */
    record Spec(int nproc, int nnodes, int nodeRank, String masterAddr, Integer masterPort) {
        Spec {
            if (nproc < 1) throw new IllegalArgumentException("--nproc must be >= 1, got " + nproc);
            if (nnodes < 1) throw new IllegalArgumentException("--nnodes must be >= 1, got " + nnodes);
            if (nodeRank < 0 || nodeRank >= nnodes)
                throw new IllegalArgumentException("--node-rank " + nodeRank + " is not in 0.." + (nnodes - 1));
            if (nnodes > 1 && masterPort == null)
                throw new IllegalArgumentException("--nnodes " + nnodes + " needs --master-port (the same on every node)");
            if (nnodes > 1 && isLoopback(masterAddr))
                throw new IllegalArgumentException("--nnodes " + nnodes + " needs --master-addr: node 0's address reachable from every node");
            if (masterPort != null && (masterPort < 1 || masterPort > 65535))
                throw new IllegalArgumentException("--master-port " + masterPort + " is not in 1..65535");
        }
    }

    /** Options the launcher consumes; workers get the rest of the command line. */
    static final List<String> OWN_OPTIONS = List.of("--nproc", "--nnodes", "--node-rank", "--master-addr", "--master-port");

    private static final long GRACE_SECONDS = 5;

    private Launcher() {}

    static boolean isLoopback(String addr) {
        return addr.equals("localhost") || addr.startsWith("127.") || addr.equals("::1");
    }

    /** This JVM's own command (java, its options, classpath, main class) with {@code args}, minus launcher options. */
    static List<String> sameJavaCommand(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java"));
        cmd.addAll(childJvmOptions(ManagementFactory.getRuntimeMXBean().getInputArguments()));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(withoutOwnOptions(args));
        return cmd;
    }

    /**
     * This JVM's options for a worker JVM, less those that write a class-data archive or an AOT
     * cache (./xformer's first run of a command): workers writing one file at once would corrupt
     * it. Reading an existing cache ({@code -XX:AOTCache}) is kept.
     */
    static List<String> childJvmOptions(List<String> options) {
        List<String> out = new ArrayList<>();
        for (String o : options) {
            if (o.startsWith("-XX:AOTMode=") || o.startsWith("-XX:AOTConfiguration=") || o.startsWith("-XX:AOTCacheOutput=")
                    || o.equals("-XX:+AutoCreateSharedArchive") || o.startsWith("-XX:SharedArchiveFile=")
                    || o.startsWith("-XX:ArchiveClassesAtExit=") || o.startsWith("-Dxformer.aot.ok=")) continue;
            out.add(o);
        }
        return out;
    }

    static List<String> withoutOwnOptions(List<String> args) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            if (OWN_OPTIONS.contains(name)) {
                if (!a.contains("=")) i++;  // skip the value
                continue;
            }
            out.add(a);
        }
        return out;
    }

    /** A port nobody listens on now (the OS's choice), or a clear error when {@code port} is taken. */
    static int checkPort(String addr, Integer port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(isLoopback(addr) ? InetAddress.getLoopbackAddress() : null, port == null ? 0 : port));
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalArgumentException("--master-port " + port + " is already in use on this machine ("
                    + e.getMessage() + "); choose another port or leave --master-port out for a free one");
        }
    }

    /** Runs the workers to the end; the exit code is 0 when every worker succeeded. */
    static int launch(Spec spec, List<String> command, PrintStream out) throws InterruptedException {
        int world = spec.nproc() * spec.nnodes();
        int port = spec.nodeRank() == 0 ? checkPort(spec.masterAddr(), spec.masterPort()) : spec.masterPort();
        out.printf("xformer: launching %d workers (ranks %d..%d of %d), master %s:%d%n", spec.nproc(),
                spec.nodeRank() * spec.nproc(), (spec.nodeRank() + 1) * spec.nproc() - 1, world, spec.masterAddr(), port);
        List<Process> workers = new ArrayList<>();
        List<Thread> pumps = new ArrayList<>();
        Thread stopOnExit = new Thread(() -> stopAll(workers));
        Runtime.getRuntime().addShutdownHook(stopOnExit);
        try {
            for (int i = 0; i < spec.nproc(); i++) {
                int rank = spec.nodeRank() * spec.nproc() + i;
                ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
                Map<String, String> env = pb.environment();
                env.put("RANK", String.valueOf(rank));
                env.put("LOCAL_RANK", String.valueOf(i));
                env.put("WORLD_SIZE", String.valueOf(world));
                env.put("LOCAL_WORLD_SIZE", String.valueOf(spec.nproc()));
                env.put("MASTER_ADDR", spec.masterAddr());
                env.put("MASTER_PORT", String.valueOf(port));
                // The cores are shared: each worker's libtorch pool gets its share unless the user chose.
                if (System.getenv("OMP_NUM_THREADS") == null && System.getenv("XFT_NUM_THREADS") == null)
                    env.put("XFT_NUM_THREADS", String.valueOf(Math.max(1, Runtime.getRuntime().availableProcessors() / spec.nproc())));
                Process p;
                try {
                    p = pb.start();
                } catch (IOException e) {
                    throw new IllegalStateException("cannot start worker " + rank + ": " + e.getMessage(), e);
                }
                workers.add(p);
                pumps.add(Thread.ofPlatform().daemon().start(() -> pump(p, rank, out)));
            }
            return supervise(workers, spec.nodeRank() * spec.nproc(), pumps, out);
        } finally {
            stopAll(workers);
            try {
                Runtime.getRuntime().removeShutdownHook(stopOnExit);
            } catch (IllegalStateException ignored) {
                // already shutting down
            }
        }
    }

    private static void pump(Process p, int rank, PrintStream out) {
        try (var in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                synchronized (out) {
                    out.println("[rank " + rank + "] " + line);
                }
            }
        } catch (IOException ignored) {
            // the worker is gone; its exit code tells the story
        }
    }

    // Waits until every worker ended well, or the first one failed: then stops the rest.
    private static int supervise(List<Process> workers, int firstRank, List<Thread> pumps, PrintStream out)
            throws InterruptedException {
        boolean[] done = new boolean[workers.size()];
        int remaining = workers.size();
        while (remaining > 0) {
            Thread.sleep(100);
            for (int i = 0; i < workers.size(); i++) {
                Process p = workers.get(i);
                if (done[i] || p.isAlive()) continue;
                done[i] = true;
                remaining--;
                int code = p.exitValue();
                if (code != 0) {
                    pumps.get(i).join(2000);
                    int rank = firstRank + i;
                    String how = code > 128 ? "was killed by signal " + (code - 128) : "exited with code " + code;
                    synchronized (out) {
                        out.printf("xformer: error: rank %d (pid %d) %s; stopping the other workers%n", rank, p.pid(), how);
                    }
                    stopAll(workers);
                    return code > 128 ? 1 : code;
                }
            }
        }
        for (Thread t : pumps) t.join(2000);
        return 0;
    }

    /** SIGTERM to every live worker, SIGKILL to those still alive after a grace period. */
    static void stopAll(List<Process> workers) {
        List<Process> live = workers.stream().filter(Process::isAlive).toList();
        live.forEach(Process::destroy);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(GRACE_SECONDS);
        for (Process p : live) {
            try {
                long left = end - System.nanoTime();
                if (left <= 0 || !p.waitFor(left, TimeUnit.NANOSECONDS)) p.destroyForcibly();
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
