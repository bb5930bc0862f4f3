package io.xformer.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `xformer eval ...` stage-1 tasks on test-data/synthetic with the tiny fixtures. */
class EvalCommandTest {
    static final Path ROOT = Path.of(System.getProperty("xformer.root", "..")).toAbsolutePath().normalize();
    static final Path SYN = ROOT.resolve("test-data/synthetic");
    static final String TOK = ROOT.resolve("test-data/hf-tiny/tokenizer-wordpiece/tokenizer.json").toString();
    static final String XF = ROOT.resolve("test-data/xformer-tiny/xformer-tiny").toString();
    static final String B2 = ROOT.resolve("test-data/xformer-tiny/blip2-stage1-tiny").toString();
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void retrievalPrintsATableAndItsScoresFileRescores() throws Exception {
        Path out = tmp.resolve("ret");
        CliTest.Result r = CliTest.run("eval", "retrieval", "--model", XF, "--tokenizer", TOK, "--data",
                SYN.resolve("captions_train.json").toString(), "--out", out.toString(), "--batch-size", "4");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("txt_r1") && r.out().contains("img_r_mean"), r.out());
        assertEquals("", r.err(), "no progress output when stderr is not a terminal");
        JsonNode scores = JSON.readTree(out.resolve("scores.json").toFile());
        assertEquals("retrieval", scores.get("task").asText());
        assertEquals(9, scores.get("settings").get("k_used").asInt());
        // the scorer on the written scores file gives the same recalls
        JsonNode again = JSON.readTree(CliTest.run("score", "retrieval", "--scores", out.resolve("retrieval_scores.json").toString(),
                "--json").out());
        assertEquals(scores.get("metrics").get("r_mean").asDouble(), again.get("r_mean").asDouble(), 1e-12);
        CliTest.Result bad = CliTest.run("eval", "retrieval", "--model", XF, "--data", SYN.resolve("captions_train.json").toString(),
                "--out", out.toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("no tokenizer"), bad.err());
    }

    @Test
    void queryDiversityWritesNumbersAndANonBlankHeatmapPerModel() throws Exception {
        Path out = tmp.resolve("qd");
        CliTest.Result r = CliTest.run("eval", "query-diversity", "--model", XF, "--baseline", B2, "--tokenizer", TOK, "--data",
                SYN.resolve("captions_train.json").toString(), "--out", out.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode scores = JSON.readTree(r.out());
        assertTrue(scores.get("metrics").has("model_row_max_mean") && scores.get("metrics").has("baseline_row_max_mean"));
        JsonNode qd = JSON.readTree(out.resolve("query_diversity.json").toFile());
        assertEquals(4, qd.get("model").get("matrix").size());
        for (String name : new String[] {"model", "baseline"}) {
            BufferedImage img = ImageIO.read(out.resolve("query_diversity_" + name + ".png").toFile());
            assertNotNull(img, name);
            assertEquals(640, img.getWidth());
            Set<Integer> colours = new HashSet<>();
            for (int y = 0; y < img.getHeight(); y += 2) for (int x = 0; x < img.getWidth(); x += 2) colours.add(img.getRGB(x, y));
            // a heatmap of 16 cells with a colour scale, title and axes: far more than a blank canvas's one colour
            assertTrue(colours.size() > 20, name + ": " + colours.size() + " colours");
        }
    }

    @Test
    void sugarCrepeAndClassify() throws Exception {
        Path sc = tmp.resolve("replace_obj.json");
        Files.writeString(sc, "{\"0\": {\"filename\": \"images/000000.png\", \"caption\": \"three blue triangles\", "
                + "\"negative_caption\": \"three blue circles\"}, \"1\": {\"filename\": \"images/000001.png\", \"caption\": \"two red squares\", "
                + "\"negative_caption\": \"two red circles\"}}");
        CliTest.Result r = CliTest.run("eval", "sugarcrepe", "--model", XF, "--tokenizer", TOK, "--data", sc.toString(), "--images",
                SYN.toString(), "--out", tmp.resolve("sc").toString(), "--json");
        assertEquals(0, r.code(), r.err());
        double acc = JSON.readTree(r.out()).get("metrics").get("replace_obj").asDouble();
        assertTrue(acc == 0 || acc == 50 || acc == 100, "2 items: " + acc);
        Path dir = tmp.resolve("classes");
        for (String c : new String[] {"red", "blue"}) Files.createDirectories(dir.resolve(c));
        for (int i = 0; i < 6; i++)
            Files.copy(SYN.resolve(String.format("images/%06d.png", i)), dir.resolve(i % 2 == 0 ? "red" : "blue").resolve(i + ".png"));
        r = CliTest.run("eval", "classify", "--model", B2, "--tokenizer", TOK, "--data", dir.toString(), "--out", tmp.resolve("cls").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("top1") && r.out().contains("top2"), r.out());
        assertTrue(Files.isRegularFile(tmp.resolve("cls/classify_predictions.json")));
    }
}
