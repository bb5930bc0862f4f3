package io.xformer.train;

import io.xformer.data.Captions;
import io.xformer.data.Loader;
import io.xformer.data.Sample;
import io.xformer.data.Source;
import io.xformer.data.Transform;
import io.xformer.data.VqaJson;
import io.xformer.models.VisualLm;
import io.xformer.nn.Generator;
import io.xformer.nn.Guard;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.TorchException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

/** Held-out checks at the end of a stage-2 / VQA run. */
final class LmEval {
    private LmEval() {}

    /** Mean LM loss over held-out captions (batches of the training batch size, no augmentation). */
    static Map<String, Double> heldOutLoss(LmObjective obj, Source val) {
        TrainConfig.Train t = obj.stage().train();
        int n = val.size(), sz = t.imageSize(), plane = 3 * sz * sz;
        Transform tf = new Transform(sz, false);
        double sum = 0;
        int batches = 0, pairs = 0;
        obj.model.train(false);
        for (int start = 0; start < n; start += t.batchSize()) {
            List<float[]> px = new ArrayList<>();
            List<String> texts = new ArrayList<>();
            for (int i = start; i < Math.min(n, start + t.batchSize()); i++) {
                try {
                    Sample s = val.load(i);
                    px.add(tf.apply(s.image(), new Random(0)));
                    texts.add(Captions.clean(s.caption(), t.maxWords()));
                } catch (IOException e) {
                    // a broken held-out image is left out
                }
            }
            if (px.isEmpty()) continue;
            int b = px.size();
            float[] clip = new float[b * plane], mae = new float[b * plane];
            for (int i = 0; i < b; i++) {
                System.arraycopy(Transform.normalize(px.get(i), Transform.CLIP_MEAN, Transform.CLIP_STD), 0, clip, i * plane, plane);
                System.arraycopy(Transform.normalize(px.get(i), Transform.IMAGENET_MEAN, Transform.IMAGENET_STD), 0, mae, i * plane, plane);
            }
            Loader.Batch batch = new Loader.Batch(b, sz, 0, clip, mae, new long[0], new long[0], 0, List.of(), texts, List.of());
            try (Scope s = Scope.open(); Guard g = Guard.noGrad(); Generator gen = new Generator(t.seed())) {
                Tensor loss = obj.losses(batch, gen).get("loss");
                sum += loss.item();
                batches++;
                pairs += b;
            }
        }
        Map<String, Double> r = new LinkedHashMap<>();
        r.put("pairs", (double) pairs);
        r.put("val_loss_lm", batches == 0 ? Double.NaN : sum / batches);
        return r;
    }

    /**
     * VQA accuracy on held-out questions (EVAL.md's generation settings, answers compared after
     * {@link #normalize}; with several annotators min(1, matches / 3)) next to two baselines from the
     * training answers: the most frequent answer overall, and the most frequent answer to the same
     * question text (the stronger one).
     */
    static Map<String, Double> vqa(LmObjective obj, List<TrainConfig.SourceSpec> valSpecs, List<TrainConfig.SourceSpec> trainSpecs) {
        Map<String, Integer> overall = new HashMap<>();
        Map<String, Map<String, Integer>> byQuestion = new HashMap<>();
        for (TrainConfig.SourceSpec spec : trainSpecs) {
            if (spec.vqa() == null) throw new io.xformer.nn.ConfigException("VQA data sources need \"vqa\": FILE");
            VqaJson tr = Sources.vqa(spec);
            for (int i = 0; i < tr.size(); i++)
            for (String a : tr.answers(i)) {
                String q = normalize(tr.question(i)), x = normalize(a);
                overall.merge(x, 1, Integer::sum);
                byQuestion.computeIfAbsent(q, k -> new HashMap<>()).merge(x, 1, Integer::sum);
            }
        }
        String majority = argmax(overall);
        VisualLm lm = new VisualLm(obj.model, obj.llmTokenizer(), obj.qformerTokenizer(), obj.device());
        VisualLm.Settings settings = new VisualLm.Settings(obj.stage().prompt(), 5, 10, 1, 0.0);
        double acc = 0, base = 0, baseQ = 0;
        int n = 0;
        for (TrainConfig.SourceSpec spec : valSpecs) {
            VqaJson va = Sources.vqa(spec);
            for (int i = 0; i < va.size(); i++) {
                Sample s;
                try {
                    s = va.load(i);
                } catch (IOException e) {
                    continue; // a broken held-out image is left out
                }
                String pred = normalize(lm.generate(s.image(), Captions.clean(s.caption(), 50), settings));
                List<String> answers = va.answers(i).stream().map(LmEval::normalize).toList();
                Map<String, Integer> perQ = byQuestion.get(normalize(va.question(i)));
                acc += score(pred, answers);
                base += score(majority, answers);
                baseQ += score(perQ == null ? majority : argmax(perQ), answers);
                n++;
            }
        }
        Map<String, Double> r = new LinkedHashMap<>();
        r.put("questions", (double) n);
        r.put("vqa_accuracy", n == 0 ? Double.NaN : acc / n);
        r.put("majority_answer_accuracy", n == 0 ? Double.NaN : base / n);
        r.put("per_question_majority_accuracy", n == 0 ? Double.NaN : baseQ / n);
        return r;
    }

    static double score(String pred, List<String> answers) {
        long m = answers.stream().filter(pred::equals).count();
        return answers.size() >= 3 ? Math.min(1.0, m / 3.0) : m > 0 ? 1 : 0;
    }

    /** Lower case, punctuation and articles dropped, blanks collapsed (a reduced form of the VQA evaluation's normalisation). */
    static String normalize(String s) {
        String x = s.toLowerCase(Locale.ROOT).replaceAll("[\\p{Punct}&&[^']]", " ").replaceAll("\\b(a|an|the)\\b", " ");
        return x.replaceAll("\\s+", " ").strip();
    }

    /** The most frequent key; ties go to the alphabetically first (deterministic). */
    private static String argmax(Map<String, Integer> counts) {
        String best = "";
        int n = -1;
        for (String k : new TreeSet<>(counts.keySet()))
            if (counts.get(k) > n) {
                best = k;
                n = counts.get(k);
            }
        return best;
    }
}
