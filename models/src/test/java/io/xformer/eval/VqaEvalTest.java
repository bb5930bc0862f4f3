package io.xformer.eval;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** VQA accuracy (EVAL.md §1.1, §1.2, §1.5) on hand-made questions. */
class VqaEvalTest {
    static final VqaEval.Variant LAVIS = VqaEval.Variant.LAVIS, OFFICIAL = VqaEval.Variant.OFFICIAL;

    /** 10 answer dicts with distinct answer_ids, as in the official files. */
    static ArrayNode answers(String... tenAnswers) {
        ArrayNode a = JsonFiles.JSON.createArrayNode();
        for (int i = 0; i < tenAnswers.length; i++)
            a.addObject().put("answer", tenAnswers[i]).put("answer_confidence", "yes").put("answer_id", i + 1);
        return a;
    }

    static String[] ten(String answer, int m, String other) {
        String[] a = new String[10];
        for (int i = 0; i < 10; i++) a[i] = i < m ? answer : other;
        return a;
    }

    static double acc(String[] gt, String pred, VqaEval.Variant v) {
        return VqaEval.questionAccuracy(List.of(gt), answers(gt), pred, v);
    }

    @Test
    void leaveOneOutOverTenAnswers() {
        // m humans gave the prediction. Leaving out one of those m: m-1 others match; leaving out one of the 10-m: m match.
        // acc = [m * min(1, (m-1)/3) + (10-m) * min(1, m/3)] / 10
        // m=1: [1*0 + 9*(1/3)]/10 = 0.3;  m=2: [2*(1/3) + 8*(2/3)]/10 = 0.6;  m=3: [3*(2/3) + 7*1]/10 = 0.9;  m=4: [4*1 + 6*1]/10 = 1
        double[] expected = {0, 0.3, 0.6, 0.9, 1, 1};
        for (int m = 0; m <= 5; m++) assertEquals(expected[m], acc(ten("cat", m, "dog"), "cat", LAVIS), 1e-12, "m = " + m);
    }

    @Test
    void identicalAnswerDictsLeaveThemselvesAllOut() {
        // dict inequality: without answer_id the 10 dicts {"answer": "yes"} are all equal, so "other answers" is always empty -> 0
        ArrayNode same = JsonFiles.JSON.createArrayNode();
        for (int i = 0; i < 10; i++) same.addObject().put("answer", "yes");
        assertEquals(0.0, VqaEval.questionAccuracy(List.of(ten("yes", 10, "yes")), same, "yes", LAVIS));
        assertEquals(1.0, acc(ten("yes", 10, "yes"), "yes", LAVIS), 1e-12);
    }

    @Test
    void unanimousAnswersAreComparedRawByTheOfficialVariantOnly() {
        // LAVIS always normalises the prediction: "Yes" -> "yes", "four" -> "4", "fire  hydrant" -> "fire hydrant"
        // official 2021: 10 identical GT strings -> no normalisation on either side -> no match
        assertEquals(1.0, acc(ten("yes", 10, ""), "Yes", LAVIS), 1e-12);
        assertEquals(0.0, acc(ten("yes", 10, ""), "Yes", OFFICIAL), 1e-12);
        assertEquals(1.0, acc(ten("4", 10, ""), "four", LAVIS), 1e-12);
        assertEquals(0.0, acc(ten("4", 10, ""), "four", OFFICIAL), 1e-12);
        assertEquals(0.0, acc(ten("fire hydrant", 10, ""), "fire  hydrant", OFFICIAL), 1e-12);
        assertEquals(1.0, acc(ten("fire hydrant", 10, ""), "fire  hydrant", LAVIS), 1e-12);
    }

    @Test
    void lavisNeverDigitArticlesTheGroundTruth() {
        // GT: 2 x "Two", 8 x "dog"; prediction "two".
        // LAVIS: pred -> "2"; GT only punctuation-processed, "Two" stays "Two" -> m = 0 -> 0
        // official: GT "Two" -> "2" and pred -> "2" -> m = 2 -> 0.6
        String[] gt = ten("Two", 2, "dog");
        assertEquals(0.0, acc(gt, "two", LAVIS), 1e-12);
        assertEquals(0.6, acc(gt, "two", OFFICIAL), 1e-12);
        // LAVIS does punctuation-process differing GT: 3 x "black-and-white" -> "black and white", 7 x "grey"
        assertEquals(0.9, acc(ten("black-and-white", 3, "grey"), "black and white", LAVIS), 1e-12);
        // ... and does not strip GT: " yes" (with a space) never equals the stripped prediction
        assertEquals(0.0, acc(ten(" yes", 3, "no"), "yes", LAVIS), 1e-12);
        assertEquals(0.9, acc(ten(" yes", 3, "no"), "yes", OFFICIAL), 1e-12);
    }

