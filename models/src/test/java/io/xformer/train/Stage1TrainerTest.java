package io.xformer.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.data.Synthetic;
import io.xformer.hf.HfCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Resumes, crash safety and bad images, on small synthetic runs of the tiny model. */
class Stage1TrainerTest {
    static final Path ROOT = Path.of(System.getProperty("xformer.root", "../..")).toAbsolutePath().normalize();
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    static Path data;

    @BeforeAll
    static void makeData() throws IOException {
        data = tmp.resolve("synthetic");
        Synthetic.generate(data, 30, 3, 48);
    }

    static Path config(String name, Path annotations, int steps) throws IOException {
        return configIn(tmp, data, name, annotations, steps);
    }

    /** The tiny config over a synthetic set, written into dir. */
    static Path configIn(Path dir, Path data, String name, Path annotations, int steps) throws IOException {
        ObjectNode c = (ObjectNode) JSON.readTree(ROOT.resolve("configs/tiny.json").toFile());
        c.remove("data");
        c.putObject("init").put("seed", 1).put("std", 0.15);
        c.put("tokenizer", ROOT.resolve("test-data/hf-tiny/tokenizer-wordpiece/tokenizer.json").toString());
        ObjectNode d = c.putObject("data");
        d.putArray("train").addObject().put("annotations", annotations.toString()).put("images", data.toString());
        ObjectNode t = (ObjectNode) c.get("train");
        t.put("batch_size", 4).put("max_steps", steps).put("warmup_steps", 5).put("log_every", 1).put("checkpoint_every", 20)
                .put("workers", 2);
        Path f = dir.resolve(name + ".json");
        Files.writeString(f, c.toPrettyString());
        return f;
    }

    static List<JsonNode> metrics(Path run) throws IOException {
        return Files.readAllLines(run.resolve("metrics.jsonl")).stream().filter(l -> !l.isBlank()).map(l -> {
            try {
                return JSON.readTree(l);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }).toList();
    }

    static void assertSameMetrics(List<JsonNode> a, List<JsonNode> b) {
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++)
            for (String k : new String[] {"step", "lr", "loss", "loss_itc", "loss_itm", "loss_itg", "loss_rec"})
                assertEquals(a.get(i).get(k).asDouble(), b.get(i).get(k).asDouble(), 1e-6, k + " at line " + i);
    }

    @Test
    void resumingAfter20StepsRepeatsThe40StepRun() throws IOException {
        Path cfg = config("resume", data.resolve("captions_train.json"), 40);
        Path straight = tmp.resolve("straight"), split = tmp.resolve("split");
        Training.run(TrainConfig.load(cfg), "1", straight, null, null, false, TrainListener.SILENT);
        Training.Result first = Training.run(TrainConfig.load(cfg), "1", split, null, 20L, false, TrainListener.SILENT);
        assertNull(first.modelDir(), "a stopped session exports no final model");
        assertEquals(20, metrics(split).size());

        // a crash while writing the next checkpoint: a half-written temp folder and pointer
        Path ck = split.resolve("checkpoints");
        Files.createDirectories(ck.resolve("step-0000040.tmp"));
        Files.write(ck.resolve("step-0000040.tmp/trainable.safetensors"), new byte[] {1, 2, 3});
        Files.writeString(ck.resolve("latest.tmp"), "step-0000040");
        // and metrics lines an interrupted run wrote after its last checkpoint
        Files.writeString(split.resolve("metrics.jsonl"), "{\"step\": 21, \"loss\": 99}\n", java.nio.file.StandardOpenOption.APPEND);

        assertEquals("step-0000020", Files.readString(ck.resolve("latest")).strip(), "the previous checkpoint is still the latest");
        Training.run(TrainConfig.load(cfg), "1", split, null, null, true, TrainListener.SILENT);
        List<JsonNode> a = metrics(straight), b = metrics(split);
        assertEquals(40, a.size());
        assertSameMetrics(a, b);
        // both final models are loadable XFormerForPreTraining folders with equal weights
        try (HfCheckpoint x = HfCheckpoint.open(straight.resolve("model")); HfCheckpoint y = HfCheckpoint.open(split.resolve("model"))) {
            assertEquals("XFormerForPreTraining", x.architecture());
            for (String k : x.names()) assertArrayEquals(x.get(k).toByteArray(), y.get(k).toByteArray(), k);
        }
    }

