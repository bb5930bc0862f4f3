package io.xformer.eval;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * pycocoevalcap's {@code Cider} (CIDEr-D as implemented there, EVAL.md §4.3): tf-idf n-gram
 * vectors with document frequencies from the REFERENCES of the evaluated set only, clipped
 * cosine per n, Gaussian length penalty (sigma 6) on bigram counts, x10.
 */
public final class Cider {
    static final double SIGMA = 6.0;

    public record Result(double corpus, double[] perImage) {}

    private Cider() {}

    /** One sentence as vectors per n, their norms and its "length" (the number of bigrams). */
    private record Vec(List<Map<String, Double>> v, double[] norm, int length) {}

    public static Result score(List<String> hyps, List<List<String>> refs) {
        int images = hyps.size();
        List<List<Map<String, Integer>>> refCounts = new ArrayList<>();
        Map<String, Double> df = new HashMap<>();
        for (List<String> rs : refs) {
            List<Map<String, Integer>> counts = new ArrayList<>();
            Set<String> seen = new HashSet<>();
            for (String r : rs) {
                Map<String, Integer> c = Ngrams.count(Py.split(r));
                counts.add(c);
                seen.addAll(c.keySet());
            }
            for (String g : seen) df.merge(g, 1.0, Double::sum);
            refCounts.add(counts);
        }
        double refLen = Math.log(images);
        double[] scores = new double[images];
        double total = 0;
        for (int img = 0; img < images; img++) {
            Vec h = vec(Ngrams.count(Py.split(hyps.get(img))), df, refLen);
            double[] sum = new double[Ngrams.N];
            for (Map<String, Integer> r : refCounts.get(img)) {
                double[] s = sim(h, vec(r, df, refLen));
                for (int n = 0; n < Ngrams.N; n++) sum[n] += s[n];
            }
            double mean = 0;
            for (double s : sum) mean += s;
            mean /= Ngrams.N;
            scores[img] = mean / refCounts.get(img).size() * 10.0;
            total += scores[img];
        }
        return new Result(total / images, scores);
    }

    private static Vec vec(Map<String, Integer> counts, Map<String, Double> df, double refLen) {
        List<Map<String, Double>> v = new ArrayList<>();
        for (int n = 0; n < Ngrams.N; n++) v.add(new HashMap<>());
        double[] norm = new double[Ngrams.N];
        int length = 0;
        for (var e : counts.entrySet()) {
            int n = Ngrams.order(e.getKey()) - 1;
            double w = e.getValue() * (refLen - Math.log(Math.max(1.0, df.getOrDefault(e.getKey(), 0.0))));
            v.get(n).put(e.getKey(), w);
            norm[n] += w * w;
            // the official "if n == 1" indexes n-1: the length counts bigrams
            if (n == 1) length += e.getValue();
        }
        for (int n = 0; n < Ngrams.N; n++) norm[n] = Math.sqrt(norm[n]);
        return new Vec(v, norm, length);
    }

    private static double[] sim(Vec h, Vec r) {
        double delta = h.length - r.length;
        double[] val = new double[Ngrams.N];
        for (int n = 0; n < Ngrams.N; n++) {
            for (var e : h.v.get(n).entrySet()) {
                double vr = r.v.get(n).getOrDefault(e.getKey(), 0.0);
                val[n] += Math.min(e.getValue(), vr) * vr;
            }
            if (h.norm[n] != 0 && r.norm[n] != 0) val[n] /= h.norm[n] * r.norm[n];
            val[n] *= Math.exp(-(delta * delta) / (2 * SIGMA * SIGMA));
        }
        return val;
    }
}
