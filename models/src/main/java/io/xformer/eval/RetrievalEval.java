package io.xformer.eval;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LAVIS's retrieval protocol (EVAL.md §5): per query, the top k candidates by ITC similarity
 * score ITM logit + ITC similarity, every other candidate -100; then recall at 1, 5, 10 both ways
 * ({@code RetrievalTask._report_metrics}). LAVIS has no clamping; k larger than the number of
 * candidates is an error here too.
 */
public final class RetrievalEval {
    public static final double UNRANKED = -100.0;

    private RetrievalEval() {}

    /** The metric names and values of {@code _report_metrics}, in its order. */
    public static Map<String, Double> score(RetrievalScores s, int k) {
        double[][] i2t = scoreI2t(s, k), t2i = scoreT2i(s, k);
        double[] txtRanks = new double[s.nImages()];
        for (int i = 0; i < s.nImages(); i++) {
            int best = Integer.MAX_VALUE;
            for (int t : s.img2txt()[i]) best = Math.min(best, rank(i2t[i], t));
            txtRanks[i] = best;
        }
        double[] imgRanks = new double[s.nTexts()];
        for (int t = 0; t < s.nTexts(); t++) imgRanks[t] = rank(t2i[t], s.txt2img()[t]);
        double tr1 = recall(txtRanks, 1), tr5 = recall(txtRanks, 5), tr10 = recall(txtRanks, 10);
        double ir1 = recall(imgRanks, 1), ir5 = recall(imgRanks, 5), ir10 = recall(imgRanks, 10);
        double trMean = (tr1 + tr5 + tr10) / 3, irMean = (ir1 + ir5 + ir10) / 3;
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("txt_r1", tr1);
        m.put("txt_r5", tr5);
        m.put("txt_r10", tr10);
        m.put("txt_r_mean", trMean);
        m.put("img_r1", ir1);
        m.put("img_r5", ir5);
        m.put("img_r10", ir10);
        m.put("img_r_mean", irMean);
        m.put("r_mean", (trMean + irMean) / 2);
        m.put("agg_metrics", trMean);
        return m;
    }

    public static ObjectNode toJson(Map<String, Double> metrics) {
        ObjectNode o = JsonFiles.JSON.createObjectNode();
        metrics.forEach(o::put);
        return o;
    }

    /** score_i2t (images x texts). */
    static double[][] scoreI2t(RetrievalScores s, int k) {
        check(k, s.nTexts(), "texts");
        double[][] out = new double[s.nImages()][s.nTexts()];
        for (int i = 0; i < s.nImages(); i++) {
            Arrays.fill(out[i], UNRANKED);
            for (int t : topk(s.itcSim()[i], k)) out[i][t] = pair(s, i, t, k);
        }
        return out;
    }

    /** score_t2i (texts x images). */
    static double[][] scoreT2i(RetrievalScores s, int k) {
        check(k, s.nImages(), "images");
        double[][] out = new double[s.nTexts()][s.nImages()];
        for (int t = 0; t < s.nTexts(); t++) {
            double[] col = new double[s.nImages()];
            for (int i = 0; i < s.nImages(); i++) col[i] = s.itcSim()[i][t];
            Arrays.fill(out[t], UNRANKED);
            for (int i : topk(col, k)) out[t][i] = pair(s, i, t, k);
        }
        return out;
    }

    private static double pair(RetrievalScores s, int i, int t, int k) {
        double itm = s.itmLogit()[i][t];
        if (Double.isNaN(itm))
            throw new IllegalArgumentException("itm_logit[" + i + "][" + t + "] is missing but the top-" + k
                    + " re-rank needs it (the scores were computed with a smaller k)");
        return itm + s.itcSim()[i][t];
    }

    private static void check(int k, int candidates, String what) {
        if (k < 1) throw new IllegalArgumentException("k must be at least 1 (got " + k + ")");
        if (k > candidates) throw new IllegalArgumentException("k = " + k + " exceeds the " + candidates + " " + what + " (torch.topk would fail)");
    }

    /** Indices of the k largest values; on ties the lower index first. */
    static int[] topk(double[] v, int k) {
        Integer[] idx = new Integer[v.length];
        for (int i = 0; i < v.length; i++) idx[i] = i;
        Arrays.sort(idx, (a, b) -> v[a] != v[b] ? Double.compare(v[b], v[a]) : Integer.compare(a, b));
        int[] out = new int[k];
        for (int i = 0; i < k; i++) out[i] = idx[i];
        return out;
    }

    /**
     * Position of {@code target} in {@code np.argsort(score)[::-1]}: candidates with a higher
     * score come first; among equal scores the higher index comes first (numpy's reversed
     * argsort, exact for rows of up to 16, where numpy sorts stably; beyond that numpy's order of
     * ties is unspecified).
     */
    static int rank(double[] score, int target) {
        int r = 0;
        double s = score[target];
        for (int j = 0; j < score.length; j++) if (score[j] > s || (score[j] == s && j > target)) r++;
        return r;
    }

    private static double recall(double[] ranks, int k) {
        int n = 0;
        for (double r : ranks) if (r < k) n++;
        return 100.0 * n / ranks.length;
    }
}
