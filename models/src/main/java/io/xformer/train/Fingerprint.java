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
 * config's model and train sections of the stage that runs (stage 1: "model", "train"; stage 2
 * and VQA: "stage2." / "vqa." model overrides, the train section as merged over the top-level
 * one, prompt, train_llm, unfreeze_vision_layernorms), with max_steps as overridden on the
 * command line. Stored in each checkpoint; a resume under a different one would not continue the
 * run it claims to, so it is refused unless --allow-config-change says otherwise. log_every,
 * checkpoint_every and workers do not change what is computed and are left out, as are paths
 * (init, data, tokenizers, output), which may move with the files.
 */
public final class Fingerprint {
    static final Set<String> IGNORED = Set.of("train.log_every", "train.checkpoint_every", "train.workers");
    static final Set<String> STAGE_SETTINGS = Set.of("prompt", "train_llm", "unfreeze_vision_layernorms");
    private static final ObjectMapper JSON = new ObjectMapper();

    private Fingerprint() {}

    /** Stage 1's fingerprint. */
    public static Map<String, Object> of(TrainConfig cfg, long maxSteps) {
        return of(cfg, "1", maxSteps);
    }

    /** The fingerprint of stage ("1", "2", "vqa") of cfg run for maxSteps. */
    public static Map<String, Object> of(TrainConfig cfg, String stage, long maxSteps) {
        String prefix = stage.equals("1") ? "" : (stage.equals("2") ? "stage2" : stage) + ".";
        Map<String, Object> out = new TreeMap<>();
        cfg.resolved().forEach((k, v) -> {
            if (!k.startsWith(prefix)) return;
            String rest = k.substring(prefix.length());
            boolean settings = rest.startsWith("model.") || rest.startsWith("train.") || !prefix.isEmpty() && STAGE_SETTINGS.contains(rest);
            if (settings && !IGNORED.contains(rest)) out.put(k, v);
        });
        out.put(prefix + "train.max_steps", maxSteps);
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
