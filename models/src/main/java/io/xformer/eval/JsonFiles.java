package io.xformer.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reading the scorers' JSON inputs with errors that name the file and the field. */
final class JsonFiles {
    static final ObjectMapper JSON = new ObjectMapper();

    private JsonFiles() {}

    static JsonNode read(Path file, String role) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": no such " + role + " file");
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || n.isMissingNode()) throw new IllegalArgumentException(file + ": empty " + role + " file");
            return n;
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")", e);
        }
    }

    static JsonNode field(JsonNode node, String name, String where) {
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) throw new IllegalArgumentException(where + ": missing \"" + name + "\"");
        return v;
    }

    static String text(JsonNode node, String name, String where) {
        JsonNode v = field(node, name, where);
        if (!v.isTextual()) throw new IllegalArgumentException(where + ": \"" + name + "\" must be a string");
        return v.asText();
    }

    /** Question / image ids: integers in the official files, compared as their JSON text so 1 and "1" stay distinct. */
    static String id(JsonNode node, String name, String where) {
        JsonNode v = field(node, name, where);
        if (!v.isIntegralNumber() && !v.isTextual()) throw new IllegalArgumentException(where + ": \"" + name + "\" must be an integer or a string");
        return v.isTextual() ? "\"" + v.asText() + "\"" : v.asText();
    }

    static JsonNode array(JsonNode node, String where) {
        if (node == null || !node.isArray()) throw new IllegalArgumentException(where + ": expected a JSON array");
        return node;
    }
}
