package io.xformer.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** EVAL.md §1.3-1.4, one rule per assertion group. */
class VqaTextTest {
    @Test
    void punctuationIsDecidedOnTheOriginalString() {
        // '/' touches no space in "x/?" -> replaced by a space -> "x ?"; '?' is decided on the ORIGINAL "x/?",
        // where it touches no space either -> also a space: "x" + 2 spaces (deciding on "x ?" would delete it: "x ")
        assertEquals("x  ", VqaText.processPunctuation("x/?"));
        // a mark next to a space is deleted, elsewhere it becomes a space
        assertEquals("black and white", VqaText.processPunctuation("black-and-white"));
        assertEquals("black  white", VqaText.processPunctuation("black - white"));
        assertEquals("red white", VqaText.processPunctuation("red, white"));
        assertEquals("red white", VqaText.processPunctuation("red,white"));
    }

    @Test
    void oneDigitCommaDigitDeletesEveryMark() {
        // "1,000" matches (\d)(,)(\d): every mark of the answer is deleted, none becomes a space
        assertEquals("10002000", VqaText.processPunctuation("1,000-2,000"));
        assertEquals("1000 dogscats", VqaText.processPunctuation("1,000 dogs/cats"));
    }

    @Test
    void periodsGoUnlessADigitFollowsAtMost32() {
        assertEquals("2.5", VqaText.processPunctuation("2.5"));
        assertEquals("3", VqaText.processPunctuation("3."));
        assertEquals("3.14", VqaText.processPunctuation("3.14."));
        assertEquals("usa", VqaText.processPunctuation("u.s.a."));
        // re.UNICODE (= 32) is passed as sub's count: of 33 periods the last survives
        assertEquals(".", VqaText.processPunctuation(".".repeat(33)));
        assertEquals("", VqaText.processPunctuation(".".repeat(32)));
    }

    @Test
    void apostropheColonAndDollarAreNotPunctuation() {
        assertEquals("it's 10:30 $5 50% a&b", VqaText.processPunctuation("it's 10:30 $5 50% a&b"));
    }

    @Test
    void numberWordsBecomeDigitsUpToTen() {
        assertEquals("2 dogs", VqaText.processDigitArticle("Two Dogs"));
        assertEquals("1 way", VqaText.processDigitArticle("one way"));
        assertEquals("0", VqaText.processDigitArticle("none"));
        assertEquals("10 eleven", VqaText.processDigitArticle("ten eleven"));
    }

    @Test
    void articlesAreDroppedAndWhitespaceCollapsed() {
        assertEquals("cat on mat", VqaText.processDigitArticle("The cat on  a\tmat"));
        assertEquals("", VqaText.processDigitArticle("a"));
        assertEquals("fire hydrant", VqaText.processDigitArticle("an   fire  hydrant "));
    }

    @Test
    void contractionsFollowTheTableQuirksIncluded() {
        assertEquals("don't", VqaText.processDigitArticle("dont"));
        assertEquals("isn't it", VqaText.processDigitArticle("isnt it"));
        // capitalised keys ("Im") can never match: the word is lower-cased first
        assertEquals("im", VqaText.processDigitArticle("Im"));
        // the reversed entry and an identity entry
        assertEquals("somebodyd", VqaText.processDigitArticle("somebody'd"));
        assertEquals("let's", VqaText.processDigitArticle("let's"));
        // the table has 120 distinct keys (EVAL.md §1.4)
        assertEquals(120, VqaText.CONTRACTIONS.size());
    }
}
