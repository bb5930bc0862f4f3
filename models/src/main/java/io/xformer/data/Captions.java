package io.xformer.data;

import com.fasterxml.jackson.databind.JsonNode;
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

    /** Why a caption cannot be trained on (null, not text, empty once cleaned), or null when it can. */
    public static String problem(JsonNode caption, String where) {
        if (caption == null || caption.isNull()) return where + " is null";
        if (!caption.isTextual()) return where + " is not text (" + caption.getNodeType().name().toLowerCase(Locale.ROOT) + " " + caption + ")";
        return problem(caption.asText(), where);
    }

    public static String problem(String caption, String where) {
        if (caption == null) return where + " is missing";
        if (clean(caption, Integer.MAX_VALUE).isEmpty()) return where + " is empty" + (caption.isEmpty() ? "" : " once cleaned (\"" + caption + "\")");
        return null;
    }
}
