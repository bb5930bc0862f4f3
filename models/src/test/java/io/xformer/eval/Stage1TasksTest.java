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
        int cached = io.xformer.models.DeviceConstants.size();
        RetrievalTask.Data d = RetrievalTask.Data.read(SYN.resolve("captions_train.json"), SYN);
        TaskOutput out = RetrievalTask.run(model, d, 128, tmp, Progress.NONE);
        // constants cached per shape on the device (ITM labels of a new batch size) stay, by design
        assertEquals(live + io.xformer.models.DeviceConstants.size() - cached, Torch.liveTensors(), "tensors leaked");
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

    @Test
    void sugarCrepeScoresPositiveAgainstNegativePerCategory() throws Exception {
        // two categories from the sample: the image's own caption against another image's, and against itself with "circle"/"square" swapped
        JsonNode caps = JsonFiles.read(SYN.resolve("captions_train.json"), "captions");
        var replace = JsonFiles.JSON.createObjectNode();
        var swap = JsonFiles.JSON.createObjectNode();
        for (int i = 0; i < caps.size(); i++) {
            String c = caps.get(i).get("caption").asText(), other = caps.get((i + 1) % caps.size()).get("caption").asText();
            replace.putObject(Integer.toString(i)).put("filename", caps.get(i).get("image").asText()).put("caption", c)
                    .put("negative_caption", other);
            swap.putObject(Integer.toString(i)).put("filename", caps.get(i).get("image").asText()).put("caption", c)
                    .put("negative_caption", c.contains("circle") ? c.replace("circle", "square") : c.replace("square", "circle") + " and a circle");
        }
        Path dir = Files.createDirectories(tmp.resolve("sugarcrepe"));
        JsonFiles.JSON.writeValue(dir.resolve("replace_obj.json").toFile(), replace);
        JsonFiles.JSON.writeValue(dir.resolve("swap_att.json").toFile(), swap);
        TaskOutput out = SugarCrepeTask.run(model, dir, SYN, tmp.resolve("out"), Progress.NONE);
        assertEquals(java.util.List.of("replace_obj", "swap_att", "mean", "chance"), java.util.List.copyOf(out.metrics().keySet()));
        for (double v : out.metrics().values()) assertTrue(v >= 0 && v <= 100, out.metrics().toString());
        JsonNode preds = JsonFiles.read(tmp.resolve("out/sugarcrepe_predictions.json"), "predictions");
        assertEquals(9, preds.get("replace_obj").size());
        long correct = 0;
        for (JsonNode p : preds.get("replace_obj")) {
            double pos = p.get("positive_score").asDouble(), neg = p.get("negative_score").asDouble();
            assertTrue(pos > 0 && pos < 1 && neg > 0 && neg < 1);
            assertEquals(pos > neg, p.get("correct").asBoolean());
            if (pos > neg) correct++;
        }
        assertEquals(100.0 * correct / 9, out.metrics().get("replace_obj"), 1e-12);
        assertTrue(Files.isRegularFile(tmp.resolve("out/scores.json")));
    }

    @Test
    void classifyAnImageFolderByItc() throws Exception {
        // classes by the first colour word of each caption; 10 images
        Path dir = tmp.resolve("folders");
        JsonNode caps = JsonFiles.read(SYN.resolve("captions_train.json"), "captions");
        JsonNode val = JsonFiles.read(SYN.resolve("captions_val.json"), "captions");
        int n = 0;
        for (JsonNode list : java.util.List.of(caps, val))
            for (JsonNode c : list) {
                String colour = c.get("caption").asText().split(" ")[1];
                Path target = Files.createDirectories(dir.resolve(colour)).resolve(Path.of(c.get("image").asText()).getFileName());
                Files.copy(SYN.resolve(c.get("image").asText()), target);
                n++;
            }
        TaskOutput out = ClassifyTask.run(model, dir, ClassifyTask.PROMPT, tmp.resolve("out"), Progress.NONE);
        int classes = out.settings().get("classes").asInt();
        assertTrue(classes >= 2 && classes <= 4);
        String topK = "top" + Math.min(5, classes);
        assertTrue(out.metrics().get("top1") >= 0 && out.metrics().get("top1") <= out.metrics().get(topK));
        // k = number of classes -> every label is in the top k
        if (classes <= 5) assertEquals(100.0, out.metrics().get(topK));
        assertEquals(100.0 / classes, out.metrics().get("chance_top1"), 1e-12);
        JsonNode preds = JsonFiles.read(tmp.resolve("out/classify_predictions.json"), "predictions");
        assertEquals(n, preds.size());
        var e = assertThrows(IllegalArgumentException.class, () -> ClassifyTask.run(model, tmp.resolve("none"), ClassifyTask.PROMPT, tmp, Progress.NONE));
        assertTrue(e.getMessage().contains("none"), e.getMessage());
    }

    @Test
    void queryDiversityIsAQxQMatrixOfCosines() throws Exception {
        RetrievalTask.Data d = RetrievalTask.Data.read(SYN.resolve("captions_train.json"), SYN);
        QueryDiversityTask.Result r = QueryDiversityTask.compute(model, d, Progress.NONE);
        try (Stage1Model blip2 = Stage1Model.load(BLIP2, TOKENIZER, model.settings, Device.CPU, DType.F32)) {
            QueryDiversityTask.Result b = QueryDiversityTask.compute(blip2, d, Progress.NONE);
            // xformer-tiny has 4 queries
            assertEquals(4, r.matrix().length);
            assertEquals(9, r.pairs());
            for (QueryDiversityTask.Result x : java.util.List.of(r, b)) {
                for (double[] row : x.matrix()) for (double v : row) assertTrue(Math.abs(v) <= 1 + 1e-6, "cosine " + v);
                double mean = 0, diag = 0;
                for (int i = 0; i < 4; i++) {
                    for (int j = 0; j < 4; j++) mean += x.matrix()[i][j] / 16;
                    diag += x.matrix()[i][i] / 4;
                    assertTrue(x.rowMax()[i] >= x.matrix()[i][i]);
                }
                assertEquals(mean, x.mean(), 1e-9);
                assertEquals(diag, x.diagonalMean(), 1e-9);
                assertEquals((16 * mean - 4 * diag) / 12, x.offDiagonalMean(), 1e-9);
            }
            TaskOutput out = QueryDiversityTask.write(java.util.List.of(r, b), model.describe(), tmp);
            JsonNode j = JsonFiles.read(tmp.resolve("query_diversity.json"), "qd");
            assertEquals(4, j.get("model").get("matrix").size());
            assertTrue(j.has("baseline"));
            assertTrue(out.metrics().containsKey("baseline_row_max_mean"));
        }
    }
}
