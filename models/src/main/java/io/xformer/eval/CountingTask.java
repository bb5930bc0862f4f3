package io.xformer.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * OC (object counting, "How many {} are there in the image?") and MCI (multi-class
 * identification, "Does {} exist in the image?"). Input: a JSON array of
 * {@code {"image": "rel/path", "answer": "...", "question": "..."}} or, instead of
 * {@code question}, {@code "object"} filled into the task's template (make-synthetic's
 * {@code vqa_counting.json} / {@code vqa_identification.json} are in this format). Each question
 * goes through the VQA prompt; accuracy = exact match after the VQA normalisation of both sides
 * ({@code processPunctuation} + {@code processDigitArticle}: "three" = "3"), in percent, beside
 * the majority-answer baseline. Writes {@code <task>_results.json}.
 */
public final class CountingTask {
    public enum Kind {
        OC("oc", "How many {} are there in the image?"), MCI("mci", "Does {} exist in the image?");

        public final String task, template;

        Kind(String task, String template) {
            this.task = task;
            this.template = template;
        }
    }

    private CountingTask() {}

    public static TaskOutput run(Answerer a, Kind kind, Path data, Path imageRoot, String prompt, int batch, Path outDir, Progress progress) {
        JsonNode items = JsonFiles.array(JsonFiles.read(data, kind.task + " data"), data.toString());
        if (items.isEmpty()) throw new IllegalArgumentException(data + ": no questions");
        List<Path> images = new ArrayList<>();
        List<String> questions = new ArrayList<>(), prompts = new ArrayList<>(), gts = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            JsonNode it = items.get(i);
            String where = data + ": [" + i + "]";
            images.add(imageRoot.resolve(JsonFiles.text(it, "image", where)));
            String q = it.has("question") ? JsonFiles.text(it, "question", where) : kind.template.replace("{}", JsonFiles.text(it, "object", where));
            questions.add(q);
            prompts.add(GenerationTasks.prompt(prompt, q));
            gts.add(JsonFiles.text(it, "answer", where));
        }
        List<String> answers = GenerationTasks.answerAll(a, images, prompts, batch, progress);
        ArrayNode results = JsonFiles.JSON.createArrayNode();
        int correct = 0;
        Map<String, Integer> freq = new HashMap<>();
        for (int i = 0; i < answers.size(); i++) {
            String gt = GqaEval.normalize(gts.get(i));
            boolean hit = GqaEval.normalize(answers.get(i)).equals(gt);
            if (hit) correct++;
            freq.merge(gt, 1, Integer::sum);
            results.addObject().put("index", i).put("image", items.get(i).get("image").asText()).put("question", questions.get(i))
                    .put("pred_ans", answers.get(i)).put("gt_ans", gts.get(i)).put("correct", hit);
        }
        Path resultsFile = outDir.resolve(kind.task + "_results.json");
        TaskOutput.writeJson(resultsFile, results);
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("acc", 100.0 * correct / answers.size());
        metrics.put("majority_baseline", 100.0 * freq.values().stream().mapToInt(Integer::intValue).max().orElse(0) / answers.size());
        ObjectNode settings = a.settings().deepCopy();
        settings.put("prompt", prompt).put("template", kind.template).put("questions", answers.size());
        settings.put("results_file", resultsFile.getFileName().toString());
        return TaskOutput.write(outDir, kind.task, settings, metrics, null);
    }
}
