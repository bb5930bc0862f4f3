package io.xformer.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * VQA accuracy as the official tool computes it (EVAL.md §1): min(1, #matching other humans / 3)
 * averaged over the 10 leave-one-out subsets, percentages rounded to 2 places at the end.
 * Two variants: {@link Variant#LAVIS} (VQA-17 / LAVIS, behind every BLIP-2 number; the default)
 * and {@link Variant#OFFICIAL} (GT-Vision-Lab/VQA HEAD, 2021).
 */
public final class VqaEval {
    public enum Variant {
        /** Prediction always normalised; GT only punctuation-processed, and only when the 10 raw answers differ. */
        LAVIS,
        /** GT and prediction stripped; both fully normalised only when the 10 answers differ, else compared raw. */
        OFFICIAL;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** overall, perAnswerType, perQuestionType in percent, rounded as the tool rounds; perQuestion by question id. */
    public record Result(Variant variant, double overall, Map<String, Double> perAnswerType, Map<String, Double> perQuestionType,
                         Map<String, Double> perQuestion) {
        /** The official tool's {@code accuracy} dict (plus the variant). */
        public ObjectNode toJson() {
            ObjectNode o = JsonFiles.JSON.createObjectNode();
            o.put("overall", overall);
            ObjectNode a = o.putObject("perAnswerType");
            perAnswerType.forEach(a::put);
            ObjectNode q = o.putObject("perQuestionType");
            perQuestionType.forEach(q::put);
            o.put("variant", variant.label());
            return o;
        }
    }

    private VqaEval() {}

    /** Scores official question / annotation files and a result file [{question_id, answer}]. */
    public static Result evaluate(Path questions, Path annotations, Path results, Variant variant) {
        JsonNode q = JsonFiles.read(questions, "questions");
        JsonNode a = JsonFiles.read(annotations, "annotations");
        JsonNode r = JsonFiles.read(results, "results");
        return evaluate(q, questions.toString(), a, annotations.toString(), r, results.toString(), variant);
    }

    public static Result evaluate(JsonNode questions, String qName, JsonNode annotations, String aName, JsonNode results, String rName,
                                  Variant variant) {
        JsonNode qs = JsonFiles.array(questions.get("questions"), qName + ": \"questions\"");
        Set<String> questionIds = new HashSet<>();
        for (int i = 0; i < qs.size(); i++) questionIds.add(JsonFiles.id(qs.get(i), "question_id", qName + ": questions[" + i + "]"));
        JsonNode anns = JsonFiles.array(annotations.get("annotations"), aName + ": \"annotations\"");
        if (anns.isEmpty()) throw new IllegalArgumentException(aName + ": no annotations");
        Map<String, JsonNode> gts = new LinkedHashMap<>();
        for (int i = 0; i < anns.size(); i++) {
            JsonNode ann = anns.get(i);
            String where = aName + ": annotations[" + i + "]";
            String id = JsonFiles.id(ann, "question_id", where);
            if (!questionIds.contains(id)) throw new IllegalArgumentException(where + ": question_id " + id + " is not in " + qName);
            JsonNode answers = JsonFiles.array(JsonFiles.field(ann, "answers", where), where + ".answers");
            if (answers.isEmpty()) throw new IllegalArgumentException(where + ": no answers");
            for (int k = 0; k < answers.size(); k++) JsonFiles.text(answers.get(k), "answer", where + ".answers[" + k + "]");
            JsonFiles.text(ann, "question_type", where);
            JsonFiles.text(ann, "answer_type", where);
            gts.put(id, ann);
        }
        // loadRes: the result question ids must equal the annotation question ids as sets
        JsonFiles.array(results, rName);
        Map<String, String> res = new LinkedHashMap<>();
        for (int i = 0; i < results.size(); i++) {
            String where = rName + ": [" + i + "]";
            String id = JsonFiles.id(results.get(i), "question_id", where);
            if (!gts.containsKey(id)) throw new IllegalArgumentException(where + ": question_id " + id + " is not in " + aName);
            res.put(id, JsonFiles.text(results.get(i), "answer", where));
        }
        if (res.size() != gts.size()) {
            List<String> missing = new ArrayList<>();
            for (String id : gts.keySet()) if (!res.containsKey(id) && missing.size() < 5) missing.add(id);
            throw new IllegalArgumentException(rName + ": results do not cover the annotated questions (" + res.size() + " of "
                    + gts.size() + "; missing e.g. " + missing + ")");
        }
        List<Double> all = new ArrayList<>();
        Map<String, List<Double>> byAnswer = new LinkedHashMap<>(), byQuestion = new LinkedHashMap<>();
        Map<String, Double> perQuestion = new LinkedHashMap<>();
        for (var e : gts.entrySet()) {
            JsonNode ann = e.getValue();
            double acc = questionAccuracy(answers(ann.get("answers")), ann.get("answers"), res.get(e.getKey()), variant);
            all.add(acc);
            byQuestion.computeIfAbsent(ann.get("question_type").asText(), k -> new ArrayList<>()).add(acc);
            byAnswer.computeIfAbsent(ann.get("answer_type").asText(), k -> new ArrayList<>()).add(acc);
            perQuestion.put(e.getKey(), Py.round(100 * acc, 2));
        }
        return new Result(variant, percent(all), percents(byAnswer), percents(byQuestion), perQuestion);
    }

    private static List<String> answers(JsonNode answers) {
        List<String> out = new ArrayList<>();
        for (JsonNode a : answers) out.add(a.get("answer").asText());
        return out;
    }

    /**
     * One question's accuracy in [0, 1]. {@code dicts} are the annotation's answer objects: the
     * leave-one-out drops every answer dict equal to the current one (dict inequality; answer_id
     * makes them distinct in the official files).
     */
    static double questionAccuracy(List<String> gt, JsonNode dicts, String prediction, Variant variant) {
        String pred = prediction.replace('\n', ' ').replace('\t', ' ');
        List<String> g = new ArrayList<>(gt);
        if (variant == Variant.OFFICIAL) {
            pred = Py.strip(pred);
            g.replaceAll(s -> Py.strip(s.replace('\n', ' ').replace('\t', ' ')));
            if (new HashSet<>(g).size() > 1) {
                g.replaceAll(s -> VqaText.processDigitArticle(VqaText.processPunctuation(s)));
                pred = VqaText.processDigitArticle(VqaText.processPunctuation(pred));
            }
        } else {
            pred = VqaText.processDigitArticle(VqaText.processPunctuation(Py.strip(pred)));
            if (new HashSet<>(g).size() > 1) g.replaceAll(VqaText::processPunctuation);
        }
        // dicts compared with their (processed) answer, as the official code mutates them in place
        List<JsonNode> processed = new ArrayList<>();
        for (int i = 0; i < g.size(); i++) {
            JsonNode d = dicts == null ? null : dicts.get(i);
            ObjectNode o = d instanceof ObjectNode on ? on.deepCopy() : JsonFiles.JSON.createObjectNode().put("index", i);
            o.put("answer", g.get(i));
            processed.add(o);
        }
        double sum = 0;
        for (JsonNode current : processed) {
            int matching = 0;
            for (JsonNode other : processed) if (!other.equals(current) && other.get("answer").asText().equals(pred)) matching++;
            sum += Math.min(1.0, matching / 3.0);
        }
        return sum / processed.size();
    }

    private static double percent(List<Double> accs) {
        double s = 0;
        for (double a : accs) s += a;
        return Py.round(100 * s / accs.size(), 2);
    }

    private static Map<String, Double> percents(Map<String, List<Double>> groups) {
        Map<String, Double> out = new LinkedHashMap<>();
        groups.forEach((k, v) -> out.put(k, percent(v)));
        return out;
    }
}
