package io.xformer.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `train --nproc 2` end to end: one metrics.jsonl; a worker killed with SIGKILL mid-run ends the
 * job non-zero, naming its rank, within the (short) collective timeout; the checkpoint from
 * before the kill resumes with --resume to exactly the uninterrupted run.
 */
class DistributedTrainCliTest {
    static final Path ROOT = Path.of(System.getProperty("xformer.root", "..")).toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    private record Run(int code, String out, double seconds) {}

    private Process start(Path log, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-Dxft.library=" + System.getProperty("xft.library"),
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private Run run(String name, String... args) throws Exception {
        Path log = tmp.resolve(name + ".log");
        long t0 = System.nanoTime();
        Process p = start(log, args);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), name + " still running");
        return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8), (System.nanoTime() - t0) / 1e9);
    }

    private Path config() throws Exception {
        Path data = tmp.resolve("synthetic");
        assertEquals(0, CliTest.run("make-synthetic", "--out", data.toString(), "--images", "40", "--size", "40").code());
        ObjectMapper json = new ObjectMapper();
        ObjectNode cfg = (ObjectNode) json.readTree(ROOT.resolve("configs/tiny.json").toFile());
        cfg.put("tokenizer", ROOT.resolve("test-data/hf-tiny/tokenizer-wordpiece/tokenizer.json").toString());
        ObjectNode d = cfg.putObject("data");
        d.putArray("train").addObject().put("annotations", data.resolve("captions_train.json").toString()).put("images", data.toString());
        ((ObjectNode) cfg.get("train")).put("batch_size", 4).put("checkpoint_every", 2).put("workers", 1);
        Path f = tmp.resolve("cfg.json");
        Files.writeString(f, cfg.toPrettyString());
        return f;
    }

    @Test
    void killedWorkerStopsTheJobAndTheRunResumesExactly() throws Exception {
        Path cfg = config();
        Path straight = tmp.resolve("straight"), killed = tmp.resolve("killed");
        Run ok = run("straight", "train", "--config", cfg.toString(), "--nproc", "2", "--max-steps", "16", "--output", straight.toString());
        assertEquals(0, ok.code(), ok.out());
        List<String> full = Files.readAllLines(straight.resolve("metrics.jsonl"));
        assertEquals(16, full.size(), "one metrics.jsonl with a row per step");
        assertTrue(ok.out().contains("[rank 0] trained 16 steps"), ok.out());

        Path log = tmp.resolve("killed.log");
        long t0 = System.nanoTime();
        Process launcher = start(log, "train", "--config", cfg.toString(), "--nproc", "2", "--max-steps", "16", "--output",
                killed.toString(), "--dist-timeout", "20");
        Path latest = killed.resolve("checkpoints/latest");
        while (launcher.isAlive() && !(Files.exists(latest) && Files.readString(latest).strip().compareTo("step-0000006") >= 0)) {
            assertTrue(System.nanoTime() - t0 < 240e9, "no checkpoint after 240 s");
            Thread.sleep(50);
        }
        List<ProcessHandle> workers = launcher.toHandle().children().toList();
        assertEquals(2, workers.size(), Files.readString(log));
        ProcessHandle victim = workers.get(1);
        long killedAt = System.nanoTime();
        new ProcessBuilder("kill", "-9", String.valueOf(victim.pid())).start().waitFor();
        assertTrue(launcher.waitFor(60, TimeUnit.SECONDS), "the launcher did not stop");
        double secs = (System.nanoTime() - killedAt) / 1e9;
        String out = Files.readString(log);
        System.out.println(out);
        assertNotEquals(0, launcher.exitValue(), out);
        Matcher m = Pattern.compile("xformer: error: rank (\\d) \\(pid " + victim.pid() + "\\) was killed by signal 9").matcher(out);
        assertTrue(m.find(), out);
        assertTrue(secs < 20, "took " + secs + " s");
        System.out.printf("kill -9 of rank %s: job ended after %.2f s%n", m.group(1), secs);
        workers.forEach(w -> assertFalse(w.isAlive(), "worker " + w.pid() + " left running"));

        Run resumed = run("resumed", "train", "--config", cfg.toString(), "--nproc", "2", "--max-steps", "16", "--output",
                killed.toString(), "--resume");
        assertEquals(0, resumed.code(), resumed.out());
        assertTrue(resumed.out().contains("resumed from"), resumed.out());
        List<String> again = Files.readAllLines(killed.resolve("metrics.jsonl"));
        assertEquals(16, again.size());
        ObjectMapper json = new ObjectMapper();
        for (int i = 0; i < 16; i++)
            for (String k : new String[] {"step", "lr", "loss", "loss_itc", "loss_itm", "loss_itg", "loss_rec", "grad_norm"})
                assertEquals(json.readTree(full.get(i)).get(k).asDouble(), json.readTree(again.get(i)).get(k).asDouble(), 1e-6,
                        k + " at line " + i);

        Run other = run("other-world", "train", "--config", cfg.toString(), "--max-steps", "16", "--output", killed.toString(),
                "--resume");
        assertEquals(3, other.code(), other.out()); // bad input (issue 11's exit codes)
        assertTrue(other.out().contains("started on 2 rank(s), this resume has 1"), other.out());
    }

    /**
     * Issue 11 under --nproc 2: rank 0 alone locks and checks the folder; its refusal of a folder
     * holding a run reaches every rank at once (exit 3, nothing waits for a collective timeout),
     * and a diverging run stops on every rank at the same step because the ranks judge the loss
     * averaged over all of them.
     */
    @Test
    void refusalAndDivergenceStopEveryRankTogether() throws Exception {
        Path cfg = config();
        Path run = tmp.resolve("held");
        Run first = run("first", "train", "--config", cfg.toString(), "--nproc", "2", "--max-steps", "2", "--output", run.toString());
        assertEquals(0, first.code(), first.out());
        // the first and last lines come from rank 0 alone
        List<String> banners = first.out().lines().filter(l -> l.contains("] train: config ")).toList();
        assertEquals(1, banners.size(), first.out());
        assertTrue(banners.get(0).startsWith("[rank 0] "), first.out());
        List<String> last = first.out().lines().filter(l -> l.contains("] trained 2 steps")).toList();
        assertEquals(1, last.size(), first.out());
        assertTrue(last.get(0).startsWith("[rank 0] "), first.out());

        Run again = run("again", "train", "--config", cfg.toString(), "--nproc", "2", "--max-steps", "2", "--output", run.toString(),
                "--dist-timeout", "120");
        assertEquals(3, again.code(), again.out());
        assertTrue(again.out().contains("already holds a run"), again.out());
        assertTrue(again.seconds() < 60, "took " + again.seconds() + " s: a rank waited on a collective");
        assertEquals(2, Files.readAllLines(run.resolve("metrics.jsonl")).size(), "the held run is untouched");

        ObjectMapper json = new ObjectMapper();
        ObjectNode c = (ObjectNode) json.readTree(cfg.toFile());
        ((ObjectNode) c.get("train")).put("lr", 1e30).put("warmup_steps", 0).put("grad_clip", 0).put("checkpoint_every", 1);
        Path diverging = tmp.resolve("diverge.json");
        Files.writeString(diverging, c.toPrettyString());
        Run bad = run("diverge", "train", "--config", diverging.toString(), "--nproc", "2", "--max-steps", "6", "--output",
                tmp.resolve("diverged").toString(), "--dist-timeout", "120");
        assertEquals(3, bad.code(), bad.out());
        assertTrue(bad.seconds() < 120, "took " + bad.seconds() + " s: a rank waited on a collective");
        Matcher m0 = Pattern.compile("\\[rank 0\\].*not finite at step (\\d+)").matcher(bad.out());
        Matcher m1 = Pattern.compile("\\[rank 1\\].*not finite at step (\\d+)").matcher(bad.out());
        assertTrue(m0.find(), bad.out());
        assertTrue(m1.find(), "rank 1 stopped on its own too: " + bad.out());
        assertEquals(m0.group(1), m1.group(1), bad.out());
    }
}
