package io.xformer.eval;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * pycocoevalcap's BLEU (EVAL.md §4.2): clipped n-gram counts per image, reference length
 * "closest" (ties to the shorter reference), counts summed over images before the geometric
 * mean, brevity penalty on the corpus ratio, epsilons 1e-15 / 1e-9 and nothing else.
 */
public final class Bleu {
    static final double TINY = 1e-15, SMALL = 1e-9;

    /** corpus[n-1] = BLEU-n; perImage[n-1][i] = BLEU-n of image i alone (pycocoevalcap's imgToEval). */
    public record Result(double[] corpus, double[][] perImage) {}

    private Bleu() {}

    public static Result score(List<String> hyps, List<List<String>> refs) {
        int n = Ngrams.N, images = hyps.size();
        long testlen = 0, reflen = 0;
        long[] guess = new long[n], correct = new long[n];
        double[][] perImage = new double[n][images];
        for (int img = 0; img < images; img++) {
            List<String> h = Py.split(hyps.get(img));
            Map<String, Integer> maxRef = new HashMap<>();
            List<Integer> refLens = new ArrayList<>();
            for (String r : refs.get(img)) {
                List<String> words = Py.split(r);
                refLens.add(words.size());
                Ngrams.count(words).forEach((g, c) -> maxRef.merge(g, c, Math::max));
            }
            int tl = h.size(), rl = closest(refLens, tl);
            long[] g = new long[n], c = new long[n];
            for (int k = 1; k <= n; k++) g[k - 1] = Math.max(0, tl - k + 1);
            for (var e : Ngrams.count(h).entrySet()) c[Ngrams.order(e.getKey()) - 1] += Math.min(maxRef.getOrDefault(e.getKey(), 0), e.getValue());
            testlen += tl;
            reflen += rl;
            double[] one = geometric(g, c, tl, rl);
            for (int k = 0; k < n; k++) {
                guess[k] += g[k];
                correct[k] += c[k];
                perImage[k][img] = one[k];
            }
        }
        return new Result(geometric(guess, correct, testlen, reflen), perImage);
    }

    /** min((|len(r) - len(h)|, len(r)))[1]: the closest reference length, the shorter one on a tie. */
    static int closest(List<Integer> refLens, int testlen) {
        if (refLens.isEmpty()) throw new IllegalArgumentException("an image has no reference caption");
        int best = refLens.get(0);
        for (int l : refLens) {
            int d = Math.abs(l - testlen), bd = Math.abs(best - testlen);
            if (d < bd || (d == bd && l < best)) best = l;
        }
        return best;
    }

    /** BLEU-1..n from counts: running product of precisions, n-th root, brevity penalty when testlen < reflen. */
    static double[] geometric(long[] guess, long[] correct, long testlen, long reflen) {
        double[] out = new double[guess.length];
        double bleu = 1;
        for (int k = 0; k < guess.length; k++) {
            bleu *= (correct[k] + TINY) / (guess[k] + SMALL);
            out[k] = Math.pow(bleu, 1.0 / (k + 1));
        }
        double ratio = (testlen + TINY) / (reflen + SMALL);
        if (ratio < 1) for (int k = 0; k < out.length; k++) out[k] *= Math.exp(1 - 1 / ratio);
        return out;
    }
}
