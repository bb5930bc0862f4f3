package io.xformer.data;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.xformer.eval.CaptionEval;
import io.xformer.eval.GqaEval;
import io.xformer.eval.VqaEval;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** make-synthetic's held-out split in the official formats: the scorers load it, and the older outputs did not change. */
class SyntheticEvalFilesTest {
    static final Path SAMPLE = Path.of(System.getProperty("xformer.root", "..")).resolve("test-data/synthetic");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void existingOutputsAreUnchangedAndTheNewOnesMatchTheSample() throws Exception {
        // test-data/synthetic is `make-synthetic --images 10 --seed 0 --size 48`
        Synthetic.generate(tmp, 10, 0, 48);
        for (String f : List.of("captions_train.json", "captions_val.json", "vqa_counting.json", "vqa_identification.json",
                "vqav2_val_questions.json", "vqav2_val_annotations.json", "gqa_val_questions.json", "coco_val_gt.json"))
            assertEquals(Files.readString(SAMPLE.resolve(f)), Files.readString(tmp.resolve(f)), f);
        for (int i = 0; i < 10; i++) {
            String img = String.format("images/%06d.png", i);
            assertArrayEquals(Files.readAllBytes(SAMPLE.resolve(img)), Files.readAllBytes(tmp.resolve(img)), img);
        }
    }

    @Test
    void oracleResultsScorePerfectlyInEveryFormat() throws Exception {
        Synthetic.generate(tmp, 40, 3, 32);
        JsonNode q = JSON.readTree(tmp.resolve("vqav2_val_questions.json").toFile());
        JsonNode a = JSON.readTree(tmp.resolve("vqav2_val_annotations.json").toFile());
        // 40 images -> val = images 9, 19, 29, 39 -> 2 questions each
        assertEquals(8, q.get("questions").size());
        ArrayNode oracle = JSON.createArrayNode(), wrong = JSON.createArrayNode();
        for (JsonNode ann : a.get("annotations")) {
            assertEquals(10, ann.get("answers").size());
            oracle.addObject().put("question_id", ann.get("question_id").asInt()).put("answer", ann.get("multiple_choice_answer").asText());
            wrong.addObject().put("question_id", ann.get("question_id").asInt()).put("answer", "purple");
        }
        for (JsonNode question : q.get("questions")) assertTrue(Files.isRegularFile(tmp.resolve(question.get("image").asText())));
        assertEquals(100.0, VqaEval.evaluate(q, "Q", a, "A", oracle, "R", VqaEval.Variant.LAVIS).overall());
        assertEquals(100.0, VqaEval.evaluate(q, "Q", a, "A", oracle, "R", VqaEval.Variant.OFFICIAL).overall());
        VqaEval.Result w = VqaEval.evaluate(q, "Q", a, "A", wrong, "R", VqaEval.Variant.LAVIS);
        assertEquals(0.0, w.overall());
        assertEquals(List.of("number", "yes/no"), List.copyOf(w.perAnswerType().keySet()));

        JsonNode gqa = JSON.readTree(tmp.resolve("gqa_val_questions.json").toFile());
        ArrayNode gqaRes = JSON.createArrayNode();
        gqa.fields().forEachRemaining(e -> gqaRes.addObject().put("question_id", e.getKey())
                .put("pred_ans", e.getValue().get("answer").asText()).put("gt_ans", e.getValue().get("answer").asText()));
        GqaEval.Result g = GqaEval.evaluate(gqaRes, "R", gqa, "Q");
        assertEquals(100.0, g.acc());
        assertEquals(List.of("query", "verify"), List.copyOf(g.structural().keySet()));

        JsonNode coco = JSON.readTree(tmp.resolve("coco_val_gt.json").toFile());
        ArrayNode capRes = JSON.createArrayNode();
        for (JsonNode ann : coco.get("annotations")) capRes.addObject().put("image_id", ann.get("image_id").asInt()).put("caption", ann.get("caption").asText());
        CaptionEval.Result c = CaptionEval.evaluate(coco, "GT", capRes, "R", io.xformer.eval.PtbTokenizer.get()::tokenize);
        assertEquals(4, c.perImage().size());
        assertEquals(1.0, c.metrics().get("ROUGE_L"), 1e-12);
        assertEquals(1.0, c.metrics().get("Bleu_1"), 1e-8);
    }
}
