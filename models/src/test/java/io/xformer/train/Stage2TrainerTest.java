package io.xformer.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.data.Synthetic;
import io.xformer.hf.HfCheckpoint;
import io.xformer.models.Pretrained;
import io.xformer.models.VisualLm;
import io.xformer.models.XFormerForConditionalGeneration;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Scope;
import io.xformer.text.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stage 2 and VQA fine-tuning on the one loop: resumes, kill -9, the exported folder, VQA data. */
class Stage2TrainerTest {
    static final Path ROOT = Stage1TrainerTest.ROOT;

    @TempDir
    static Path tmp;

    static Path data;

    @BeforeAll
    static void makeData() throws IOException {
        data = tmp.resolve("synthetic");
        Synthetic.generate(data, 30, 5, 48);
    }

    /** A stage-2 + VQA config on the fixtures: stage 1 = xformer-tiny, LLM = blip2-opt-tiny's OPT. */
    static Path config(String name, int steps) throws IOException {
        ObjectNode c = Stage1TrainerTest.JSON.createObjectNode();
        c.putArray("stages").add("2").add("vqa");
        c.put("tokenizer", ROOT.resolve("test-data/hf-tiny/tokenizer-wordpiece/tokenizer.json").toString());
        c.putObject("train").put("batch_size", 4).put("max_steps", steps).put("warmup_steps", 2).put("log_every", 1)
                .put("checkpoint_every", 20).put("workers", 2).put("image_size", 32).put("max_text_len", 48).put("lr", 1e-3);
        ObjectNode s2 = c.putObject("stage2");
        s2.putObject("model").put("stage2_mae_mask_ratio", 0.25);
        s2.putObject("init").put("stage1", ROOT.resolve("test-data/xformer-tiny/xformer-tiny").toString())
                .put("llm", ROOT.resolve("test-data/hf-tiny/blip2-opt-tiny").toString());
        s2.put("llm_tokenizer", ROOT.resolve("test-data/hf-tiny/tokenizer-bpe/tokenizer.json").toString());
        ObjectNode d2 = s2.putObject("data");
        d2.putArray("train").addObject().put("annotations", data.resolve("captions_train.json").toString()).put("images", data.toString());
        d2.putArray("val").addObject().put("annotations", data.resolve("captions_val.json").toString()).put("images", data.toString());
        ObjectNode v = c.putObject("vqa");
        v.put("train_llm", true);
        v.putObject("train").put("image_size", 48);
        ObjectNode dv = v.putObject("data");
        for (String f : new String[] {"vqa_counting.json", "vqa_identification.json"}) {
            dv.withArray("train").addObject().put("vqa", data.resolve(f).toString()).put("images", data.toString())
                    .put("images_not_in", data.resolve("captions_val.json").toString());
            dv.withArray("val").addObject().put("vqa", data.resolve(f).toString()).put("images", data.toString())
                    .put("images_in", data.resolve("captions_val.json").toString());
        }
        Path f = tmp.resolve(name + ".json");
        Files.writeString(f, c.toPrettyString());
        return f;
    }

