package io.xformer.eval;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.data.Synthetic;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generation-based tasks against test doubles of the model (a lookup table and a constant), on make-synthetic's files. */
class GenerationTasksTest {
    @TempDir
    Path tmp;

    /** A test double: answers from a table keyed by "image file|prompt", recording what it was asked. */
    static final class Table implements Answerer {
        final Map<String, String> byPrompt;
        final List<String> prompts = new ArrayList<>();
        final List<Path> images = new ArrayList<>();
        int calls;

        Table(Map<String, String> byPrompt) {
            this.byPrompt = byPrompt;
        }

        @Override
        public List<String> answer(List<Path> img, List<String> p) {
            calls++;
            images.addAll(img);
            prompts.addAll(p);
            List<String> out = new ArrayList<>();
            for (int i = 0; i < p.size(); i++) out.add(byPrompt.getOrDefault(img.get(i).getFileName() + "|" + p.get(i), "purple"));
            return out;
        }
    }

    @Test
    void promptsUseLavisQuestionProcessing() {
        // lower-case; . ! " ( ) * # : ; ~ deleted; '?' and ',' kept
        assertEquals("Question: is the man (left) wearing a hat, or not? Short answer:".replace("(left)", "left"),
                GenerationTasks.prompt(GenerationTasks.VQA_PROMPT, "Is the man (left) wearing a hat, or not?"));
        assertEquals("how many dogs?", GenerationTasks.preQuestion("How many dogs?  "));
        assertEquals("st louis", GenerationTasks.preQuestion("St. Louis!"));
    }

    @Test
    void vqav2WritesOfficialResultsAndScoresThem() throws Exception {
        Synthetic.generate(tmp, 30, 5, 32);
        JsonNode q = JsonFiles.read(tmp.resolve("vqav2_val_questions.json"), "q");
        JsonNode ann = JsonFiles.read(tmp.resolve("vqav2_val_annotations.json"), "a");
        Map<String, String> table = new HashMap<>();
        for (int i = 0; i < q.get("questions").size(); i++) {
            JsonNode one = q.get("questions").get(i);
            table.put(Path.of(one.get("image").asText()).getFileName() + "|" + GenerationTasks.prompt(GenerationTasks.VQA_PROMPT,
                    one.get("question").asText()), ann.get("annotations").get(i).get("multiple_choice_answer").asText());
        }
        Table oracle = new Table(table);
        Path out = tmp.resolve("vqa");
        TaskOutput o = VqaTask.run(oracle, tmp.resolve("vqav2_val_questions.json"), tmp.resolve("vqav2_val_annotations.json"), tmp,
                GenerationTasks.VQA_PROMPT, VqaEval.Variant.LAVIS, 4, out, Progress.NONE);
        // 30 images -> val images 9, 19, 29 -> 6 questions, answered in batches of 4 -> 2 calls
        assertEquals(2, oracle.calls);
        assertEquals(6, oracle.prompts.size());
        assertTrue(oracle.prompts.get(0).startsWith("Question: how many ") && oracle.prompts.get(0).endsWith("? Short answer:"));
        assertEquals(tmp.resolve("images/000009.png"), oracle.images.get(0));
        JsonNode results = JsonFiles.read(out.resolve("vqa_results.json"), "r");
        assertEquals(6, results.size());
        assertEquals(90, results.get(0).get("question_id").asInt());
        assertTrue(results.get(0).get("answer").isTextual());
        assertEquals(100.0, o.metrics().get("overall"));
        // the scorer re-scores the written file with the same number
        assertEquals(VqaEval.evaluate(tmp.resolve("vqav2_val_questions.json"), tmp.resolve("vqav2_val_annotations.json"),
                out.resolve("vqa_results.json"), VqaEval.Variant.LAVIS).overall(), o.metrics().get("overall"));
        // a constant "purple" is never right
        TaskOutput none = VqaTask.run(new Table(Map.of()), tmp.resolve("vqav2_val_questions.json"), tmp.resolve("vqav2_val_annotations.json"),
                tmp, GenerationTasks.VQA_PROMPT, VqaEval.Variant.LAVIS, 64, tmp.resolve("none"), Progress.NONE);
        assertEquals(0.0, none.metrics().get("overall"));
    }

    @Test
    void ocAndMciAccuracyAgainstTheMajorityBaseline() throws Exception {
        // 4 images: counting answers and identification answers from make-synthetic's files
        Synthetic.generate(tmp, 4, 1, 32);
        JsonNode count = JsonFiles.read(tmp.resolve("vqa_counting.json"), "c");
        // the double answers digits: "three" (GT) vs "3" (answer) match after processDigitArticle
        Map<String, String> digits = Map.of("one", "1", "two", "2", "three", "3", "four", "4");
        List<String> gts = new ArrayList<>();
        for (JsonNode c : count) gts.add(c.get("answer").asText());
        Answerer byOrder = (images, prompts) -> {
            List<String> out = new ArrayList<>();
            for (Path p : images) {
                int i = Integer.parseInt(p.getFileName().toString().substring(0, 6));
                // right on even images, "purple" on odd ones -> 2 of 4 right
                out.add(i % 2 == 0 ? digits.get(gts.get(i)) : "purple");
            }
            return out;
        };
        TaskOutput oc = CountingTask.run(byOrder, CountingTask.Kind.OC, tmp.resolve("vqa_counting.json"), tmp, GenerationTasks.VQA_PROMPT, 3,
                tmp.resolve("oc"), Progress.NONE);
        assertEquals(50.0, oc.metrics().get("acc"));
        // majority baseline: the most frequent normalised answer's share
        Map<String, Integer> f = new HashMap<>();
        for (String g : gts) f.merge(GqaEval.normalize(g), 1, Integer::sum);
        assertEquals(100.0 * f.values().stream().mapToInt(Integer::intValue).max().getAsInt() / 4, oc.metrics().get("majority_baseline"));
        assertEquals(4, JsonFiles.read(tmp.resolve("oc/oc_results.json"), "r").size());
        // MCI with "object" entries filled into the template
        Files.writeString(tmp.resolve("mci.json"), "[{\"image\": \"images/000000.png\", \"object\": \"a circle\", \"answer\": \"yes\"},"
                + " {\"image\": \"images/000001.png\", \"object\": \"a square\", \"answer\": \"no\"}]");
        Table yes = new Table(Map.of());
        Answerer alwaysYes = (images, prompts) -> {
            yes.prompts.addAll(prompts);
            return prompts.stream().map(p -> "Yes.").toList();
        };
        TaskOutput mci = CountingTask.run(alwaysYes, CountingTask.Kind.MCI, tmp.resolve("mci.json"), tmp, GenerationTasks.VQA_PROMPT, 8,
                tmp.resolve("mci"), Progress.NONE);
        // "Yes." -> "yes": right on the first, wrong on the second
        assertEquals(50.0, mci.metrics().get("acc"));
        assertEquals("Question: does a circle exist in the image? Short answer:", yes.prompts.get(0));
    }

