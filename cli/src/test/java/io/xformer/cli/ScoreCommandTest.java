package io.xformer.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `xformer score ...` on test-data/synthetic's held-out files. */
class ScoreCommandTest {
    static final Path SYN = Path.of(System.getProperty("xformer.root", "..")).resolve("test-data/synthetic");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void vqaPrintsATableOrTheOfficialJson() throws Exception {
        // the sample's held-out image 9: question 90 ("how many", GT 10 x "3"), question 91 ("does a", GT 10 x "no")
        Path r = tmp.resolve("r.json");
        Files.writeString(r, "[{\"question_id\": 90, \"answer\": \"three\"}, {\"question_id\": 91, \"answer\": \"yes\"}]");
        String[] args = {"score", "vqa", "--questions", SYN.resolve("vqav2_val_questions.json").toString(), "--annotations",
            SYN.resolve("vqav2_val_annotations.json").toString(), "--results", r.toString()};
        CliTest.Result table = CliTest.run(args);
        assertEquals(0, table.code(), table.err());
        assertTrue(table.out().contains("lavis variant") && table.out().contains("overall"), table.out());
        CliTest.Result json = CliTest.run(append(args, "--json"));
        JsonNode j = JSON.readTree(json.out());
        // LAVIS: "three" -> "3" matches all 10 -> 100; "yes" vs "no" -> 0; overall 50
        assertEquals(50.0, j.get("overall").asDouble());
        assertEquals(100.0, j.get("perAnswerType").get("number").asDouble());
        assertEquals(0.0, j.get("perQuestionType").get("does a").asDouble());
        // official: 10 identical GT answers -> raw comparison -> "three" != "3" -> 0
        j = JSON.readTree(CliTest.run(append(args, "--json", "--variant", "official")).out());
        assertEquals(0.0, j.get("overall").asDouble());
    }

    @Test
    void gqaCaptionAndRetrieval() throws Exception {
        Path r = tmp.resolve("gqa.json");
        Files.writeString(r, "[{\"question_id\": \"90\", \"pred_ans\": \"three\", \"gt_ans\": \"three\"},"
                + " {\"question_id\": \"91\", \"pred_ans\": \"yes\", \"gt_ans\": \"no\"}]");
        JsonNode g = JSON.readTree(CliTest.run("score", "gqa", "--results", r.toString(), "--questions",
                SYN.resolve("gqa_val_questions.json").toString(), "--json").out());
        assertEquals(50.0, g.get("acc").asDouble());
        assertEquals(100.0, g.get("structural").get("query").asDouble());

        // caption: GT "three green circles"; result "Three green circles." tokenises to the same words -> ROUGE-L 1
        Path c = tmp.resolve("cap.json");
        Files.writeString(c, "[{\"image_id\": 9, \"caption\": \"Three green circles.\"}]");
        CliTest.Result cap = CliTest.run("score", "caption", "--annotations", SYN.resolve("coco_val_gt.json").toString(), "--results",
                c.toString(), "--json");
        assertEquals(0, cap.code(), cap.err());
        JsonNode cj = JSON.readTree(cap.out());
        assertEquals(1.0, cj.get("ROUGE_L").asDouble(), 1e-12);
        assertTrue(cj.has("Bleu_4") && cj.has("CIDEr"));

        // retrieval: 2 images x 2 texts, ITC already right, k = 1
        Path s = tmp.resolve("S.json");
        Files.writeString(s, "{\"n_images\": 2, \"n_texts\": 2, \"img2txt\": [[0], [1]], \"txt2img\": [0, 1], \"k_test\": 1,"
                + " \"itc_sim\": [[0.9, 0.1], [0.2, 0.8]], \"itm_logit\": [[1.0, null], [null, 2.0]]}");
        CliTest.Result ret = CliTest.run("score", "retrieval", "--scores", s.toString());
        assertEquals(0, ret.code(), ret.err());
        assertTrue(ret.out().contains("k = 1") && ret.out().contains("txt_r1") && ret.out().contains("100.0000"), ret.out());
        // k = 2 needs the missing ITM entries: one clear error line, exit 2
        CliTest.Result bad = CliTest.run("score", "retrieval", "--scores", s.toString(), "--k", "2");
        assertEquals(2, bad.code());
        assertTrue(bad.err().startsWith("xformer: error: itm_logit["), bad.err());
        bad = CliTest.run("score", "vqa", "--questions", tmp.resolve("nope.json").toString(), "--annotations", "a", "--results", "r");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("nope.json: no such questions file"), bad.err());
    }

    static String[] append(String[] a, String... more) {
        String[] out = java.util.Arrays.copyOf(a, a.length + more.length);
        System.arraycopy(more, 0, out, a.length, more.length);
        return out;
    }
}
