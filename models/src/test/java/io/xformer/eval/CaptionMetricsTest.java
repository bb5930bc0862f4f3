package io.xformer.eval;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** BLEU, CIDEr and ROUGE-L (EVAL.md §4.2-4.4) on hand-made, already tokenised captions. */
class CaptionMetricsTest {
    static final double EPS = 1e-9;

    @Test
    void bleuClosestReferenceTiesGoToTheShorter() {
        // hyp 3 words; refs of 2 and 4 words are both 1 away: the tie goes to 2 -> ratio 3/2 >= 1 -> no brevity penalty.
        // p1 = 3/3 (a, b, c all in "a b c d"), so BLEU-1 = (3 + 1e-15) / (3 + 1e-9) = 1 - 3.3e-10.
        // (Had the tie gone to 4: ratio 3/4 -> penalty exp(1 - 4/3) = 0.7165.)
        Bleu.Result r = Bleu.score(List.of("a b c"), List.of(List.of("a b", "a b c d")));
        assertEquals(1.0, r.corpus()[0], 1e-8);
        // BLEU-4: p1 = p2 = p3 = 1, p4 = (0 + 1e-15) / (0 + 1e-9) = 1e-6 -> (1e-6)^(1/4) = 0.0316227766
        assertEquals(Math.pow(1e-6, 0.25), r.corpus()[3], 1e-9);
        assertEquals(2, Bleu.closest(List.of(4, 2), 3));
    }

    @Test
    void bleuSumsCountsOverImagesBeforeTheMean() {
        // image 1: "a b" vs "a b": 1-grams 2/2, 2-grams 1/1.  image 2: "c d e f" vs "x y z w": 1-grams 0/4, 2-grams 0/3.
        // corpus: p1 = 2/6, p2 = 1/4, testlen 6 = reflen 6 (no penalty) -> BLEU-1 = 1/3, BLEU-2 = sqrt(1/3 * 1/4) = 0.288675
        // (the mean of per-image BLEU-1 would be (1 + 0) / 2 = 0.5)
        Bleu.Result r = Bleu.score(List.of("a b", "c d e f"), List.of(List.of("a b"), List.of("x y z w")));
        assertEquals(1.0 / 3, r.corpus()[0], EPS);
        assertEquals(Math.sqrt(1.0 / 12), r.corpus()[1], EPS);
        assertEquals(1.0, r.perImage()[0][0], EPS);
        assertEquals(0.0, r.perImage()[0][1], EPS);
    }

    @Test
    void bleuBrevityPenalty() {
        // "a b" vs "a b c d": p1 = 1, ratio 2/4 -> exp(1 - 1/0.5) = exp(-1) = 0.367879
        assertEquals(Math.exp(-1), Bleu.score(List.of("a b"), List.of(List.of("a b c d"))).corpus()[0], EPS);
    }

    @Test
    void ciderDocumentFrequencyComesFromReferencesOnly() {
        // 2 images, log N = log 2. References "a b" and "c d": every reference n-gram has df 1 -> weight log 2 - log 1 = L.
        // image A, hyp "a b" = its reference: n=1 cos = 2L^2 / (sqrt2 L)^2 = 1, n=2 cos = L^2 / L^2 = 1, n=3,4: 0 (zero norms);
        //   equal bigram counts -> no length penalty; score = 10 * mean(1, 1, 0, 0) / 1 ref = 5.0
        // image B, hyp "a b" against "c d": nothing shared -> 0.  Corpus = (5 + 0) / 2 = 2.5.
        // (Had the hypotheses entered df, "a", "b", "a b" would have df 2 -> weight log 2 - log 2 = 0 -> image A = 0.)
        Cider.Result r = Cider.score(List.of("a b", "a b"), List.of(List.of("a b"), List.of("c d")));
        assertEquals(5.0, r.perImage()[0], EPS);
        assertEquals(0.0, r.perImage()[1], EPS);
        assertEquals(2.5, r.corpus(), EPS);
    }

    @Test
    void ciderLengthPenaltyCountsBigrams() {
        // log N = log 2; all reference n-grams df 1 -> weight L.  A: hyp "a b", ref "a b c".
        // n=1: (L^2 + L^2) / (sqrt2 L * sqrt3 L) = 2/sqrt6;  n=2: "a b": L^2 / (L * sqrt2 L) = 1/sqrt2;  n=3, 4: 0
        // bigrams: hyp 1, ref 2 -> delta -1 -> penalty exp(-1 / (2 * 36)) = exp(-1/72)
        // score A = 10 * (2/sqrt6 + 1/sqrt2) * exp(-1/72) / 4 = 3.7565
        Cider.Result r = Cider.score(List.of("a b", "d e"), List.of(List.of("a b c"), List.of("d e")));
        double a = 10 * (2 / Math.sqrt(6) + 1 / Math.sqrt(2)) * Math.exp(-1.0 / 72) / 4;
        assertEquals(a, r.perImage()[0], EPS);
        assertEquals(5.0, r.perImage()[1], EPS);
        assertEquals((a + 5.0) / 2, r.corpus(), EPS);
    }