    static void assertSameMetrics(List<JsonNode> a, List<JsonNode> b) {
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++)
            for (String k : new String[] {"step", "lr", "loss", "loss_lm"})
                assertEquals(a.get(i).get(k).asDouble(), b.get(i).get(k).asDouble(), 1e-6, k + " at line " + i);
    }

    @Test
    void stage2ResumedAfterAStopRepeatsTheStraightRunAndExportsALoadableFolder() throws IOException {
        Path cfg = config("resume", 8);
        Path straight = tmp.resolve("s2-straight"), split = tmp.resolve("s2-split");
        Training.Result r = Training.run(TrainConfig.load(cfg), "2", straight, null, null, false, TrainListener.SILENT);
        Training.run(TrainConfig.load(cfg), "2", split, null, 4L, false, TrainListener.SILENT);
        Training.run(TrainConfig.load(cfg), "2", split, null, null, true, TrainListener.SILENT);
        List<JsonNode> a = Stage1TrainerTest.metrics(straight);
        assertEquals(8, a.size());
        assertSameMetrics(a, Stage1TrainerTest.metrics(split));
        assertTrue(r.evaluation().get("val_loss_lm") > 0);
        // the trainable set: X-Former + projection; the encoders, the LLM and the text-only parts stay put
        try (HfCheckpoint ck = HfCheckpoint.open(straight.resolve("model"))) {
            assertEquals("XFormerForConditionalGeneration", ck.architecture());
            assertEquals(0.25, ck.config().get("stage2_mae_mask_ratio").asDouble());
        }
        try (Scope s = Scope.open(); var trained = io.xformer.nn.SafeTensors.open(new Checkpoints(straight).latest().resolve(Checkpoints.TRAINABLE))) {
            List<String> names = trained.names();
            assertTrue(names.contains("language_projection.weight") && names.contains("query_tokens")
                    && names.contains("xformer.mae_crossattention.attention.query.weight")
                    && names.contains("qformer.encoder.layer.0.crossattention.attention.query.weight"), names.toString());
            assertTrue(names.stream().noneMatch(k -> k.startsWith("vision_model.") || k.startsWith("mae.") || k.startsWith("language_model.")
                    || k.startsWith("embeddings.") || k.startsWith("xformer.mae_proj_out") || k.contains(".intermediate.dense")), names.toString());
        }
        // the folder runs through forward and the text front end
        try (Scope s = Scope.open(); Pretrained p = Pretrained.load(straight.resolve("model"), Device.CPU, DType.F32);
             Tokenizer tok = Tokenizer.open(straight.resolve("model/tokenizer.json"))) {
            var lm = new VisualLm((XFormerForConditionalGeneration) p.module(), tok, null, Device.CPU);
            String caption = lm.generate(io.xformer.data.Images.read(data.resolve("images/000000.png")), null,
                    new VisualLm.Settings("", 2, 6, 1, 1.0));
            assertNotNull(caption);
        }
    }

    @Test
    void aStage2ProcessKilledAtAnyMomentResumesExactly() throws Exception {
        Path cfg = config("kill", 12);
        ObjectNode c = (ObjectNode) Stage1TrainerTest.JSON.readTree(cfg.toFile());
        ((ObjectNode) c.get("train")).put("checkpoint_every", 1);
        Files.writeString(cfg, c.toPrettyString());
        Path straight = tmp.resolve("s2-kill-straight"), killed = tmp.resolve("s2-kill-run");
        Training.run(TrainConfig.load(cfg), "2", straight, null, null, false, TrainListener.SILENT);
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Dxft.library=" + System.getProperty("xft.library"),
                "-cp", System.getProperty("java.class.path"), TrainMain.class.getName(), cfg.toString(), killed.toString(), "2")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("s2-kill.log").toFile()).start();
        Path latest = killed.resolve("checkpoints/latest");
        long deadline = System.nanoTime() + 180_000_000_000L;
        while (System.nanoTime() < deadline && p.isAlive()
                && !(Files.exists(latest) && Files.readString(latest).strip().compareTo("step-0000004") >= 0))
            Thread.sleep(20);
        Thread.sleep(new java.util.Random().nextInt(150));
        p.destroyForcibly().waitFor();
        assertTrue(Files.exists(latest), "a checkpoint was written before the kill: " + Files.readString(tmp.resolve("s2-kill.log")));
        Training.run(TrainConfig.load(cfg), "2", killed, null, null, true, TrainListener.SILENT);
        assertSameMetrics(Stage1TrainerTest.metrics(straight), Stage1TrainerTest.metrics(killed));
    }

    @Test
    void vqaFineTuningStartsFromTheStage2ModelAtALargerSizeAndReportsAccuracy() throws IOException {
        Path cfg = config("vqa", 3);
        Path s2 = tmp.resolve("vqa-s2"), vqa = tmp.resolve("vqa-run");
        Training.Result r2 = Training.run(TrainConfig.load(cfg), "2", s2, null, null, false, TrainListener.SILENT);
        Training.Result r = Training.run(TrainConfig.load(cfg), "vqa", vqa, null, null, false, r2.modelDir(), TrainListener.SILENT);
        assertEquals(3, Stage1TrainerTest.metrics(vqa).size());
        assertEquals(6.0, r.evaluation().get("questions"), "3 held-out images x 2 questions");
        assertTrue(r.evaluation().containsKey("vqa_accuracy") && r.evaluation().containsKey("majority_answer_accuracy"));
        try (HfCheckpoint ck = HfCheckpoint.open(vqa.resolve("model"));
             var trained = io.xformer.nn.SafeTensors.open(new Checkpoints(vqa).latest().resolve(Checkpoints.TRAINABLE))) {
            assertEquals(48, ck.config().get("vision_config").get("image_size").asInt());
            assertArrayEquals(new long[] {1, 37, 32}, ck.get("vision_model.embeddings.position_embedding").shape(), "6x6 patches + cls");
            assertArrayEquals(new long[] {1, 37, 24}, ck.get("mae.vit.embeddings.position_embeddings").shape());
            List<String> names = trained.names();
            assertTrue(names.contains("vision_model.encoder.layers.0.layer_norm1.weight") && names.contains("vision_model.post_layernorm.bias"));
            assertTrue(names.contains("embeddings.word_embeddings.weight"), "the question's path trains");
            assertTrue(names.contains("language_model.model.decoder.layers.0.fc1.weight"), "train_llm");
            assertTrue(names.stream().noneMatch(k -> k.startsWith("mae.") || k.contains("vision_model.encoder.layers.0.mlp")), names.toString());
        }
    }
}
