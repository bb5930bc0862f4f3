package io.xformer.eval;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The answer normalisation of the official VQA evaluation ({@code vqaEval.py}), identical in
 * VQA-17, VQA-21 and LAVIS: {@code processPunctuation} and {@code processDigitArticle}
 * (EVAL.md §1.3-1.4), quirks included.
 */
public final class VqaText {
    private VqaText() {}

    /** In the official order; NOT punctuation here: {@code ' . : $ # % & * ~ ^ |}. */
    static final String[] PUNCT = {";", "/", "[", "]", "\"", "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`",
        ",", "?", "!"};
    static final Set<String> ARTICLES = Set.of("a", "an", "the");
    static final Map<String, String> NUMBERS = Map.ofEntries(Map.entry("none", "0"), Map.entry("zero", "0"), Map.entry("one", "1"),
            Map.entry("two", "2"), Map.entry("three", "3"), Map.entry("four", "4"), Map.entry("five", "5"), Map.entry("six", "6"),
            Map.entry("seven", "7"), Map.entry("eight", "8"), Map.entry("nine", "9"), Map.entry("ten", "10"));
    /** The 120-entry table as the official code has it (capitalised keys can never match: words are lower-cased first). */
    static final Map<String, String> CONTRACTIONS = table(
            "aint", "ain't", "arent", "aren't", "cant", "can't", "couldve", "could've", "couldnt", "couldn't",
            "couldn'tve", "couldn't've", "couldnt've", "couldn't've", "didnt", "didn't", "doesnt", "doesn't", "dont", "don't",
            "hadnt", "hadn't", "hadnt've", "hadn't've", "hadn'tve", "hadn't've", "hasnt", "hasn't", "havent", "haven't",
            "hed", "he'd", "hed've", "he'd've", "he'dve", "he'd've", "hes", "he's", "howd", "how'd", "howll", "how'll",
            "hows", "how's", "Id've", "I'd've", "I'dve", "I'd've", "Im", "I'm", "Ive", "I've", "isnt", "isn't", "itd", "it'd",
            "itd've", "it'd've", "it'dve", "it'd've", "itll", "it'll", "let's", "let's", "maam", "ma'am", "mightnt", "mightn't",
            "mightnt've", "mightn't've", "mightn'tve", "mightn't've", "mightve", "might've", "mustnt", "mustn't",
            "mustve", "must've", "neednt", "needn't", "notve", "not've", "oclock", "o'clock", "oughtnt", "oughtn't",
            "ow's'at", "'ow's'at", "'ows'at", "'ow's'at", "'ow'sat", "'ow's'at", "shant", "shan't", "shed've", "she'd've",
            "she'dve", "she'd've", "she's", "she's", "shouldve", "should've", "shouldnt", "shouldn't", "shouldnt've",
            "shouldn't've", "shouldn'tve", "shouldn't've", "somebody'd", "somebodyd", "somebodyd've", "somebody'd've",
            "somebody'dve", "somebody'd've", "somebodyll", "somebody'll", "somebodys", "somebody's", "someoned", "someone'd",
            "someoned've", "someone'd've", "someone'dve", "someone'd've", "someonell", "someone'll", "someones", "someone's",
            "somethingd", "something'd", "somethingd've", "something'd've", "something'dve", "something'd've",
            "somethingll", "something'll", "thats", "that's", "thered", "there'd", "thered've", "there'd've", "there'dve",
            "there'd've", "therere", "there're", "theres", "there's", "theyd", "they'd", "theyd've", "they'd've", "they'dve",
            "they'd've", "theyll", "they'll", "theyre", "they're", "theyve", "they've", "twas", "'twas", "wasnt", "wasn't",
            "wed've", "we'd've", "we'dve", "we'd've", "weve", "we've", "werent", "weren't", "whatll", "what'll", "whatre",
            "what're", "whats", "what's", "whatve", "what've", "whens", "when's", "whered", "where'd", "wheres", "where's",
            "whereve", "where've", "whod", "who'd", "whod've", "who'd've", "who'dve", "who'd've", "wholl", "who'll", "whos",
            "who's", "whove", "who've", "whyll", "why'll", "whyre", "why're", "whys", "why's", "wont", "won't", "wouldve",
            "would've", "wouldnt", "wouldn't", "wouldnt've", "wouldn't've", "wouldn'tve", "wouldn't've", "yall", "y'all",
            "yall'll", "y'all'll", "y'allll", "y'all'll", "yall'd've", "y'all'd've", "y'alld've", "y'all'd've", "y'all'dve",
            "y'all'd've", "youd", "you'd", "youd've", "you'd've", "you'dve", "you'd've", "youll", "you'll", "youre", "you're",
            "youve", "you've");

    private static Map<String, String> table(String... kv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return Map.copyOf(m);
    }

    /** Regex {@code (\d)(,)(\d)} anywhere (Python's \d: any Unicode decimal digit). */
    static boolean hasDigitCommaDigit(String s) {
        for (int i = 1; i + 1 < s.length(); i++)
            if (s.charAt(i) == ',' && Character.isDigit(s.charAt(i - 1)) && Character.isDigit(s.charAt(i + 1))) return true;
        return false;
    }

    /**
     * {@code processPunctuation}: each mark is deleted when it touches a space in the ORIGINAL
     * string or the string has digit,digit anywhere, else replaced by a space; then at most 32
     * periods not followed by a digit are deleted ({@code periodStrip.sub("", s, re.UNICODE)}
     * passes re.UNICODE = 32 as the count).
     */
    public static String processPunctuation(String in) {
        boolean digitComma = hasDigitCommaDigit(in);
        String out = in;
        for (String p : PUNCT) {
            if (in.contains(p + " ") || in.contains(" " + p) || digitComma) out = out.replace(p, "");
            else out = out.replace(p, " ");
        }
        StringBuilder sb = new StringBuilder(out.length());
        int removed = 0;
        for (int i = 0; i < out.length(); i++) {
            char c = out.charAt(i);
            boolean nextDigit = i + 1 < out.length() && Character.isDigit(out.charAt(i + 1));
            if (c == '.' && !nextDigit && removed < 32) removed++;
            else sb.append(c);
        }
        return sb.toString();
    }

    /** {@code processDigitArticle}: lower-case, split on whitespace, number words to digits, articles dropped, contractions added. */
    public static String processDigitArticle(String in) {
        List<String> words = new ArrayList<>();
        for (String w : Py.split(in.toLowerCase(Locale.ROOT))) {
            w = NUMBERS.getOrDefault(w, w);
            if (!ARTICLES.contains(w)) words.add(w);
        }
        words.replaceAll(w -> CONTRACTIONS.getOrDefault(w, w));
        return String.join(" ", words);
    }
}
