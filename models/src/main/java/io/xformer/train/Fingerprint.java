package io.xformer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.nn.ConfigException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The settings a run's result depends on: every resolved value (defaults included) of the
 * config's model and train sections, with max_steps as overridden on the command line. Stored in
 * each checkpoint; a resume under a different one would not continue the run it claims to, so it
 * is refused unless --allow-config-change says otherwise. log_every, checkpoint_every and workers
 * do not change what is computed and are left out.
 */
public final class Fingerprint {
    static final Set<String> IGNORED = Set.of("train.log_every", "train.checkpoint_every", "train.workers");
    private static final ObjectMapper JSON = new ObjectMapper();

    private Fingerprint() {}

    public static Map<String, Object> of(TrainConfig cfg, long maxSteps) {
        Map<String, Object> out = new TreeMap<>();
        cfg.resolved().forEach((k, v) -> {
            if ((k.startsWith("model.") || k.startsWith("train.")) && !IGNORED.contains(k)) out.put(k, v);
        });
        out.put("train.max_steps", maxSteps);
        return out;
    }

    /** "key: old -> new" for every key that differs (absent on one side included), sorted. */
    public static List<String> changes(JsonNode stored, Map<String, Object> now) {
        ObjectNode cur = JSON.valueToTree(new TreeMap<>(now));
        Set<String> keys = new TreeSet<>();
        stored.fieldNames().forEachRemaining(keys::add);
        cur.fieldNames().forEachRemaining(keys::add);
        List<String> out = new ArrayList<>();
        for (String k : keys) {
            JsonNode a = stored.get(k), b = cur.get(k);
            String sa = a == null ? "(absent)" : a.toString(), sb = b == null ? "(absent)" : b.toString();
            if (!sa.equals(sb)) out.add(k + ": " + sa + " -> " + sb);
        }
        return out;
    }

    /**
     * Compares the checkpoint's fingerprint with the current one: the changes (empty when equal
     * or when the checkpoint predates fingerprints); a ConfigException listing them unless allowed.
     */
    public static List<String> check(Path ckpt, Map<String, Object> now, boolean allowChange, Path configFile) {
        JsonNode stored = Checkpoints.fingerprintOf(ckpt);
        if (stored == null || now.isEmpty()) return List.of();
        List<String> ch = changes(stored, now);
        if (!ch.isEmpty() && !allowChange)
            throw new ConfigException(configFile + ": differs from the config " + ckpt + " was trained with, so --resume would not "
                    + "continue that run: " + String.join("; ", ch) + ". Restore those values, or pass --allow-config-change to "
                    + "continue under the new ones (the change is recorded in metrics.jsonl)");
        return ch;
    }
}
