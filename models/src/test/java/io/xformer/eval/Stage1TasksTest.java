package io.xformer.eval;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Torch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stage-1 tasks end to end on test-data/synthetic (10 images) with the xformer-tiny fixture. */
class Stage1TasksTest {
    static final Path ROOT = Path.of(System.getProperty("xformer.root", "..")).toAbsolutePath().normalize();
    static final Path SYN = ROOT.resolve("test-data/synthetic");
    static final Path TOKENIZER = ROOT.resolve("test-data/hf-tiny/tokenizer-wordpiece/tokenizer.json");
    static final Path XFORMER = ROOT.resolve("test-data/xformer-tiny/xformer-tiny");
    static final Path BLIP2 = ROOT.resolve("test-data/xformer-tiny/blip2-stage1-tiny");
    static Stage1Model model;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        model = Stage1Model.load(XFORMER, TOKENIZER, new Stage1Model.Settings(4, 35, 50, 0), Device.CPU, DType.F32);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void retrievalWritesScoresThatScoreRetrievalReproduces() throws Exception {
        // the 9 training images, one caption each: 9 x 9, k_test 128 clamps to 9
        long live = Torch.liveTensors();
        RetrievalTask.Data d = RetrievalTask.Data.read(SYN.resolve("captions_train.json"), SYN);
        TaskOutput out = RetrievalTask.run(model, d, 128, tmp, Progress.NONE);
        assertEquals(live, Torch.liveTensors(), "tensors leaked");
        Map<String, Double> m = out.metrics();
        for (String k : new String[] {"txt_r1", "txt_r5", "txt_r10", "img_r1", "img_r5", "img_r10", "r_mean"})
            assertTrue(m.get(k) >= 0 && m.get(k) <= 100, k + " = " + m.get(k));
        assertEquals(100.0, m.get("txt_r10"));
        JsonNode scores = JsonFiles.read(out.scoresFile(), "scores");
        assertEquals(9, scores.get("settings").get("k_used").asInt());
        assertTrue(scores.get("settings").get("note").asText().contains("clamped"));
        // k = 9 = every candidate: ITM was computed everywhere, and the scorer reproduces the task's metrics from the file
        RetrievalScores s = RetrievalScores.read(tmp.resolve("retrieval_scores.json"));
        for (double[] row : s.itmLogit()) for (double v : row) assertFalse(Double.isNaN(v));
        assertEquals(RetrievalEval.score(s, 9).get("r_mean"), m.get("r_mean"));
        // k = 2: ITM only where a top-2 needs it, NaN (null) elsewhere
        TaskOutput two = RetrievalTask.run(model, d, 2, tmp.resolve("k2"), Progress.NONE);
        RetrievalScores s2 = RetrievalScores.read(tmp.resolve("k2/retrieval_scores.json"));
        long missing = java.util.Arrays.stream(s2.itmLogit()).flatMapToDouble(java.util.Arrays::stream).filter(Double::isNaN).count();
        assertTrue(missing > 0 && missing < 81, "missing " + missing);
        assertEquals(two.metrics().get("txt_r1"), RetrievalEval.score(s2, 2).get("txt_r1"));
        // ITC itself: cosines in [-1, 1]
        for (double[] row : s.itcSim()) for (double v : row) assertTrue(Math.abs(v) <= 1 + 1e-6);
    }
}
