package io.xformer.eval;

import java.util.List;

/** pycocoevalcap's ROUGE-L (EVAL.md §4.4): LCS on {@code split(" ")} tokens, max precision and max recall over references, beta 1.2. */
public final class Rouge {
    static final double BETA = 1.2;

    public record Result(double corpus, double[] perImage) {}

    private Rouge() {}

    public static Result score(List<String> hyps, List<List<String>> refs) {
        double[] s = new double[hyps.size()];
        double total = 0;
        for (int i = 0; i < s.length; i++) {
            s[i] = one(hyps.get(i), refs.get(i));
            total += s[i];
        }
        return new Result(total / s.length, s);
    }

    static double one(String hyp, List<String> refs) {
        if (refs.isEmpty()) throw new IllegalArgumentException("an image has no reference caption");
        List<String> c = Py.split(hyp, ' ');
        double precMax = Double.NEGATIVE_INFINITY, recMax = Double.NEGATIVE_INFINITY;
        for (String ref : refs) {
            List<String> r = Py.split(ref, ' ');
            int lcs = lcs(r, c);
            precMax = Math.max(precMax, lcs / (double) c.size());
            recMax = Math.max(recMax, lcs / (double) r.size());
        }
        if (precMax == 0 || recMax == 0) return 0.0;
        return ((1 + BETA * BETA) * precMax * recMax) / (recMax + BETA * BETA * precMax);
    }

    static int lcs(List<String> a, List<String> b) {
        int[][] len = new int[a.size() + 1][b.size() + 1];
        for (int i = 1; i <= a.size(); i++)
            for (int j = 1; j <= b.size(); j++)
                len[i][j] = a.get(i - 1).equals(b.get(j - 1)) ? len[i - 1][j - 1] + 1 : Math.max(len[i - 1][j], len[i][j - 1]);
        return len[a.size()][b.size()];
    }
}