    @Test
    void ciderClipsTheHypothesisCounts() {
        // 2 images, log N = log 2 = L. A: hyp "a a", ref "a". n=1: v_h(a) = 2 * L (tf 2), v_r(a) = L;
        // clipped: min(2L, L) * L = L^2, over the norms 2L * L -> 1/2 (unclipped it would be 2L * L / 2L^2 = 1).
        // n=2: the reference has no bigram (zero norm) -> 0.  Bigrams: hyp 1, ref 0 -> penalty exp(-1/72).
        // score = 10 * (1/2 + 0 + 0 + 0) / 4 * exp(-1/72)
        Cider.Result r = Cider.score(List.of("a a", "b"), List.of(List.of("a"), List.of("b")));
        assertEquals(10 * 0.5 * Math.exp(-1.0 / 72) / 4, r.perImage()[0], EPS);
    }

    @Test
    void rougeL() {
        // LCS("a b c d", "a c d e f") = "a c d" = 3; P = 3/4, R = 3/5; F = (1 + 1.44) P R / (R + 1.44 P) = 1.098 / 1.68
        assertEquals(1.098 / 1.68, Rouge.one("a b c d", List.of("a c d e f")), EPS);
        // P and R maximised separately over references: P from ref 1 (2/2), R from ref 2 (2/2)
        // ref "a b c": LCS 2 -> P = 1, R = 2/3; ref "a b": P = 1, R = 1 -> F = 1
        assertEquals(1.0, Rouge.one("a b", List.of("a b c", "a b")), EPS);
    }

    @Test
    void cocoFilesNeedOneResultPerImageAndTokeniseGtAndResultsSeparately() {
        ObjectNode gt = JsonFiles.JSON.createObjectNode();
        gt.putArray("images").addObject().put("id", 1);
        ((ArrayNode) gt.get("images")).addObject().put("id", 2);
        ArrayNode anns = gt.putArray("annotations");
        anns.addObject().put("image_id", 1).put("id", 10).put("caption", "A dog runs.");
        anns.addObject().put("image_id", 2).put("id", 11).put("caption", "Two cats sleep.");
        ArrayNode res = JsonFiles.JSON.createArrayNode();
        res.addObject().put("image_id", 1).put("caption", "a dog runs");
        res.addObject().put("image_id", 2).put("caption", "two cats sleep");
        List<List<String>> calls = new java.util.ArrayList<>();
        CaptionEval.Result r = CaptionEval.evaluate(gt, "GT", res, "R", caps -> {
            calls.add(caps);
            return PtbTokenizer.get().tokenize(caps);
        });
        assertEquals(List.of(List.of("A dog runs.", "Two cats sleep."), List.of("a dog runs", "two cats sleep")), calls);
        // identical captions: BLEU-1 ~ 1, ROUGE-L 1; CIDEr: N = 2, every n-gram df 1 -> cosines 1 for n = 1..3 (3 words),
        // 0 for n = 4 -> 10 * 3/4 = 7.5 per image
        assertEquals(1.0, r.metrics().get("Bleu_1"), 1e-8);
        assertEquals(7.5, r.metrics().get("CIDEr"), EPS);
        assertEquals(1.0, r.metrics().get("ROUGE_L"), EPS);
        assertEquals(List.of("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "CIDEr", "ROUGE_L"), List.copyOf(r.metrics().keySet()));
        res.remove(1);
        var e = assertThrows(IllegalArgumentException.class, () -> CaptionEval.evaluate(gt, "GT", res, "R.json", PtbTokenizer.get()::tokenize));
        assertTrue(e.getMessage().contains("no result for image 2"), e.getMessage());
        res.addObject().put("image_id", 7).put("caption", "x");
        e = assertThrows(IllegalArgumentException.class, () -> CaptionEval.evaluate(gt, "GT", res, "R.json", PtbTokenizer.get()::tokenize));
        assertTrue(e.getMessage().contains("image_id 7"), e.getMessage());
        assertNotNull(Map.of());
    }
}