    @Test
    void aTrainingProcessKilledAtAnyMomentLeavesALoadableCheckpoint() throws Exception {
        Path cfg = config("kill", data.resolve("captions_train.json"), 24);
        ObjectNode c = (ObjectNode) JSON.readTree(cfg.toFile());
        ((ObjectNode) c.get("train")).put("checkpoint_every", 1); // a checkpoint write is under way most of the time
        Files.writeString(cfg, c.toPrettyString());
        Path straight = tmp.resolve("kill-straight"), killed = tmp.resolve("kill-run");
        Training.run(TrainConfig.load(cfg), "1", straight, null, null, false, TrainListener.SILENT);

        String java = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Dxft.library=" + System.getProperty("xft.library"),
                "-cp", System.getProperty("java.class.path"), TrainMain.class.getName(), cfg.toString(), killed.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("kill.log").toFile());
        Process p = pb.start();
        Path latest = killed.resolve("checkpoints/latest");
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < deadline && p.isAlive()
                && !(Files.exists(latest) && Files.readString(latest).strip().compareTo("step-0000008") >= 0))
            Thread.sleep(20);
        Thread.sleep(new java.util.Random().nextInt(150));
        p.destroyForcibly().waitFor(); // SIGKILL: no shutdown hooks, no cleanup
        assertTrue(Files.exists(latest), "a checkpoint was written before the kill: " + Files.readString(tmp.resolve("kill.log")));

        Checkpoints ck = new Checkpoints(killed);
        Path last = ck.latest();
        try (var a = io.xformer.nn.SafeTensors.open(last.resolve(Checkpoints.TRAINABLE));
             var b = io.xformer.nn.SafeTensors.open(last.resolve(Checkpoints.OPTIMIZER))) {
            assertFalse(a.names().isEmpty());
            assertFalse(b.names().isEmpty());
        }
        Training.run(TrainConfig.load(cfg), "1", killed, null, null, true, TrainListener.SILENT);
        assertSameMetrics(metrics(straight), metrics(killed));
    }

    @Test
    void resumeWithoutACheckpointIsAClearError() throws IOException {
        Path cfg = config("nockpt", data.resolve("captions_train.json"), 4);
        var e = assertThrows(io.xformer.nn.InputException.class,
                () -> Training.run(TrainConfig.load(cfg), "1", tmp.resolve("empty-run"), null, null, true, TrainListener.SILENT));
        assertTrue(e.getMessage().contains("no checkpoint"), e.getMessage());
    }

    @Test
    void aCorruptAndAMissingImageAreSkippedAndCounted() throws IOException {
        // 10 entries: 8 good images, one corrupt file, one missing file; 2 steps of 4 cover them once
        var arr = JSON.createArrayNode();
        for (int i = 0; i < 8; i++) arr.addObject().put("image", String.format("images/%06d.png", i)).put("caption", "one red circle");
        Files.write(data.resolve("images/corrupt.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 1, 2, 3, 4, 5});
        arr.addObject().put("image", "images/corrupt.png").put("caption", "two blue squares");
        arr.addObject().put("image", "images/nowhere.png").put("caption", "three green triangles");
        Path ann = tmp.resolve("bad.json");
        JSON.writeValue(ann.toFile(), arr);
        Path cfg = config("bad-images-config", ann, 2);
        Training.Result r = Training.run(TrainConfig.load(cfg), "1", tmp.resolve("bad-run"), null, null, false, TrainListener.SILENT);
        assertEquals(2, r.steps());
        assertEquals(2, r.skipped());
        List<JsonNode> m = metrics(tmp.resolve("bad-run"));
        assertEquals(2, m.get(m.size() - 1).get("skipped").asLong());
        assertNotNull(r.modelDir());
    }
}
