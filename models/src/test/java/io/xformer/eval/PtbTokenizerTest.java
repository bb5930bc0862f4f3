package io.xformer.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

/** CoreNLP 3.4.1 through pycocoevalcap's wrapper (EVAL.md §4.1). */
class PtbTokenizerTest {
    static List<String> tok(String... captions) {
        return PtbTokenizer.get().tokenize(List.of(captions));
    }

    @Test
    void cliticsSplitAsCoreNlpSplitsThem() {
        assertEquals(List.of("a man is n't here", "i ca n't", "it wo n't", "we can not", "gon na go", "the man 's hat", "i 'm"),
                tok("A man isn't here.", "I can't", "it won't", "we cannot", "gonna go", "the man's hat", "I'm"));
    }

    @Test
    void punctuationFilterKeepsLowerCasedBracketsAndMultiCharMarks() {
        // "(" ")" come out as -lrb- -rrb- after -lowerCase: not in the upper-case filter list, so they stay
        assertEquals(List.of("a -lrb- red -rrb- car"), tok("A (red) car."));
        // quotes become `` and '' and vanish; , . : ; ? ! -- ... vanish; $ % stay, split off
        assertEquals(List.of("he said hi"), tok("He said, \"hi\"!"));
        assertEquals(List.of("$ 5.00 for 50 %"), tok("$5.00 for 50%"));
        assertEquals(List.of("wait"), tok("wait..."));
    }

    @Test
    void hyphensNumbersAndAbbreviationsStayOneToken() {
        assertEquals(List.of("an e-mail at 10:30 about 3/4 of 1,000 or 2.5"), tok("An e-mail at 10:30 about 3/4 of 1,000 or 2.5"));
        assertEquals(List.of("in the u.s. with mr. smith"), tok("in the U.S. with Mr. Smith"));
        // a sentence-final abbreviation keeps its period and gets an extra "." token, which the filter drops
        assertEquals(List.of("made in the u.s."), tok("Made in the U.S."));
        // ". . ." becomes one "..." token, dropped
        assertEquals(List.of("so"), tok("so . . ."));
        // multi-character marks and symbols survive the filter
        assertEquals(List.of("wow !! #hashtag & more = 2"), tok("wow!! #hashtag & more = 2"));
    }

    @Test
    void linesStayAlignedWithCaptionsEmptyOnesIncluded() {
        assertEquals(List.of("a dog", "", "two cats"), tok("a dog", "", "two cats."));
        assertEquals(List.of("a b", ""), tok("a b", ""));
        // '\n' inside a caption becomes a space, as ptbtokenizer.py does
        assertEquals(List.of("a dog runs"), tok("a dog\nruns"));
        assertTrue(tok().isEmpty());
    }

    @Test
    void otherLineBreaksAreRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> tok("a\rb", "c"));
        assertTrue(e.getMessage().contains("line break"), e.getMessage());
    }
}
