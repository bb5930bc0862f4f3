package io.xformer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.nn.InputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A run's metrics.jsonl: one JSON object per line, each with its "step". */
public final class MetricsFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    private MetricsFile() {}

    /**
     * Drops lines past the resumed step (written after the checkpoint by an interrupted run). A line
     * that is not a JSON object with an integer "step" is an error naming the file and the line.
     */
    public static void truncateAfter(Path file, long step) throws IOException {
        if (!Files.isRegularFile(file)) return;
        List<String> keep = new ArrayList<>();
        List<String> lines = Files.readAllLines(file);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) continue;
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (IOException e) {
                n = null;
            }
            JsonNode s = n == null || !n.isObject() ? null : n.get("step");
            if (s == null || !s.isIntegralNumber()) {
                // a line cut by a crash can only be the last one; anything else is damage to look at
                if (i == lines.size() - 1 && n == null && line.startsWith("{\"step\":")) continue;
                String shown = line.length() > 80 ? line.substring(0, 80) + "..." : line;
                throw new InputException(file + ":" + (i + 1) + ": not a metrics line (a JSON object with an integer \"step\"): "
                        + shown + "; fix or delete that line, then --resume again");
            }
            if (s.asLong() <= step) keep.add(line);
        }
        Files.write(file, keep);
    }

    /** Appends {"step": step, "config_change": [...]} when a resume continued under a changed config. */
    public static void recordConfigChange(Path file, long step, List<String> changes) throws IOException {
        if (changes.isEmpty()) return;
        ObjectNode o = JSON.createObjectNode().put("step", step);
        changes.forEach(o.putArray("config_change")::add);
        Files.writeString(file, JSON.writeValueAsString(o) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }

    /** eval.json: counts ("pairs", "questions", "non_finite_similarities") as integers, rates as numbers. */
    public static void writeEval(Path file, Map<String, Double> result) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        result.forEach((k, v) -> {
            if (COUNTS.contains(k)) o.put(k, v.longValue());
            else o.put(k, v);
        });
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o));
    }

    static final java.util.Set<String> COUNTS = java.util.Set.of("pairs", "questions", "non_finite_similarities");
}