    static JsonNode[] files(String[][] gts, String[] types, String[] qtypes, String[] preds) {
        ObjectNode q = JsonFiles.JSON.createObjectNode(), a = JsonFiles.JSON.createObjectNode();
        ArrayNode qs = q.putArray("questions"), as = a.putArray("annotations"), r = JsonFiles.JSON.createArrayNode();
        for (int i = 0; i < gts.length; i++) {
            qs.addObject().put("question_id", 100 + i).put("image_id", i).put("question", "q" + i);
            ObjectNode ann = as.addObject().put("question_id", 100 + i).put("image_id", i).put("question_type", qtypes[i])
                    .put("answer_type", types[i]).put("multiple_choice_answer", gts[i][0]);
            ann.set("answers", answers(gts[i]));
            r.addObject().put("question_id", 100 + i).put("answer", preds[i]);
        }
        return new JsonNode[] {q, a, r};
    }

    @Test
    void aggregatesRoundTo2PlacesAtTheEnd() {
        // accuracies 1 (m=10), 0.3 (m=1), 0 (m=0): overall = round(100 * 1.3 / 3, 2) = round(43.333.., 2) = 43.33
        // yes/no holds the first two: round(100 * 1.3 / 2, 2) = 65.0; other: 0.0
        String[][] gts = {ten("yes", 10, ""), ten("no", 1, "yes"), ten("red", 10, "")};
        JsonNode[] f = files(gts, new String[] {"yes/no", "yes/no", "other"}, new String[] {"is the", "are", "what color"},
                new String[] {"yes", "no", "blue"});
        VqaEval.Result r = VqaEval.evaluate(f[0], "Q", f[1], "A", f[2], "R", LAVIS);
        assertEquals(43.33, r.overall());
        assertEquals(65.0, r.perAnswerType().get("yes/no"));
        assertEquals(0.0, r.perAnswerType().get("other"));
        assertEquals(30.0, r.perQuestionType().get("are"));
        assertEquals(100.0, r.perQuestion().get("100"));
        JsonNode j = r.toJson();
        assertEquals(43.33, j.get("overall").asDouble());
        assertTrue(j.has("perAnswerType") && j.has("perQuestionType"));
    }

    @Test
    void pythonRoundIsHalfEvenOnTheBinaryValue() {
        // 0.125 is exact in binary: a true tie -> half-even -> 0.12; 2.675 is 2.67499999... in binary -> 2.67
        assertEquals(0.12, Py.round(0.125, 2));
        assertEquals(2.67, Py.round(2.675, 2));
        assertEquals(0.38, Py.round(0.375, 2));
    }

    @Test
    void resultsMustCoverTheAnnotatedQuestions() {
        String[][] gts = {ten("yes", 10, ""), ten("no", 10, "")};
        JsonNode[] f = files(gts, new String[] {"yes/no", "yes/no"}, new String[] {"is", "is"}, new String[] {"yes", "no"});
        ((ArrayNode) f[2]).remove(1);
        var e = assertThrows(IllegalArgumentException.class, () -> VqaEval.evaluate(f[0], "Q", f[1], "A", f[2], "R.json", LAVIS));
        assertTrue(e.getMessage().contains("R.json") && e.getMessage().contains("101"), e.getMessage());
        ((ArrayNode) f[2]).addObject().put("question_id", 999).put("answer", "x");
        e = assertThrows(IllegalArgumentException.class, () -> VqaEval.evaluate(f[0], "Q", f[1], "A", f[2], "R.json", LAVIS));
        assertTrue(e.getMessage().contains("999"), e.getMessage());
    }

    @Test
    void gqaNormalisesBothSidesAsLavisHead() {
        // "A t-shirt." -> '-' touches no space -> "A t shirt." -> period gone -> "a t shirt" minus the article -> "t shirt";
        // gt "t-shirt" -> "t shirt": a hit under HEAD's rule (pred-only normalisation would miss it)
        // "two" vs "2" -> "2" = "2": hit; "yes" vs "no": miss.  acc = 2 / 3 * 100 = 66.666...
        ArrayNode r = JsonFiles.JSON.createArrayNode();
        r.addObject().put("question_id", "q1").put("pred_ans", "A t-shirt.").put("gt_ans", "t-shirt");
        r.addObject().put("question_id", "q2").put("pred_ans", "two").put("gt_ans", "2");
        r.addObject().put("question_id", "q3").put("pred_ans", "yes").put("gt_ans", "no");
        ObjectNode q = JsonFiles.JSON.createObjectNode();
        q.putObject("q1").put("answer", "t-shirt").putObject("types").put("structural", "query").put("semantic", "obj");
        q.putObject("q2").put("answer", "2").putObject("types").put("structural", "query").put("semantic", "attr");
        q.putObject("q3").put("answer", "no").putObject("types").put("structural", "verify").put("semantic", "attr");
        GqaEval.Result res = GqaEval.evaluate(r, "R", q, "Q");
        assertEquals(2.0 / 3 * 100, res.acc(), 1e-12);
        assertEquals(100.0, res.structural().get("query"));
        assertEquals(0.0, res.structural().get("verify"));
        assertEquals(50.0, res.semantic().get("attr"));
        assertEquals(100.0, res.semantic().get("obj"));
        assertEquals(2.0 / 3 * 100, GqaEval.evaluate(r, "R", null, null).acc(), 1e-12);
    }
}
