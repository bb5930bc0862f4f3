package io.xformer.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/** What every task leaves in its output folder: its predictions and {@code scores.json} (task, settings, metrics). */
public record TaskOutput(String task, ObjectNode settings, Map<String, Double> metrics, Path scoresFile) {
    static TaskOutput write(Path outDir, String task, ObjectNode settings, Map<String, Double> metrics, JsonNode extra) {
        ObjectNode o = JsonFiles.JSON.createObjectNode();
        o.put("task", task);
        o.set("settings", settings);
        ObjectNode m = o.putObject("metrics");
        metrics.forEach(m::put);
        if (extra != null) o.set("details", extra);
        Path f = outDir.resolve("scores.json");
        writeJson(f, o);
        return new TaskOutput(task, settings, metrics, f);
    }

    static void writeJson(Path file, JsonNode node) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            JsonFiles.JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), node);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write: " + e.getMessage(), e);
        }
    }
}
