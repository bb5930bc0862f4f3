package io.xformer.eval;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** n-gram counts of a whitespace-split sentence ({@code precook} of the BLEU and CIDEr scorers), n = 1..4. */
final class Ngrams {
    static final int N = 4;

    private Ngrams() {}

    /** Keys are the n-gram's words joined by single spaces (words hold no whitespace after split()). */
    static Map<String, Integer> count(List<String> words) {
        Map<String, Integer> counts = new HashMap<>();
        for (int k = 1; k <= N; k++)
            for (int i = 0; i + k <= words.size(); i++) counts.merge(String.join(" ", words.subList(i, i + k)), 1, Integer::sum);
        return counts;
    }

    /** The n of an n-gram key. */
    static int order(String ngram) {
        int n = 1;
        for (int i = 0; i < ngram.length(); i++) if (ngram.charAt(i) == ' ') n++;
        return n;
    }
}
