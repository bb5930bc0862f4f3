package io.xformer.models;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.nn.TorchException;

/** Typed reads of HF config.json fields with the transformers defaults. */
final class Json {
    private Json() {}

    static int i(JsonNode n, String key, int dflt) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? dflt : v.asInt();
    }

    static double d(JsonNode n, String key, double dflt) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? dflt : v.asDouble();
    }

    static boolean b(JsonNode n, String key, boolean dflt) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? dflt : v.asBoolean();
    }

    static String s(JsonNode n, String key, String dflt) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? dflt : v.asText();
    }

    static JsonNode obj(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.isObject()) throw new TorchException("config.json: missing object '" + key + "'");
        return v;
    }
}
