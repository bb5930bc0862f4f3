package io.xformer.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LAVIS's ITC top-k + ITM re-rank (EVAL.md §5) on 2 images x 3 texts. */
class RetrievalEvalTest {
    @TempDir
    Path tmp;

    // image 0 owns texts 0 and 1, image 1 owns text 2
    static final double[][] ITC = {{0.5, 0.1, 0.6}, {0.2, 0.3, 0.4}};
    static final double[][] ITM = {{2.0, 5.0, -1.0}, {0.0, 1.0, 3.0}};

    static RetrievalScores scores(double[][] itm) {
        return new RetrievalScores(2, 3, new int[][] {{0, 1}, {2}}, new int[] {0, 0, 1}, ITC, itm, 0);
    }

    @Test
    void itmReRanksTheItcTopKAndEverythingElseIsMinus100() {
        // k = 2, image 0: ITC top-2 = texts 2 (0.6), 0 (0.5) -> text 0: 2.0 + 0.5 = 2.5, text 2: -1.0 + 0.6 = -0.4, text 1: -100
        //   (text 1's ITM + ITC would be 5.1, the best, but it is outside the top-2). ITM turns ITC's wrong top-1 (text 2) around.
        double[][] i2t = RetrievalEval.scoreI2t(scores(ITM), 2);
        assertArrayEquals(new double[] {2.5, -100, -0.4}, i2t[0], 1e-12);
        // image 1: top-2 = texts 2 (0.4), 1 (0.3) -> 3.4, 1.3; text 0 -> -100
        assertArrayEquals(new double[] {-100, 1.3, 3.4}, i2t[1], 1e-12);
        Map<String, Double> m = RetrievalEval.score(scores(ITM), 2);
        // every query's ground truth ranks first: all recalls 100
        for (String k : new String[] {"txt_r1", "txt_r5", "img_r1", "img_r10", "r_mean"}) assertEquals(100.0, m.get(k), 1e-12, k);
    }

    @Test
    void recallsWithATopOneReRank() {
        // k = 1. i2t: image 0 keeps text 2 (-0.4); its texts 0, 1 tie at -100: rank(text 1) = 1 (text 2 ahead), rank(text 0) = 2
        //   (the tie puts the higher index first, as numpy's reversed argsort) -> best rank 1: miss at 1, hit at 5.
        //   image 1 keeps text 2 (3.4): rank 0.  txt_r1 = 50, txt_r5 = txt_r10 = 100, txt_r_mean = 250/3.
        // t2i: text 0: top-1 image 0 (0.5 > 0.2) -> rank 0; text 1: top-1 image 1 (0.3 > 0.1) -> its image 0 gets -100 -> rank 1;
        //   text 2: top-1 image 0 (0.6 > 0.4) -> image 1 at -100 -> rank 1.  img_r1 = 100/3, img_r5 = img_r10 = 100.
        Map<String, Double> m = RetrievalEval.score(scores(ITM), 1);
        assertEquals(50.0, m.get("txt_r1"), 1e-12);
        assertEquals(100.0, m.get("txt_r5"), 1e-12);
        assertEquals(250.0 / 3, m.get("txt_r_mean"), 1e-12);
        assertEquals(100.0 / 3, m.get("img_r1"), 1e-12);
        assertEquals(100.0, m.get("img_r10"), 1e-12);
        double imgMean = (100.0 / 3 + 200) / 3;
        assertEquals(imgMean, m.get("img_r_mean"), 1e-12);
        assertEquals((250.0 / 3 + imgMean) / 2, m.get("r_mean"), 1e-12);
        assertEquals(m.get("txt_r_mean"), m.get("agg_metrics"));
    }

    @Test
    void missingItmOrTooLargeKIsAnError() throws Exception {
        double[][] itm = {{2.0, Double.NaN, -1.0}, {0.0, 1.0, 3.0}};
        // k = 1 never needs ITM(image 0, text 1) (text 1's top image is image 1, image 0's top text is text 2): fine
        assertEquals(50.0, RetrievalEval.score(scores(itm), 1).get("txt_r1"));
        // k = 2 does (text 1's top-2 images are both images)
        var e = assertThrows(IllegalArgumentException.class, () -> RetrievalEval.score(scores(itm), 2));
        assertTrue(e.getMessage().contains("itm_logit[0][1]"), e.getMessage());
        // k = 3 > 2 images for t2i
        double[][] full = {{2.0, 5.0, -1.0}, {0.0, 1.0, 3.0}};
        e = assertThrows(IllegalArgumentException.class, () -> RetrievalEval.score(scores(full), 3));
        assertTrue(e.getMessage().contains("exceeds the 2 images"), e.getMessage());
        // the file round-trips, nulls included
        Path f = tmp.resolve("S.json");
        RetrievalScores s = new RetrievalScores(2, 3, new int[][] {{0, 1}, {2}}, new int[] {0, 0, 1}, ITC, itm, 1);
        s.write(f);
        assertTrue(Files.readString(f).contains("null"));
        RetrievalScores back = RetrievalScores.read(f);
        assertEquals(1, back.kTest());
        assertTrue(Double.isNaN(back.itmLogit()[0][1]));
        assertEquals(RetrievalEval.score(s, 1), RetrievalEval.score(back, 1));
    }
}