    @Test
    void gqaAndCaptionTasks() throws Exception {
        Synthetic.generate(tmp, 20, 2, 32);
        JsonNode gqa = JsonFiles.read(tmp.resolve("gqa_val_questions.json"), "g");
        Map<String, String> table = new HashMap<>();
        gqa.fields().forEachRemaining(e -> table.put(Path.of(e.getValue().get("image").asText()).getFileName() + "|"
                + GenerationTasks.prompt(GenerationTasks.VQA_PROMPT, e.getValue().get("question").asText()), e.getValue().get("answer").asText()));
        TaskOutput g = GqaTask.run(new Table(table), tmp.resolve("gqa_val_questions.json"), tmp, GenerationTasks.VQA_PROMPT, 64,
                tmp.resolve("gqa"), Progress.NONE);
        JsonNode res = JsonFiles.read(tmp.resolve("gqa/gqa_results.json"), "r");
        assertEquals(4, res.size());
        assertTrue(res.get(0).has("pred_ans") && res.get(0).has("gt_ans"));
        assertTrue(g.metrics().containsKey("structural/verify"));
        assertEquals(100.0, g.metrics().get("acc"));
        // captions: the double answers each image's GT caption from the file name -> ROUGE-L 1, CIDEr of identical captions
        JsonNode coco = JsonFiles.read(tmp.resolve("coco_val_gt.json"), "gt");
        Map<String, String> byFile = new HashMap<>();
        for (int i = 0; i < coco.get("images").size(); i++)
            byFile.put(coco.get("images").get(i).get("file_name").asText(), coco.get("annotations").get(i).get("caption").asText());
        List<String> asked = new ArrayList<>();
        Answerer captioner = (images, prompts) -> {
            asked.addAll(prompts);
            return images.stream().map(p -> byFile.get("images/" + p.getFileName())).toList();
        };
        TaskOutput c = CaptionTask.run(captioner, tmp.resolve("coco_val_gt.json"), tmp, GenerationTasks.CAPTION_PROMPT, 64,
                tmp.resolve("cap"), Progress.NONE);
        assertEquals(List.of("a photo of", "a photo of"), asked);
        assertEquals(1.0, c.metrics().get("ROUGE_L"), 1e-12);
        JsonNode capRes = JsonFiles.read(tmp.resolve("cap/caption_results.json"), "r");
        assertEquals(9, capRes.get(0).get("image_id").asInt());
    }

    @Test
    void okVqaScoresLemmatisedAnswersAndReportsTheRawScoreBeside() throws Exception {
        // one question, 10 x "dog"; the model says "dogs": lemmatised "dog" -> 100, raw "dogs" -> 0
        Synthetic.generate(tmp, 10, 0, 32);
        Files.writeString(tmp.resolve("q.json"), "{\"data_subtype\": \"val2014\", \"questions\": [{\"question_id\": 7, \"image_id\": 0, "
                + "\"image\": \"images/000000.png\", \"question\": \"What animal?\"}]}");
        StringBuilder ten = new StringBuilder();
        for (int k = 1; k <= 10; k++) ten.append(k > 1 ? "," : "").append("{\"answer\": \"dog\", \"answer_confidence\": \"yes\", \"answer_id\": ").append(k).append("}");
        Files.writeString(tmp.resolve("a.json"), "{\"annotations\": [{\"question_id\": 7, \"image_id\": 0, \"question_type\": \"what\", "
                + "\"answer_type\": \"other\", \"multiple_choice_answer\": \"dog\", \"answers\": [" + ten + "]}]}");
        TaskOutput o = VqaTask.run("okvqa", (images, prompts) -> List.of("dogs"), tmp.resolve("q.json"), tmp.resolve("a.json"), tmp,
                GenerationTasks.VQA_PROMPT, VqaEval.Variant.LAVIS, Lemmatizer.get(), 8, tmp.resolve("ok"), Progress.NONE);
        assertEquals(100.0, o.metrics().get("overall"));
        assertEquals(0.0, o.metrics().get("overall_unlemmatised"));
        assertEquals("dog", JsonFiles.read(tmp.resolve("ok/vqa_results.json"), "r").get(0).get("answer").asText());
        assertEquals("dogs", JsonFiles.read(tmp.resolve("ok/vqa_results_raw.json"), "r").get(0).get("answer").asText());
        assertEquals("okvqa", o.task());
    }
}
