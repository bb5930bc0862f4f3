package io.xformer.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code COCOEvalCap} as LAVIS runs it (EVAL.md §4): every image of the GT file's
 * {@code images} is evaluated and needs exactly one result; GT and results are tokenised
 * separately by CoreNLP's PTBTokenizer; BLEU-1..4, CIDEr and ROUGE-L under pycocoevalcap's names.
 */
public final class CaptionEval {
    public static final List<String> METRICS = List.of("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "CIDEr", "ROUGE_L");

    /** Corpus metrics by name; per-image metrics by image id (imgToEval). */
    public record Result(Map<String, Double> metrics, Map<String, Map<String, Double>> perImage) {
        public ObjectNode toJson() {
            ObjectNode o = JsonFiles.JSON.createObjectNode();
            metrics.forEach(o::put);
            return o;
        }
    }

    /** Tokenised captions in evaluation order. */
    record Tokenised(List<String> imageIds, List<String> hyps, List<List<String>> refs) {}

    private CaptionEval() {}

    public static Result evaluate(Path annotations, Path results) {
        return evaluate(JsonFiles.read(annotations, "annotations"), annotations.toString(), JsonFiles.read(results, "results"),
                results.toString(), PtbTokenizer.get()::tokenize);
    }

    public static Result evaluate(JsonNode gt, String gtName, JsonNode results, String rName,
                                  java.util.function.Function<List<String>, List<String>> tokenizer) {
        Tokenised t = prepare(gt, gtName, results, rName, tokenizer);
        return score(t.imageIds, t.hyps, t.refs);
    }

    /** The scorers on already tokenised captions. */
    public static Result score(List<String> imageIds, List<String> hyps, List<List<String>> refs) {
        Bleu.Result b = Bleu.score(hyps, refs);
        Cider.Result c = Cider.score(hyps, refs);
        Rouge.Result r = Rouge.score(hyps, refs);
        Map<String, Double> m = new LinkedHashMap<>();
        for (int n = 0; n < 4; n++) m.put("Bleu_" + (n + 1), b.corpus()[n]);
        m.put("CIDEr", c.corpus());
        m.put("ROUGE_L", r.corpus());
        Map<String, Map<String, Double>> per = new LinkedHashMap<>();
        for (int i = 0; i < imageIds.size(); i++) {
            Map<String, Double> one = new LinkedHashMap<>();
            for (int n = 0; n < 4; n++) one.put("Bleu_" + (n + 1), b.perImage()[n][i]);
            one.put("CIDEr", c.perImage()[i]);
            one.put("ROUGE_L", r.perImage()[i]);
            per.put(imageIds.get(i), one);
        }
        return new Result(m, per);
    }

    static Tokenised prepare(JsonNode gt, String gtName, JsonNode results, String rName,
                             java.util.function.Function<List<String>, List<String>> tokenizer) {
        JsonNode images = JsonFiles.array(gt.get("images"), gtName + ": \"images\"");
        JsonNode anns = JsonFiles.array(gt.get("annotations"), gtName + ": \"annotations\"");
        Map<String, List<String>> refs = new LinkedHashMap<>();
        for (int i = 0; i < images.size(); i++) refs.put(JsonFiles.id(images.get(i), "id", gtName + ": images[" + i + "]"), new ArrayList<>());
        if (refs.isEmpty()) throw new IllegalArgumentException(gtName + ": no images");
        for (int i = 0; i < anns.size(); i++) {
            String where = gtName + ": annotations[" + i + "]";
            List<String> list = refs.get(JsonFiles.id(anns.get(i), "image_id", where));
            if (list != null) list.add(JsonFiles.text(anns.get(i), "caption", where));
        }
        JsonFiles.array(results, rName);
        Map<String, String> hyp = new LinkedHashMap<>();
        for (int i = 0; i < results.size(); i++) {
            String where = rName + ": [" + i + "]";
            String id = JsonFiles.id(results.get(i), "image_id", where);
            if (!refs.containsKey(id)) throw new IllegalArgumentException(where + ": image_id " + id + " is not in " + gtName + " (loadRes)");
            if (hyp.put(id, JsonFiles.text(results.get(i), "caption", where)) != null)
                throw new IllegalArgumentException(rName + ": two results for image_id " + id + " (pycocoevalcap needs exactly one)");
        }
        List<String> ids = new ArrayList<>(refs.keySet()), gtFlat = new ArrayList<>(), resFlat = new ArrayList<>();
        for (String id : ids) {
            if (refs.get(id).isEmpty()) throw new IllegalArgumentException(gtName + ": image " + id + " has no caption annotation");
            if (!hyp.containsKey(id)) throw new IllegalArgumentException(rName + ": no result for image " + id + " of " + gtName);
            gtFlat.addAll(refs.get(id));
            resFlat.add(hyp.get(id));
        }
        // GT and results are tokenised in two separate runs, as COCOEvalCap.evaluate does
        List<String> gtTok = tokenizer.apply(gtFlat), resTok = tokenizer.apply(resFlat);
        List<List<String>> refTok = new ArrayList<>();
        int k = 0;
        for (String id : ids) {
            int n = refs.get(id).size();
            refTok.add(new ArrayList<>(gtTok.subList(k, k + n)));
            k += n;
        }
        return new Tokenised(ids, resTok, refTok);
    }
}
