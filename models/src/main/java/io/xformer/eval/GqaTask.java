package io.xformer.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GQA (testdev_balanced_questions.json, an object keyed by question id): answers to the VQA
 * prompt, written as LAVIS's result file {@code [{"question_id", "pred_ans", "gt_ans"}]}
 * ({@code gqa_results.json}) and scored by {@link GqaEval} with the structural / semantic
 * breakdown. Images: a question's {@code image} field, else {@code <imageId>.jpg}.
 */
public final class GqaTask {
    private GqaTask() {}

    public static TaskOutput run(Answerer a, Path questions, Path imageRoot, String prompt, int batch, Path outDir, Progress progress) {
        JsonNode root = JsonFiles.read(questions, "questions");
        Map<String, JsonNode> byId = GqaEval.questionsById(root, questions.toString());
        List<String> ids = new ArrayList<>(byId.keySet());
        List<Path> images = new ArrayList<>();
        List<String> prompts = new ArrayList<>();
        for (String id : ids) {
            JsonNode q = byId.get(id);
            String where = questions + ": question " + id;
            images.add(imageRoot.resolve(q.has("image") ? q.get("image").asText() : JsonFiles.text(q, "imageId", where) + ".jpg"));
            prompts.add(GenerationTasks.prompt(prompt, JsonFiles.text(q, "question", where)));
            JsonFiles.text(q, "answer", where);
        }
        List<String> answers = GenerationTasks.answerAll(a, images, prompts, batch, progress);
        ArrayNode results = JsonFiles.JSON.createArrayNode();
        for (int i = 0; i < ids.size(); i++)
            results.addObject().put("question_id", ids.get(i)).put("pred_ans", answers.get(i)).put("gt_ans", byId.get(ids.get(i)).get("answer").asText());
        Path resultsFile = outDir.resolve("gqa_results.json");
        TaskOutput.writeJson(resultsFile, results);
        GqaEval.Result r = GqaEval.evaluate(results, resultsFile.toString(), root, questions.toString());
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("acc", r.acc());
        r.structural().forEach((k, v) -> metrics.put("structural/" + k, v));
        r.semantic().forEach((k, v) -> metrics.put("semantic/" + k, v));
        ObjectNode settings = a.settings().deepCopy();
        settings.put("prompt", prompt).put("rule", "LAVIS HEAD: processPunctuation + processDigitArticle on prediction and answer");
        settings.put("results_file", resultsFile.getFileName().toString());
        return TaskOutput.write(outDir, "gqa", settings, metrics, null);
    }
}
