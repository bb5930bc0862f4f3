package io.xformer.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.nn.ConfigException;
import io.xformer.nn.InputException;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 11, items 1-4 (run folders, locks, checkpoint validation, config fingerprint) and the metrics file of item 10. */
class HardeningRunFolderTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** A folder that looks like a finished run: metrics, two checkpoints (steps 20, 40), model. */
    Path fakeRun(String name) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir.resolve("model"));
        Files.writeString(dir.resolve("model/config.json"), "{}");
        StringBuilder m = new StringBuilder();
        for (int s = 1; s <= 40; s++) m.append("{\"step\":").append(s).append(",\"loss\":").append(10.0 / s).append("}\n");
        Files.writeString(dir.resolve("metrics.jsonl"), m);
        Checkpoints ck = new Checkpoints(dir).fingerprint(Map.of("train.lr", 0.001, "train.batch_size", 4L));
        try (Scope s = Scope.open()) {
            Map<String, Tensor> w = Map.of("w", Torch.ones(2, 3));
            Map<String, Tensor> o = Map.of("exp_avg.w", Torch.zeros(2, 3), "exp_avg_sq.w", Torch.zeros(2, 3));
            ck.write(20, w, o, new Checkpoints.State(20, 80, 20));
            ck.write(40, w, o, new Checkpoints.State(40, 160, 40));
        }
        return dir;
    }

    @Test
    void item01_trainingIntoAFolderHoldingARunWithoutResumeIsRefused() throws IOException {
        Path run = fakeRun("run");
        byte[] before = Files.readAllBytes(run.resolve("metrics.jsonl"));
        InputException e = assertThrows(InputException.class, () -> RunFolder.open(run, false, false).close());
        assertTrue(e.getMessage().startsWith(run + " already holds a run") && e.getMessage().contains("--resume")
                && e.getMessage().contains("--output DIR") && e.getMessage().contains("metrics.jsonl"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(run.resolve("metrics.jsonl")), "nothing touched");
        // an empty or fresh folder is fine
        RunFolder.open(tmp.resolve("fresh"), false, false).close();
        RunFolder.open(tmp.resolve("fresh"), false, false).close();
    }

    @Test
    void item01_overwriteMovesTheOldRunAsideNeverDeletes() throws IOException {
        Path run = fakeRun("over");
        byte[] before = Files.readAllBytes(run.resolve("metrics.jsonl"));
        Path aside;
        try (RunFolder f = RunFolder.open(run, false, true)) {
            aside = f.movedAside();
        }
        assertNotNull(aside);
        assertTrue(aside.getFileName().toString().startsWith("over.replaced-"), aside.toString());
        assertArrayEquals(before, Files.readAllBytes(aside.resolve("metrics.jsonl")));
        assertTrue(Files.isDirectory(aside.resolve("checkpoints/step-0000040")));
        assertTrue(Files.isRegularFile(aside.resolve("model/config.json")));
        assertFalse(Files.exists(run.resolve("metrics.jsonl")));
        assertThrows(IllegalArgumentException.class, () -> RunFolder.open(run, true, true));
    }

    @Test
    void item01_trainerRefusesAFolderHoldingARun() throws IOException {
        Path run = fakeRun("trainer");
        Path cfg = TinyRun.config(tmp, "refuse", tmp.resolve("nothing-needed.json"), tmp, 2);
        InputException e = assertThrows(InputException.class,
                () -> Training.run(TrainConfig.load(cfg), "1", run, null, null, false, TrainListener.SILENT));
        assertTrue(e.getMessage().contains("already holds a run"), e.getMessage());
    }

    /** configs/tiny-stage2.json with absolute tokenizer paths (nothing else is opened before the folder checks). */
    Path tinyStage2() throws IOException {
        ObjectNode c = (ObjectNode) JSON.readTree(TinyRun.ROOT.resolve("configs/tiny-stage2.json").toFile());
        c.put("tokenizer", TinyRun.ROOT.resolve("test-data/hf-tiny/tokenizer-wordpiece/tokenizer.json").toString());
        ((ObjectNode) c.get("stage2")).put("llm_tokenizer", TinyRun.ROOT.resolve("test-data/hf-tiny/tokenizer-bpe/tokenizer.json").toString());
        Path f = tmp.resolve("tiny-stage2.json");
        Files.writeString(f, c.toPrettyString());
        return f;
    }

    @Test
    void item01_item04_stage2AndVqaRunsGetTheSameFolderChecks() throws IOException {
        Path cfg = tinyStage2();
        for (String stage : new String[] {"2", "vqa"}) {
            Path run = fakeRun("stage-" + stage);
            InputException e = assertThrows(InputException.class,
                    () -> Training.run(TrainConfig.load(cfg), stage, run, null, null, false, TrainListener.SILENT));
            assertTrue(e.getMessage().contains("already holds a run") && e.getMessage().contains("--resume"), e.getMessage());
            // the checkpoint was written under another config: a resume lists the stage's changed keys
            String sec = stage.equals("2") ? "stage2" : "vqa";
            ConfigException c = assertThrows(ConfigException.class,
                    () -> Training.run(TrainConfig.load(cfg), stage, run, null, null, true, TrainListener.SILENT));
            assertTrue(c.getMessage().contains(sec + ".train.lr: (absent) -> ") && c.getMessage().contains("train.lr: 0.001 -> (absent)")
                    && c.getMessage().contains("--allow-config-change"), c.getMessage());
        }
        InputException none = assertThrows(InputException.class,
                () -> Training.run(TrainConfig.load(cfg), "2", tmp.resolve("no-run"), null, null, true, TrainListener.SILENT));
        assertTrue(none.getMessage().contains("no checkpoint to resume from"), none.getMessage());
    }

    @Test
    void item02_aSecondRunIntoALockedFolderIsRefusedWithTheHoldersPid() throws Exception {
        Path dir = tmp.resolve("locked");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process holder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), LockMain.class.getName(), dir.toString())
                .redirectErrorStream(true).start();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("locked", r.readLine());
            InputException e = assertThrows(InputException.class, () -> RunFolder.open(dir, false, false));
            assertTrue(e.getMessage().contains("in use by another training run") && e.getMessage().contains("pid " + holder.pid()),
                    e.getMessage());
            // in this JVM too: a run still open refuses a second one
            try (RunFolder mine = RunFolder.open(tmp.resolve("mine"), false, false)) {
                InputException same = assertThrows(InputException.class, () -> RunFolder.open(tmp.resolve("mine"), false, false));
                assertTrue(same.getMessage().contains("pid " + ProcessHandle.current().pid()), same.getMessage());
            }
        } finally {
            holder.destroyForcibly().waitFor(); // SIGKILL: the holder cannot clean up
        }
        // item 2: the lock of a dead holder is stale; its pid file is still there, the lock is not
        assertTrue(Files.readString(dir.resolve(RunFolder.LOCK)).contains("pid " + holder.pid()));
        RunFolder.open(dir, false, false).close();
    }

    @Test
    void item03_aCheckpointWhoseStateDoesNotValidateIsRefusedAndAnOlderOneOffered() throws IOException {
        Path run = fakeRun("badstate");
        Path state = run.resolve("checkpoints/step-0000040/trainer_state.json");
        for (String bad : new String[] {"{\"step\": \"x\", \"cursor\": 160, \"optimizer_step\": 40}", "{\"step\": 40}", "not json",
            "{\"step\": 39, \"cursor\": 160, \"optimizer_step\": 40}", "{\"step\": -40, \"cursor\": 160, \"optimizer_step\": 40}"}) {
            Files.writeString(state, bad);
            InputException e = assertThrows(InputException.class, () -> RunFolder.open(run, true, false));
            assertTrue(e.getMessage().contains("step-0000040") && e.getMessage().contains("refused")
                    && e.getMessage().contains("older valid checkpoint is step-0000020")
                    && e.getMessage().contains("echo step-0000020 > " + run.resolve("checkpoints/latest")), bad + " -> " + e.getMessage());
        }
        // the way offered works: point latest at the older checkpoint and resume
        Files.writeString(run.resolve("checkpoints/latest"), "step-0000020");
        try (RunFolder f = RunFolder.open(run, true, false)) {
            assertEquals("step-0000020", f.resumeFrom().getFileName().toString());
        }
        // a truncated weight file is refused too; with no older valid checkpoint, the way on is --overwrite
        Path w = run.resolve("checkpoints/step-0000020/optimizer.safetensors");
        byte[] all = Files.readAllBytes(w);
        Files.write(w, java.util.Arrays.copyOf(all, all.length - 4));
        InputException e = assertThrows(InputException.class, () -> RunFolder.open(run, true, false));
        assertTrue(e.getMessage().contains("optimizer.safetensors") && e.getMessage().contains("--overwrite"), e.getMessage());
    }

    @Test
    void item04_resumeWithAChangedConfigIsRefusedListingTheChangedKeys() throws IOException {
        Path run = fakeRun("fp");
        Map<String, Object> now = Map.of("train.lr", 0.002, "train.batch_size", 4L, "train.warmup_steps", 5L);
        ConfigException e = assertThrows(ConfigException.class,
                () -> RunFolder.open(run, true, false, false, now, Path.of("my.json")));
        assertTrue(e.getMessage().startsWith("my.json: differs from the config") && e.getMessage().contains("train.lr: 0.001 -> 0.002")
                && e.getMessage().contains("train.warmup_steps: (absent) -> 5") && !e.getMessage().contains("batch_size")
                && e.getMessage().contains("--allow-config-change"), e.getMessage());
        try (RunFolder f = RunFolder.open(run, true, false, true, now, Path.of("my.json"))) {
            f.recordConfigChange(run.resolve("metrics.jsonl"), 40);
        }
        List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl"));
        JsonNode last = JSON.readTree(lines.get(lines.size() - 1));
        assertEquals(40, last.get("step").asLong());
        assertEquals("train.lr: 0.001 -> 0.002", last.get("config_change").get(0).asText());
        // the same config resumes without a word
        try (RunFolder f = RunFolder.open(run, true, false, false, Map.of("train.lr", 0.001, "train.batch_size", 4L), null)) {
            assertTrue(f.configChanges().isEmpty());
        }
    }

    @Test
    void item04_fingerprintHoldsTheResolvedModelAndTrainSections() throws IOException {
        Path cfg = TinyRun.config(tmp, "fp-content", tmp.resolve("x.json"), tmp, 7);
        Map<String, Object> fp = Fingerprint.of(TrainConfig.load(cfg), 9);
        assertEquals(9L, fp.get("train.max_steps"), "the effective max_steps (--max-steps overrides)");
        assertEquals(0.0005, fp.get("train.lr"));
        assertEquals(4L, fp.get("train.batch_size"));
        assertEquals(1e-12, fp.get("model.qformer_config.layer_norm_eps"));
        assertEquals(3, fp.get("model.early_ca_layers"), "defaults are resolved in");
        assertFalse(fp.containsKey("train.log_every") || fp.containsKey("train.workers") || fp.containsKey("tokenizer"));
    }

    @Test
    void item10_aGarbageLineInMetricsOnResumeIsAnErrorNamingFileAndLine() throws IOException {
        Path m = tmp.resolve("metrics.jsonl");
        Files.writeString(m, "{\"step\":1,\"loss\":2.0}\nGARBAGE here\n{\"step\":2,\"loss\":1.0}\n");
        InputException e = assertThrows(InputException.class, () -> MetricsFile.truncateAfter(m, 1));
        assertTrue(e.getMessage().startsWith(m + ":2: not a metrics line") && e.getMessage().contains("GARBAGE"), e.getMessage());
        Files.writeString(m, "{\"step\":1,\"loss\":2.0}\n{\"step\":\"two\"}\n");
        e = assertThrows(InputException.class, () -> MetricsFile.truncateAfter(m, 1));
        assertTrue(e.getMessage().startsWith(m + ":2:"), e.getMessage());
        // a last line cut by a crash mid-write is dropped; later steps go too
        Files.writeString(m, "{\"step\":1,\"loss\":2.0}\n{\"step\":2,\"loss\":1.0}\n{\"step\":3,\"lo");
        MetricsFile.truncateAfter(m, 1);
        assertEquals(List.of("{\"step\":1,\"loss\":2.0}"), Files.readAllLines(m));
    }

    @Test
    void item10_evalJsonWritesPairsAsAnInteger() throws IOException {
        Path f = tmp.resolve("eval.json");
        MetricsFile.writeEval(f, Map.of("pairs", 64.0, "i2t_r1", 0.25));
        JsonNode n = JSON.readTree(f.toFile());
        assertTrue(n.get("pairs").isIntegralNumber(), n.toString());
        assertEquals(64, n.get("pairs").asInt());
        assertEquals(0.25, n.get("i2t_r1").asDouble());
        assertFalse(Files.readString(f).contains("64.0"));
    }

    @Test
    void item08_lossCheckNamesTheStepAndTheLastGoodCheckpoint() throws IOException {
        Path run = fakeRun("nan");
        try (Scope s = Scope.open()) {
            Map<String, Tensor> sums = new java.util.LinkedHashMap<>();
            sums.put("loss", Torch.full(Double.NaN, io.xformer.nn.DType.F32, io.xformer.nn.Device.CPU));
            sums.put("loss_itc", Torch.full(1.5, io.xformer.nn.DType.F32, io.xformer.nn.Device.CPU));
            var e = assertThrows(LossCheck.NonFiniteLossException.class, () -> LossCheck.requireFinite(sums, 41, new Checkpoints(run)));
            assertTrue(e.getMessage().contains("step 41") && e.getMessage().contains("loss_itc 1.5")
                    && e.getMessage().contains(run.resolve("checkpoints/step-0000040").toString()), e.getMessage());
            sums.put("loss", Torch.full(3.0, io.xformer.nn.DType.F32, io.xformer.nn.Device.CPU));
            LossCheck.requireFinite(sums, 42, new Checkpoints(run));
        }
    }

    @Test
    void item08_trainingStopsOnANonFiniteLossKeepingTheLastGoodCheckpoint() throws IOException {
        Path data = tmp.resolve("syn");
        io.xformer.data.Synthetic.generate(data, 8, 1, 32);
        Path cfg = TinyRun.config(tmp, "diverge", data.resolve("captions_train.json"), data, 6);
        ObjectNode c = (ObjectNode) JSON.readTree(cfg.toFile());
        ((ObjectNode) c.get("train")).put("lr", 1e30).put("warmup_steps", 0).put("grad_clip", 0).put("checkpoint_every", 1)
                .put("image_size", 32);
        Files.writeString(cfg, c.toPrettyString());
        Path run = tmp.resolve("diverge-run");
        var e = assertThrows(LossCheck.NonFiniteLossException.class,
                () -> Training.run(TrainConfig.load(cfg), "1", run, null, null, false, TrainListener.SILENT));
        long bad = Long.parseLong(e.getMessage().replaceAll(".*not finite at step (\\d+).*", "$1"));
        String last = Files.readString(run.resolve("checkpoints/latest")).strip();
        assertEquals(String.format("step-%07d", bad - 1), last, e.getMessage());
        assertTrue(e.getMessage().contains(run.resolve("checkpoints").resolve(last).toString()), e.getMessage());
        assertEquals(bad - 1, Files.readAllLines(run.resolve("metrics.jsonl")).size(), "no line for the bad step");
        assertFalse(Files.exists(run.resolve("model")), "no model exported from diverged weights");
        try (Stream<String> lines = Files.lines(run.resolve("metrics.jsonl"))) {
            assertTrue(lines.noneMatch(l -> l.contains("NaN") || l.contains("Infinity")));
        }
    }
}
