package io.xformer.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * GQA accuracy as LAVIS HEAD's {@code GQATask} computes it (EVAL.md §2): exact match after
 * {@code processPunctuation} + {@code processDigitArticle} of prediction and ground truth,
 * {@code sum / n * 100}, not rounded. With the GQA questions file, also the accuracy per
 * {@code types.structural} and {@code types.semantic} (the paper's breakdown; not in LAVIS).
 */
public final class GqaEval {
    /** acc in percent; per-type accuracies (empty without a questions file). */
    public record Result(double acc, int questions, Map<String, Double> structural, Map<String, Double> semantic) {
        public ObjectNode toJson() {
            ObjectNode o = JsonFiles.JSON.createObjectNode();
            o.put("acc", acc);
            o.put("agg_metrics", acc);
            o.put("questions", questions);
            if (!structural.isEmpty()) structural.forEach(o.putObject("structural")::put);
            if (!semantic.isEmpty()) semantic.forEach(o.putObject("semantic")::put);
            return o;
        }
    }

    private GqaEval() {}

    public static Result evaluate(Path results, Path questions) {
        return evaluate(JsonFiles.read(results, "results"), results.toString(),
                questions == null ? null : JsonFiles.read(questions, "questions"), questions == null ? null : questions.toString());
    }

    /** The normalisation LAVIS HEAD applies to both sides. */
    public static String normalize(String s) {
        return VqaText.processDigitArticle(VqaText.processPunctuation(s));
    }

    public static Result evaluate(JsonNode results, String rName, JsonNode questions, String qName) {
        JsonFiles.array(results, rName);
        if (results.isEmpty()) throw new IllegalArgumentException(rName + ": no results");
        Map<String, JsonNode> byId = questions == null ? Map.of() : questionsById(questions, qName);
        int correct = 0;
        Map<String, int[]> structural = new TreeMap<>(), semantic = new TreeMap<>();
        for (int i = 0; i < results.size(); i++) {
            JsonNode r = results.get(i);
            String where = rName + ": [" + i + "]";
            String id = JsonFiles.id(r, "question_id", where);
            boolean hit = normalize(JsonFiles.text(r, "pred_ans", where)).equals(normalize(JsonFiles.text(r, "gt_ans", where)));
            if (hit) correct++;
            if (questions != null) {
                String key = JsonFiles.field(r, "question_id", where).asText();
                JsonNode q = byId.get(key);
                if (q == null) throw new IllegalArgumentException(where + ": question_id " + id + " is not in " + qName);
                JsonNode types = q.get("types");
                if (types == null || !types.isObject()) throw new IllegalArgumentException(qName + ": question " + key + " has no \"types\"");
                count(structural, types.path("structural").asText("?"), hit);
                count(semantic, types.path("semantic").asText("?"), hit);
            }
        }
        // LAVIS: sum(acc) / len(acc) * 100
        double acc = (double) correct / results.size() * 100;
        return new Result(acc, results.size(), rates(structural), rates(semantic));
    }

    /** testdev_balanced_questions.json is an object keyed by question id; a list of {question_id, ...} works too. */
    static Map<String, JsonNode> questionsById(JsonNode questions, String qName) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        if (questions.isObject()) questions.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue()));
        else if (questions.isArray()) {
            for (int i = 0; i < questions.size(); i++)
                out.put(JsonFiles.field(questions.get(i), "question_id", qName + ": [" + i + "]").asText(), questions.get(i));
        } else throw new IllegalArgumentException(qName + ": expected an object keyed by question id or an array");
        return out;
    }

    private static void count(Map<String, int[]> m, String key, boolean hit) {
        int[] c = m.computeIfAbsent(key, k -> new int[2]);
        c[0] += hit ? 1 : 0;
        c[1]++;
    }

    private static Map<String, Double> rates(Map<String, int[]> m) {
        Map<String, Double> out = new LinkedHashMap<>();
        m.forEach((k, c) -> out.put(k, (double) c[0] / c[1] * 100));
        return out;
    }
}
