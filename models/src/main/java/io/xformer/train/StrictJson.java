package io.xformer.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.nn.ConfigException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Strict reads of one object of the project's own config: unknown keys are errors with a "did
 * you mean", values are type- and range-checked, and every error names the file and the JSON
 * path ({@code configs/tiny.json: train.batch_size: expected an integer >= 2, got "sixteen"}).
 * Keys starting with an underscore are comments. Every value read (default included) is put
 * into {@code resolved} under its path, for the run's fingerprint.
 */
final class StrictJson {
    /** Names used elsewhere for the same setting, which edit distance does not find. */
    private static final Map<String, String> ALIASES = Map.ofEntries(Map.entry("learning_rate", "lr"),
            Map.entry("steps", "max_steps"), Map.entry("num_steps", "max_steps"), Map.entry("total_steps", "max_steps"),
            Map.entry("train_steps", "max_steps"), Map.entry("batch", "batch_size"), Map.entry("train_batch_size", "batch_size"),
            Map.entry("gradient_accumulation_steps", "accum_steps"), Map.entry("warmup", "warmup_steps"),
            Map.entry("max_grad_norm", "grad_clip"), Map.entry("clip_grad", "grad_clip"), Map.entry("num_workers", "workers"),
            Map.entry("beta1", "betas"), Map.entry("beta2", "betas"), Map.entry("bf16", "amp"), Map.entry("fp16", "amp"),
            Map.entry("mixed_precision", "amp"), Map.entry("weightdecay", "weight_decay"), Map.entry("eval", "val"),
            Map.entry("validation", "val"), Map.entry("annotation", "annotations"), Map.entry("image_root", "images"),
            Map.entry("shards", "webdataset"), Map.entry("min_learning_rate", "min_lr"));

    final Path file;
    final String path;
    final JsonNode node;
    final Map<String, Object> resolved;

    StrictJson(Path file, String path, JsonNode node, Set<String> allowed, Map<String, Object> resolved) {
        this.file = file;
        this.path = path;
        this.node = node;
        this.resolved = resolved;
        if (!node.isObject()) throw error("", "expected an object", node);
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (k.startsWith("_") || allowed.contains(k)) continue;
            String near = suggest(k, allowed);
            throw new ConfigException(file + ": " + at(k) + ": unknown key" + (near == null ? "" : "; did you mean \"" + near + "\"?")
                    + " (known: " + String.join(", ", new java.util.TreeSet<>(allowed)) + ")");
        }
    }

    String at(String key) {
        return path.isEmpty() ? key : key.isEmpty() ? path : path + "." + key;
    }

    ConfigException error(String key, String expected, JsonNode got) {
        return new ConfigException(file + ": " + at(key) + ": " + expected + (got == null ? "" : ", got " + got));
    }

    private JsonNode get(String key) {
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? null : v;
    }

    boolean has(String key) {
        return get(key) != null;
    }

    /** A nested object, or null when absent. An explicit null or a non-object is an error. */
    StrictJson object(String key, Set<String> allowed) {
        JsonNode v = node.get(key);
        if (v == null) return null;
        if (!v.isObject()) throw error(key, "expected an object", v);
        return new StrictJson(file, at(key), v, allowed, resolved);
    }

    long integer(String key, long dflt, long min, long max) {
        JsonNode v = get(key);
        long x = dflt;
        if (v != null) {
            boolean integral = v.isIntegralNumber() || v.isNumber() && v.asDouble() == Math.rint(v.asDouble());
            if (!integral || !v.canConvertToLong()) throw error(key, "expected an integer" + range(min, max), v);
            x = v.asLong();
        }
        if (x < min || x > max) throw error(key, "expected an integer" + range(min, max), v == null ? null : v);
        resolved.put(at(key), x);
        return x;
    }

    int int32(String key, int dflt, int min) {
        return (int) integer(key, dflt, min, Integer.MAX_VALUE);
    }

    private static String range(long min, long max) {
        if (max == Integer.MAX_VALUE || max == Long.MAX_VALUE) return min == Long.MIN_VALUE ? "" : " >= " + min;
        return " in [" + min + ", " + max + "]";
    }

    /** A finite number in [lo, hi]; loOpen makes the lower bound exclusive (lr > 0). */
    double number(String key, double dflt, double lo, boolean loOpen, double hi) {
        JsonNode v = get(key);
        double x = v == null ? dflt : v.asDouble();
        String want = "expected a number " + (hi == Double.POSITIVE_INFINITY ? (loOpen ? "> " : ">= ") + fmt(lo)
                : "in " + (loOpen ? "(" : "[") + fmt(lo) + ", " + fmt(hi) + "]");
        if (v != null && !v.isNumber()) throw error(key, want, v);
        if (!Double.isFinite(x) || x < lo || loOpen && x == lo || x > hi) throw error(key, want, v);
        resolved.put(at(key), x);
        return x;
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }

    boolean bool(String key, boolean dflt) {
        JsonNode v = get(key);
        if (v != null && !v.isBoolean()) throw error(key, "expected true or false", v);
        boolean x = v == null ? dflt : v.asBoolean();
        resolved.put(at(key), x);
        return x;
    }

    String text(String key, String dflt) {
        JsonNode v = get(key);
        if (v != null && !v.isTextual()) throw error(key, "expected a string", v);
        String x = v == null ? dflt : v.asText();
        if (x != null) resolved.put(at(key), x);
        return x;
    }

    /** A list of strings (a single string counts as a list of one). */
    List<String> texts(String key) {
        JsonNode v = get(key);
        List<String> out = new ArrayList<>();
        if (v == null) return out;
        if (v.isTextual()) out.add(v.asText());
        else if (v.isArray()) {
            for (int i = 0; i < v.size(); i++) {
                if (!v.get(i).isTextual() || v.get(i).asText().isEmpty())
                    throw error(key + "[" + i + "]", "expected a non-empty string", v.get(i));
                out.add(v.get(i).asText());
            }
        } else throw error(key, "expected a list of strings", v);
        return out;
    }

    /** The closest allowed key: an alias, or within edit distance 2 (3 for long keys). */
    static String suggest(String key, Set<String> allowed) {
        String alias = ALIASES.get(key.toLowerCase(java.util.Locale.ROOT));
        if (alias != null && allowed.contains(alias)) return alias;
        String best = null;
        int bestD = Integer.MAX_VALUE;
        for (String a : new java.util.TreeSet<>(allowed)) {
            int d = distance(key.toLowerCase(java.util.Locale.ROOT), a);
            if (d < bestD) {
                bestD = d;
                best = a;
            }
        }
        int limit = key.length() >= 8 ? 3 : 2;
        if (best != null && bestD <= limit && bestD < key.length()) return best;
        for (String a : allowed) if (a.startsWith(key) || key.startsWith(a) && a.length() >= 3) return a;
        return null;
    }

    /** Optimal string alignment distance (Levenshtein with adjacent transpositions: "trian" -> "train" is 1). */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) d[i][0] = i;
        for (int j = 0; j <= b.length(); j++) d[0][j] = j;
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1))
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
        return d[a.length()][b.length()];
    }
}
