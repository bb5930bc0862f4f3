package io.xformer.eval;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.nn.Scope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Zero-shot classification of an image-folder dataset ({@code DIR/<class>/*.png|jpg|jpeg}, e.g.
 * Flowers102, Food101 laid out by class): each image goes to the class whose prompt
 * ("a photo of a {class}", underscores read as spaces) has the highest ITC similarity.
 * Top-1 and top-5 accuracy (top-k with k = min(5, classes)). Writes
 * {@code classify_predictions.json} and {@code scores.json}.
 */
public final class ClassifyTask {
    public static final String PROMPT = "a photo of a {}";

    private ClassifyTask() {}

    record Dataset(List<String> classes, List<Path> images, int[] labels) {}

    static Dataset read(Path dir) {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + ": not a folder of class folders");
        List<String> classes = new ArrayList<>();
        List<Path> images = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path c : s.filter(Files::isDirectory).sorted().toList()) {
                List<Path> files;
                try (Stream<Path> f = Files.list(c)) {
                    files = f.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).matches(".*\\.(png|jpe?g)$")).sorted().toList();
                }
                if (files.isEmpty()) continue;
                for (Path p : files) {
                    images.add(p);
                    labels.add(classes.size());
                }
                classes.add(c.getFileName().toString());
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(dir + ": cannot list: " + e.getMessage(), e);
        }
        if (classes.size() < 2) throw new IllegalArgumentException(dir + ": needs at least 2 class folders holding .png/.jpg images");
        return new Dataset(classes, images, labels.stream().mapToInt(Integer::intValue).toArray());
    }

    public static TaskOutput run(Stage1Model m, Path dir, String prompt, Path outDir, Progress progress) {
        if (!prompt.contains("{}")) throw new IllegalArgumentException("--prompt must contain {} for the class name (got '" + prompt + "')");
        Dataset d = read(dir);
        List<String> prompts = new ArrayList<>();
        for (String c : d.classes) prompts.add(prompt.replace("{}", c.replace('_', ' ')));
        double[][] sim;
        try (Scope s = Scope.open()) {
            sim = m.itc(m.images(d.images, progress), m.texts(prompts, progress));
        }
        int k = Math.min(5, d.classes.size());
        int top1 = 0, topk = 0;
        ArrayNode preds = JsonFiles.JSON.createArrayNode();
        for (int i = 0; i < sim.length; i++) {
            int[] ranked = RetrievalEval.topk(sim[i], k);
            if (ranked[0] == d.labels[i]) top1++;
            boolean hit = false;
            for (int r : ranked) hit |= r == d.labels[i];
            if (hit) topk++;
            ObjectNode p = preds.addObject().put("image", dir.relativize(d.images.get(i)).toString()).put("label", d.classes.get(d.labels[i]));
            ArrayNode top = p.putArray("top" + k);
            for (int r : ranked) top.add(d.classes.get(r));
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("top1", 100.0 * top1 / sim.length);
        metrics.put("top" + k, 100.0 * topk / sim.length);
        metrics.put("chance_top1", 100.0 / d.classes.size());
        TaskOutput.writeJson(outDir.resolve("classify_predictions.json"), preds);
        ObjectNode settings = m.describe();
        settings.put("prompt", prompt).put("classes", d.classes.size()).put("images", d.images.size()).put("top_k", k);
        settings.put("score", "ITC: max over queries of the cosine between image query and prompt embeddings");
        return TaskOutput.write(outDir, "classify", settings, metrics, null);
    }
}
