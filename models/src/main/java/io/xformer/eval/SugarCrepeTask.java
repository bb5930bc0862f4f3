package io.xformer.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.nn.Scope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * SugarCrepe: for each image, is the positive caption scored above its hard negative? The score
 * is the ITM match probability {@code softmax(itm_logits)[1]} (ties count as wrong).
 *
 * <p>Input: SugarCrepe's own files, one per category ({@code add_att.json}, {@code replace_obj.json},
 * ...), each {@code {"<id>": {"filename": "000000397133.jpg", "caption": "...", "negative_caption": "..."}}};
 * {@code data} is one such file or a folder of them (category = file name without .json);
 * filenames resolve against {@code imageRoot} (COCO val2017 for the real set).
 * Writes {@code sugarcrepe_predictions.json} and {@code scores.json} (accuracy per category in percent, their mean).
 */
public final class SugarCrepeTask {
    private SugarCrepeTask() {}

    record Item(String category, String id, Path image, String positive, String negative) {}

    static List<Item> read(Path data, Path imageRoot) {
        List<Path> files;
        if (Files.isDirectory(data)) {
            try (Stream<Path> s = Files.list(data)) {
                files = s.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
            } catch (IOException e) {
                throw new IllegalArgumentException(data + ": cannot list: " + e.getMessage(), e);
            }
            if (files.isEmpty()) throw new IllegalArgumentException(data + ": no SugarCrepe *.json category files");
        } else files = List.of(data);
        List<Item> items = new ArrayList<>();
        for (Path f : files) {
            String category = f.getFileName().toString().replaceFirst("\\.json$", "");
            JsonNode root = JsonFiles.read(f, "SugarCrepe");
            if (!root.isObject()) throw new IllegalArgumentException(f + ": expected an object {id: {filename, caption, negative_caption}}");
            root.fields().forEachRemaining(e -> {
                String where = f + ": \"" + e.getKey() + "\"";
                items.add(new Item(category, e.getKey(), imageRoot.resolve(JsonFiles.text(e.getValue(), "filename", where)),
                        JsonFiles.text(e.getValue(), "caption", where), JsonFiles.text(e.getValue(), "negative_caption", where)));
            });
        }
        if (items.isEmpty()) throw new IllegalArgumentException(data + ": no SugarCrepe items");
        return items;
    }

    public static TaskOutput run(Stage1Model m, Path data, Path imageRoot, Path outDir, Progress progress) {
        List<Item> items = read(data, imageRoot);
        // each distinct image once
        Map<Path, Integer> imageIndex = new LinkedHashMap<>();
        for (Item it : items) imageIndex.putIfAbsent(it.image, imageIndex.size());
        int[] pairImages = new int[2 * items.size()];
        List<String> pairTexts = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            pairImages[2 * i] = pairImages[2 * i + 1] = imageIndex.get(items.get(i).image);
            pairTexts.add(items.get(i).positive);
            pairTexts.add(items.get(i).negative);
        }
        double[][] logits;
        try (Scope s = Scope.open()) {
            Stage1Model.ImageFeatures f = m.images(new ArrayList<>(imageIndex.keySet()), progress);
            logits = m.itm(f, pairImages, pairTexts, progress);
        }
        Map<String, int[]> perCategory = new LinkedHashMap<>();
        ObjectNode predictions = JsonFiles.JSON.createObjectNode();
        for (int i = 0; i < items.size(); i++) {
            Item it = items.get(i);
            double pos = match(logits[2 * i]), neg = match(logits[2 * i + 1]);
            boolean correct = pos > neg;
            int[] c = perCategory.computeIfAbsent(it.category, k -> new int[2]);
            c[0] += correct ? 1 : 0;
            c[1]++;
            ArrayNode arr = predictions.has(it.category) ? (ArrayNode) predictions.get(it.category) : predictions.putArray(it.category);
            arr.addObject().put("id", it.id).put("positive_score", pos).put("negative_score", neg).put("correct", correct);
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        double sum = 0;
        for (var e : perCategory.entrySet()) {
            double acc = 100.0 * e.getValue()[0] / e.getValue()[1];
            metrics.put(e.getKey(), acc);
            sum += acc;
        }
        metrics.put("mean", sum / perCategory.size());
        metrics.put("chance", 50.0);
        TaskOutput.writeJson(outDir.resolve("sugarcrepe_predictions.json"), predictions);
        ObjectNode settings = m.describe();
        settings.put("score", "ITM match probability softmax(itm_logits)[1]; correct when positive > negative");
        settings.put("items", items.size());
        return TaskOutput.write(outDir, "sugarcrepe", settings, metrics, null);
    }

    /** softmax(l)[1] = 1 / (1 + exp(l0 - l1)). */
    static double match(double[] l) {
        return 1.0 / (1.0 + Math.exp(l[0] - l[1]));
    }
}
