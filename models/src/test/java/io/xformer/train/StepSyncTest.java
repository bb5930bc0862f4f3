package io.xformer.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.data.Loader;
import io.xformer.nn.Device;
import io.xformer.nn.Scope;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;
import io.xformer.text.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A training step reads nothing back from the device except on logging steps (xft_d2h_reads). */
class StepSyncTest {
    @TempDir
    Path tmp;

    @Test
    void aNonLoggingStage1StepOfTheTrainingLoopMakesNoDeviceToHostRead() throws IOException {
        // 3 steps, logging and checkpointing only after the last; the tiny config clips gradients (grad_clip 1.0)
        Path data = tmp.resolve("synthetic");
        io.xformer.data.Synthetic.generate(data, 12, 3, 48);
        var c = (com.fasterxml.jackson.databind.node.ObjectNode) Stage1TrainerTest.JSON.readTree(
                Stage1TrainerTest.ROOT.resolve("configs/tiny.json").toFile());
        c.remove("data");
        c.putObject("init").put("seed", 1).put("std", 0.15);
        c.put("tokenizer", Stage1TrainerTest.ROOT.resolve("test-data/hf-tiny/tokenizer-wordpiece/tokenizer.json").toString());
        c.putObject("data").putArray("train").addObject().put("annotations", data.resolve("captions_train.json").toString())
                .put("images", data.toString());
        ((com.fasterxml.jackson.databind.node.ObjectNode) c.get("train")).put("batch_size", 4).put("max_steps", 3).put("warmup_steps", 1)
                .put("log_every", 1000).put("checkpoint_every", 1000).put("workers", 1);
        Path cfgFile = tmp.resolve("sync.json");
        java.nio.file.Files.writeString(cfgFile, c.toPrettyString());
        TrainConfig cfg = TrainConfig.load(cfgFile);
        assertTrue(cfg.train().gradClip() > 0, "the clip path is part of the step");
        List<Long> readsAtFetch = new ArrayList<>();
        try (Scope root = Scope.open(); Tokenizer tok = Tokenizer.open(cfg.tokenizer()); Stage1Objective obj = new Stage1Objective(cfg, tok)) {
            DataStream.Opener<Loader.Batch> real = Stage1Objective.data(cfg, tok);
            DataStream.Opener<Loader.Batch> counted = cursor -> {
                DataStream<Loader.Batch> s = real.open(cursor);
                return new DataStream<>() {
                    public Fetched<Loader.Batch> next() {
                        readsAtFetch.add(Torch.d2hReads());
                        return s.next();
                    }

                    public void close() {
                        s.close();
                    }
                };
            };
            TrainLoop.run(cfg.train(), tmp.resolve("run"), 3, null, false, obj, counted, TrainListener.SILENT);
        }
        assertEquals(3, readsAtFetch.size());
        // everything between fetching batch 1 and batch 2 is step 1 (forward, backward, clip, AdamW): no reads
        assertEquals(0, readsAtFetch.get(1) - readsAtFetch.get(0), "device-to-host reads in non-logging step 1");
        assertEquals(0, readsAtFetch.get(2) - readsAtFetch.get(1), "device-to-host reads in non-logging step 2");
    }

    @Test
    void theCounterSeesLossReadsOnALoggingStep() throws IOException {
        JsonNode model = Stage1TrainerTest.JSON.readTree(Stage1TrainerTest.ROOT.resolve("configs/tiny.json").toFile()).get("model");
        try (Scope s = Scope.open(); Stage1Bench b = new Stage1Bench(model, null, true, 4, 8, Device.CPU, false, false)) {
            b.step(false);
            long before = Torch.d2hReads();
            b.step(false);
            assertEquals(0, Torch.d2hReads() - before, "non-logging bench step");
            Map<String, Double> losses = b.step(true);
            assertEquals(losses.size(), Torch.d2hReads() - before, "one read per loss on a logging step");
        }
    }

    @Test
    void idsAreCheckedOnTheHostBeforeUpload() {
        TorchException e = assertThrows(TorchException.class, () -> BatchChecks.ids(new long[] {2, 7, 30522, 4}, 30522, "batch input_ids"));
        assertEquals("batch input_ids: id 30522 at flat position 2 is outside the vocabulary [0, 30522)", e.getMessage());
        assertThrows(TorchException.class, () -> BatchChecks.ids(new long[] {-1}, 10, "ids"));
        BatchChecks.ids(new long[] {0, 9}, 10, "ids");
    }

}
