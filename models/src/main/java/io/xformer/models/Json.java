package io.xformer.models;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.nn.ConfigException;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Typed reads of HF config.json fields with the transformers defaults. HF's leniency stays for
 * keys nobody reads, but a key that is read must have the right JSON type: {@code "hidden_size":
 * "768"} is an error, not a silent 0. {@link #record} lists what a reader read (keys, resolved
 * values), for typo checks and the training config's fingerprint.
 */
public final class Json {
    private Json() {}

    /** What one reader read: for each object read, its JSON path and keys; every value used, by path. */
    public record Reads(Map<JsonNode, String> paths, Map<JsonNode, Set<String>> keys, Map<String, Object> values) {}

    private static final ThreadLocal<Reads> RECORDING = new ThreadLocal<>();

    /** Runs reader on root (named rootPath in errors) and returns what it read. */
    public static Reads record(JsonNode root, String rootPath, Consumer<JsonNode> reader) {
        Reads r = new Reads(new IdentityHashMap<>(), new IdentityHashMap<>(), new TreeMap<>());
        r.paths.put(root, rootPath);
        Reads outer = RECORDING.get();
        RECORDING.set(r);
        try {
            reader.accept(root);
        } finally {
            if (outer == null) RECORDING.remove();
            else RECORDING.set(outer);
        }
        return r;
    }

    private static String path(JsonNode n, String key) {
        Reads r = RECORDING.get();
        String p = r == null ? null : r.paths.get(n);
        return p == null || p.isEmpty() ? key : p + "." + key;
    }

    private static <T> T used(JsonNode n, String key, T value) {
        Reads r = RECORDING.get();
        if (r != null) {
            r.keys.computeIfAbsent(n, k -> new TreeSet<>()).add(key);
            r.values.put(path(n, key), value);
        }
        return value;
    }

    private static ConfigException wrongType(JsonNode n, String key, String want, JsonNode got) {
        return new ConfigException("config.json: '" + path(n, key) + "' must be " + want + ", got " + got);
    }

    static int i(JsonNode n, String key, int dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return used(n, key, dflt);
        boolean integral = v.isIntegralNumber() || v.isNumber() && v.asDouble() == Math.rint(v.asDouble());
        if (!integral || !v.canConvertToInt()) throw wrongType(n, key, "an integer", v);
        return used(n, key, v.asInt());
    }

    static double d(JsonNode n, String key, double dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return used(n, key, dflt);
        if (!v.isNumber()) throw wrongType(n, key, "a number", v);
        return used(n, key, v.asDouble());
    }

    static boolean b(JsonNode n, String key, boolean dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return used(n, key, dflt);
        if (!v.isBoolean()) throw wrongType(n, key, "true or false", v);
        return used(n, key, v.asBoolean());
    }

    static String s(JsonNode n, String key, String dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return used(n, key, dflt);
        if (!v.isTextual()) throw wrongType(n, key, "a string", v);
        return used(n, key, v.asText());
    }

    static JsonNode obj(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.isObject())
            throw new ConfigException("config.json: missing object '" + path(n, key) + "'" + (v == null ? "" : " (got " + v + ")"));
        Reads r = RECORDING.get();
        if (r != null) {
            r.keys.computeIfAbsent(n, k -> new TreeSet<>()).add(key);
            r.paths.put(v, path(n, key));
        }
        return v;
    }
}
