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
 * VQAv2 (and any set in the official VQA format): one answer per question from the prompt
 * "Question: {} Short answer:" on the {@code blip_question}-processed question; the answers in
 * the official result format {@code [{"question_id", "answer"}]} ({@code vqa_results.json}),
 * scored by {@link VqaEval} when the annotation file is given.
 * Images: a question's {@code image} field (make-synthetic writes one) relative to the image
 * root, else VQAv2's naming {@code COCO_<data_subtype>_<image_id as 12 digits>.jpg}.
 */
public final class VqaTask {
    private VqaTask() {}

    public static TaskOutput run(Answerer a, Path questions, Path annotations, Path imageRoot, String prompt, VqaEval.Variant variant,
                                 int batch, Path outDir, Progress progress) {
        return run("vqav2", a, questions, annotations, imageRoot, prompt, variant, null, batch, outDir, progress);
    }

    /**
     * With a lemmatizer (OK-VQA, EVAL.md §3): {@code vqa_results.json} holds the lemmatised
     * answers LAVIS scores, {@code vqa_results_raw.json} the raw ones, and scores.json both
     * accuracies ({@code overall}, {@code overall_unlemmatised}).
     */
    public static TaskOutput run(String task, Answerer a, Path questions, Path annotations, Path imageRoot, String prompt,
                                 VqaEval.Variant variant, Lemmatizer lemmatizer, int batch, Path outDir, Progress progress) {
        JsonNode q = JsonFiles.read(questions, "questions");
        JsonNode qs = JsonFiles.array(q.get("questions"), questions + ": \"questions\"");
        String subtype = q.path("data_subtype").asText("val2014");
        List<Path> images = new ArrayList<>();
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < qs.size(); i++) {
            JsonNode one = qs.get(i);
            String where = questions + ": questions[" + i + "]";
            JsonFiles.id(one, "question_id", where);
            images.add(imageRoot.resolve(one.has("image") ? one.get("image").asText()
                    : String.format("COCO_%s_%012d.jpg", subtype, JsonFiles.field(one, "image_id", where).asLong())));
            prompts.add(GenerationTasks.prompt(prompt, JsonFiles.text(one, "question", where)));
        }
        List<String> raw = GenerationTasks.answerAll(a, images, prompts, batch, progress);
        List<String> answers = lemmatizer == null ? raw : raw.stream().map(lemmatizer::apply).toList();
        Path resultsFile = outDir.resolve("vqa_results.json"), rawFile = outDir.resolve("vqa_results_raw.json");
        TaskOutput.writeJson(resultsFile, results(qs, answers));
        if (lemmatizer != null) TaskOutput.writeJson(rawFile, results(qs, raw));
        Map<String, Double> metrics = new LinkedHashMap<>();
        ObjectNode settings = a.settings().deepCopy();
        if (lemmatizer != null)
            settings.put("lemmatizer", "CoreNLP 3.4.1 english-left3words tagger + Morphology on NN/NNS/VB* (LAVIS uses spaCy en_core_web_sm)");
        settings.put("prompt", prompt).put("question_processing", "blip_question").put("questions", qs.size());
        settings.put("results_file", resultsFile.getFileName().toString());
        if (annotations != null) {
            VqaEval.Result r = VqaEval.evaluate(questions, annotations, resultsFile, variant);
            metrics.put("overall", r.overall());
            r.perAnswerType().forEach(metrics::put);
            if (lemmatizer != null) metrics.put("overall_unlemmatised", VqaEval.evaluate(questions, annotations, rawFile, variant).overall());
            settings.put("vqa_variant", variant.label());
        }
        return TaskOutput.write(outDir, task, settings, metrics, null);
    }

    private static ArrayNode results(JsonNode qs, List<String> answers) {
        ArrayNode results = JsonFiles.JSON.createArrayNode();
        for (int i = 0; i < qs.size(); i++) {
            ObjectNode r = results.addObject();
            r.set("question_id", qs.get(i).get("question_id"));
            r.put("answer", answers.get(i));
        }
        return results;
    }
}
