package io.xformer.data;

import java.util.Arrays;
import java.util.Locale;
import java.util.regex.Pattern;

/** LAVIS's {@code pre_caption}: lower-case, punctuation to spaces, collapsed blanks, at most maxWords words. */
public final class Captions {
    private static final Pattern PUNCT = Pattern.compile("([.!\"()*#:;~])");
    private static final Pattern BLANKS = Pattern.compile("\\s{2,}");

    private Captions() {}

    public static String clean(String caption, int maxWords) {
        String c = PUNCT.matcher(caption.toLowerCase(Locale.ROOT)).replaceAll(" ");
        c = BLANKS.matcher(c).replaceAll(" ");
        c = c.replaceAll("\\n+$", "").strip();
        String[] words = c.split(" ");
        return words.length > maxWords ? String.join(" ", Arrays.copyOf(words, maxWords)) : c;
    }
}
