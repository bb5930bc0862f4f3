package io.xformer.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generation tasks end to end: the tiny stage-2 fixture (random weights) as the Answerer, test-data/synthetic's files. */
class EvalGenerationTest {
    static final Path ROOT = Path.of(System.getProperty("xformer.root", "..")).toAbsolutePath().normalize();
    static final Path SYN = ROOT.resolve("test-data/synthetic");
    static final String MODEL = ROOT.resolve("test-data/hf-tiny/blip2-opt-tiny").toString();
    static final String TOK = ROOT.resolve("test-data/hf-tiny/tokenizer-bpe/tokenizer.json").toString();
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    JsonNode run(String task, String... args) throws Exception {
        String[] base = {"eval", task, "--model", MODEL, "--tokenizer", TOK, "--out", tmp.resolve(task).toString(), "--json"};
        String[] all = java.util.Arrays.copyOf(base, base.length + args.length);
        System.arraycopy(args, 0, all, base.length, args.length);
        CliTest.Result r = CliTest.run(all);
        assertEquals(0, r.code(), task + ": " + r.err());
        return JSON.readTree(r.out());
    }

    @Test
    void everyGenerationTaskWritesOfficialResultsAndScores() throws Exception {
        JsonNode vqa = run("vqav2", "--questions", SYN.resolve("vqav2_val_questions.json").toString(), "--annotations",
                SYN.resolve("vqav2_val_annotations.json").toString());
        double overall = vqa.get("metrics").get("overall").asDouble();
        assertTrue(overall >= 0 && overall <= 100);
        assertEquals(5, vqa.get("settings").get("num_beams").asInt());
        assertEquals("Question: {} Short answer:", vqa.get("settings").get("prompt").asText());
        JsonNode results = JSON.readTree(tmp.resolve("vqav2/vqa_results.json").toFile());
        assertEquals(2, results.size());
        assertEquals(90, results.get(0).get("question_id").asInt());
        // the official scorer re-scores the written results with the same number
        JsonNode rescored = JSON.readTree(CliTest.run("score", "vqa", "--questions", SYN.resolve("vqav2_val_questions.json").toString(),
                "--annotations", SYN.resolve("vqav2_val_annotations.json").toString(), "--results",
                tmp.resolve("vqav2/vqa_results.json").toString(), "--json").out());
        assertEquals(overall, rescored.get("overall").asDouble());

        JsonNode ok = run("okvqa", "--questions", SYN.resolve("vqav2_val_questions.json").toString(), "--annotations",
                SYN.resolve("vqav2_val_annotations.json").toString());
        assertTrue(ok.get("metrics").has("overall_unlemmatised") && ok.get("settings").get("lemmatizer").asText().contains("CoreNLP"));
        assertEquals(2, JSON.readTree(tmp.resolve("okvqa/vqa_results_raw.json").toFile()).size());

        JsonNode gqa = run("gqa", "--questions", SYN.resolve("gqa_val_questions.json").toString());
        assertTrue(gqa.get("metrics").has("acc"));
        JsonNode oc = run("oc", "--data", SYN.resolve("vqa_counting.json").toString());
        assertEquals(10, JSON.readTree(tmp.resolve("oc/oc_results.json").toFile()).size());
        assertTrue(oc.get("metrics").get("majority_baseline").asDouble() >= 10);
        JsonNode mci = run("mci", "--data", SYN.resolve("vqa_identification.json").toString());
        assertTrue(mci.get("metrics").get("acc").asDouble() >= 0);
        JsonNode cap = run("coco-caption", "--annotations", SYN.resolve("coco_val_gt.json").toString());
        assertTrue(cap.get("metrics").has("CIDEr") && cap.get("metrics").has("Bleu_4"));
        assertEquals(8, cap.get("settings").get("min_new_tokens").asInt());
        JsonNode capRes = JSON.readTree(tmp.resolve("coco-caption/caption_results.json").toFile());
        assertEquals(9, capRes.get(0).get("image_id").asInt());
        assertTrue(capRes.get(0).get("caption").isTextual());
        // --prompt overrides the template (a model trained without a caption prompt); a VQA prompt needs {}
        JsonNode bare = run("nocaps", "--annotations", SYN.resolve("coco_val_gt.json").toString(), "--prompt", "");
        assertEquals("", bare.get("settings").get("prompt").asText());
        assertEquals(80, bare.get("settings").get("max_new_tokens").asInt());
        CliTest.Result bad = CliTest.run("eval", "oc", "--model", MODEL, "--tokenizer", TOK, "--out", tmp.resolve("bad").toString(), "--data",
                SYN.resolve("vqa_counting.json").toString(), "--prompt", "Answer:");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--prompt must contain {}"), bad.err());
    }
}
