package io.xformer.cli;

import io.xformer.nn.Threads;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs the shared PyTorch reference step (../shared/bench/pytorch_stage1_cpu.py) and reads its figures. */
final class PyTorchReference {
    /** One run: per-step times, the first step's losses when printed, the whole process's wall time. */
    record Run(double[] stepMs, Map<String, Double> firstLosses, double processSeconds, String header) {}

    private static final Pattern LOSSES = Pattern.compile(
            "step (-?\\d+) losses itc (\\S+) itm (\\S+) itg (\\S+) rec (\\S+) total (\\S+)");

    private final String python;
    private final Path script;

    PyTorchReference(String python, Path script) {
        this.python = python;
        this.script = script;
    }

    /** Why the reference cannot run here, or null when it can. */
    String unavailable() {
        if (!Files.isRegularFile(script))
            return "the PyTorch reference script " + script + " is not there (--pytorch-script FILE)";
        try {
            Process p = new ProcessBuilder(python, "-c", "import torch; print(torch.__version__)").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0)
                return python + " cannot import torch (apt-get install -y python3-torch): " + lastLine(out);
        } catch (IOException e) {
            return python + " cannot be started: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
        return null;
    }

    String torchVersion() throws IOException, InterruptedException {
        Process p = new ProcessBuilder(python, "-c", "import torch; print(torch.__version__)").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        p.waitFor();
        return lastLine(out);
    }

    /**
     * Runs the reference under this JVM's thread budget: libtorch's pool through {@code --threads}
     * in {@code args}, OpenBLAS's own pool here. torch.set_num_threads leaves OpenBLAS alone, so
     * without OPENBLAS_NUM_THREADS the reference's matrix products ran on every core while Java's
     * ran on the budget's count (mid, 2 cores: 863 ms/step against 935 with one BLAS thread).
     */
    Run run(List<String> args, Threads.Budget budget) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(python, script.toString()));
        cmd.addAll(args);
        long t0 = System.nanoTime();
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        var env = pb.environment();
        env.put("OMP_NUM_THREADS", "" + budget.intraOp());
        // the JVM's BLAS count, or its libtorch count when that BLAS is not OpenBLAS (a Python torch may use it)
        env.put("OPENBLAS_NUM_THREADS", "" + (budget.blas() > 0 ? budget.blas() : budget.intraOp()));
        if (!budget.waitPolicy().equals("default")) env.put("OMP_WAIT_POLICY", budget.waitPolicy());
        env.putIfAbsent("OPENBLAS_THREAD_TIMEOUT", "4");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        double secs = (System.nanoTime() - t0) / 1e9;
        if (rc != 0) throw new IOException("PyTorch reference failed (exit " + rc + "): " + String.join(" ", cmd) + "\n" + out);
        double[] ms = null;
        Map<String, Double> losses = null;
        String header = "";
        for (String line : out.split("\n")) {
            String l = line.trim();
            if (l.startsWith("pytorch_stage1_cpu:")) header = l;
            if (l.startsWith("per-step ms:")) {
                String[] f = l.substring("per-step ms:".length()).trim().split("\\s+");
                ms = new double[f.length];
                for (int i = 0; i < f.length; i++) ms[i] = Double.parseDouble(f[i]);
            }
            Matcher m = LOSSES.matcher(l);
            if (losses == null && m.find()) {
                losses = new LinkedHashMap<>();
                String[] names = {"itc", "itm", "itg", "rec", "total"};
                for (int i = 0; i < names.length; i++) losses.put(names[i], Double.parseDouble(m.group(i + 2)));
            }
        }
        if (ms == null) throw new IOException("PyTorch reference printed no per-step times:\n" + out);
        return new Run(ms, losses, secs, header);
    }

    private static String lastLine(String s) {
        String[] l = s.strip().split("\n");
        return l[l.length - 1];
    }
}
