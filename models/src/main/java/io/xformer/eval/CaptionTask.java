package io.xformer.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * COCO-style captioning (COCO Karpathy test, NoCaps val, make-synthetic's {@code coco_val_gt.json}):
 * one caption per image of the GT file's {@code images} (prompt "a photo of", not part of the
 * output), written as {@code [{"image_id", "caption"}]} ({@code caption_results.json}, what
 * pycocoevalcap's loadRes reads) and scored by {@link CaptionEval}. Images: {@code file_name}
 * relative to the image root. CoreNLP is checked before generating, so a missing jar fails early.
 */
public final class CaptionTask {
    private CaptionTask() {}

    public static TaskOutput run(Answerer a, Path gt, Path imageRoot, String prompt, int batch, Path outDir, Progress progress) {
        PtbTokenizer.get();
        JsonNode root = JsonFiles.read(gt, "caption annotations");
        JsonNode imgs = JsonFiles.array(root.get("images"), gt + ": \"images\"");
        List<Path> images = new ArrayList<>();
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < imgs.size(); i++) {
            String where = gt + ": images[" + i + "]";
            JsonFiles.id(imgs.get(i), "id", where);
            images.add(imageRoot.resolve(JsonFiles.text(imgs.get(i), "file_name", where)));
            prompts.add(prompt);
        }
        List<String> captions = GenerationTasks.answerAll(a, images, prompts, batch, progress);
        ArrayNode results = JsonFiles.JSON.createArrayNode();
        for (int i = 0; i < imgs.size(); i++) results.addObject().set("image_id", imgs.get(i).get("id"));
        for (int i = 0; i < imgs.size(); i++) ((ObjectNode) results.get(i)).put("caption", captions.get(i));
        Path resultsFile = outDir.resolve("caption_results.json");
        TaskOutput.writeJson(resultsFile, results);
        CaptionEval.Result r = CaptionEval.evaluate(gt, resultsFile);
        ObjectNode settings = a.settings().deepCopy();
        settings.put("prompt", prompt).put("tokenizer", "CoreNLP 3.4.1 PTBTokenizer -preserveLines -lowerCase");
        settings.put("results_file", resultsFile.getFileName().toString());
        return TaskOutput.write(outDir, "coco-caption", settings, r.metrics(), null);
    }
}
