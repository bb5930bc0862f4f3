package io.xformer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.models.XFormer;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Module;
import io.xformer.nn.Parameter;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Tensor;
import io.xformer.nn.InputException;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Training checkpoints under {@code DIR/checkpoints/}: each {@code step-NNNNNNN/} holds
 * {@code trainable.safetensors}, {@code optimizer.safetensors} and {@code trainer_state.json}.
 * A checkpoint is written into {@code step-N.tmp/} and renamed into place, then the
 * {@code latest} pointer is replaced atomically, so a process killed at any moment leaves the
 * previous checkpoint loadable and never a half-written one under a final name.
 *
 * <p>{@code trainer_state.json} also holds the run's config fingerprint ({@link Fingerprint}).
 * Before a resume, a checkpoint is validated (state fields, both weight files' headers); one
 * that does not validate is refused, naming the newest older checkpoint that does.
 */
public final class Checkpoints {
    public static final String TRAINABLE = "trainable.safetensors", OPTIMIZER = "optimizer.safetensors", STATE = "trainer_state.json";

    private final Path dir;
    private Map<String, Object> fingerprint = Map.of();

    public Checkpoints(Path runDir) {
        this.dir = runDir.resolve("checkpoints");
    }

    public Path dir() {
        return dir;
    }

    public record State(long step, long cursor, long optimizerStep) {}

    /** The resolved config written into every later checkpoint's state. */
    public Checkpoints fingerprint(Map<String, Object> resolved) {
        this.fingerprint = Map.copyOf(resolved);
        return this;
    }

    public Path write(long step, Map<String, Tensor> trainable, Map<String, Tensor> optimizer, State state) {
        String name = String.format("step-%07d", step);
        Path tmp = dir.resolve(name + ".tmp"), fin = dir.resolve(name);
        try {
            deleteTree(tmp);
            Files.createDirectories(tmp);
            SafeTensors.save(tmp.resolve(TRAINABLE), trainable, Map.of("format", "pt"));
            SafeTensors.save(tmp.resolve(OPTIMIZER), optimizer, Map.of());
            ObjectNode s = new ObjectMapper().createObjectNode().put("step", state.step()).put("cursor", state.cursor())
                    .put("optimizer_step", state.optimizerStep());
            if (!fingerprint.isEmpty()) s.set("config", new ObjectMapper().valueToTree(new java.util.TreeMap<>(fingerprint)));
            Files.writeString(tmp.resolve(STATE), s.toPrettyString());
            deleteTree(fin);
            move(tmp, fin);
            Path pointer = dir.resolve("latest.tmp");
            Files.writeString(pointer, name);
            move(pointer, dir.resolve("latest"));
            return fin;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(tmp + ": cannot write checkpoint: " + e.getMessage(), e);
        }
    }

    /** The checkpoint {@code latest} names, or null when there is none. */
    public Path latest() {
        Path pointer = dir.resolve("latest");
        if (!Files.isRegularFile(pointer)) return null;
        String name;
        try {
            name = Files.readString(pointer).strip();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(pointer + ": " + e.getMessage(), e);
        }
        Path p = dir.resolve(name);
        if (name.isEmpty() || !name.matches("step-\\d+") || !Files.isDirectory(p))
            throw refused(pointer, "names '" + name + "', which is not a checkpoint folder here", null);
        return p;
    }

    /** The names of the checkpoints present, newest first. */
    List<Path> all() {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("step-\\d+") && Files.isDirectory(p))
                    .sorted(Comparator.comparing((Path p) -> p.getFileName().toString()).reversed()).toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The state of a checkpoint after validating it: the state's fields (types, ranges, the step
     * matching the folder name) and the headers of both weight files. A checkpoint that does not
     * validate is refused, naming the newest older one that does.
     */
    public static State readState(Path ckpt) {
        String why = problem(ckpt);
        if (why != null) throw refused(ckpt, why, ckpt);
        return parse(ckpt);
    }

    /** The fingerprint stored in the checkpoint, or null for a checkpoint written before fingerprints. */
    public static JsonNode fingerprintOf(Path ckpt) {
        try {
            JsonNode n = new ObjectMapper().readTree(ckpt.resolve(STATE).toFile());
            JsonNode c = n == null ? null : n.get("config");
            return c != null && c.isObject() ? c : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static State parse(Path ckpt) {
        try {
            JsonNode n = new ObjectMapper().readTree(ckpt.resolve(STATE).toFile());
            return new State(n.get("step").asLong(), n.get("cursor").asLong(), n.get("optimizer_step").asLong());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(ckpt.resolve(STATE) + ": " + e.getMessage(), e);
        }
    }

    /** Why the checkpoint cannot be resumed from, or null when it validates. */
    static String problem(Path ckpt) {
        Path state = ckpt.resolve(STATE);
        if (!Files.isRegularFile(state)) return STATE + " is missing";
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(state.toFile());
        } catch (IOException e) {
            return STATE + " is not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")";
        }
        if (n == null || !n.isObject()) return STATE + " is not a JSON object";
        for (String k : new String[] {"step", "cursor", "optimizer_step"}) {
            JsonNode v = n.get(k);
            long min = k.equals("step") ? 1 : 0;
            if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min)
                return STATE + ": \"" + k + "\" must be an integer >= " + min + ", got " + (v == null ? "nothing" : v);
        }
        String name = ckpt.getFileName().toString();
        if (name.matches("step-\\d+") && Long.parseLong(name.substring(5)) != n.get("step").asLong())
            return STATE + ": \"step\" is " + n.get("step") + " but the folder is " + name;
        for (String f : new String[] {TRAINABLE, OPTIMIZER}) {
            if (!Files.isRegularFile(ckpt.resolve(f))) return f + " is missing";
            try (SafeTensors st = SafeTensors.open(ckpt.resolve(f))) {
                if (st.names().isEmpty() && f.equals(TRAINABLE)) return f + " holds no tensor";
            } catch (RuntimeException e) {
                return f + ": " + e.getMessage();
            }
        }
        return null;
    }

    private static InputException refused(Path what, String why, Path bad) {
        Path ckdir = bad != null ? bad.getParent() : what.getParent();
        Checkpoints c = new Checkpoints(ckdir.getParent());
        String older = null;
        for (Path p : c.all()) {
            if (bad != null && p.getFileName().toString().compareTo(bad.getFileName().toString()) >= 0) continue;
            if (problem(p) == null) {
                older = p.getFileName().toString();
                break;
            }
        }
        String offer = older == null ? "; no older checkpoint validates: start over with --overwrite (the old run is moved aside)"
                : "; the newest older valid checkpoint is " + older + ": to resume from it, run `echo " + older + " > "
                + c.dir().resolve("latest") + "` and --resume again";
        return new InputException(what + ": " + why + "; this checkpoint is refused" + offer);
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(x);
        }
    }

    /** A stage's trainable weights under their checkpoint names (the MAE's module-style names, as X-Former saves them). */
    static Map<String, Tensor> trainableState(Map<String, Parameter> trainable) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        trainable.forEach((k, p) -> out.put(XFormer.toCheckpointKey(k), p.get()));
        return out;
    }

    /** Restores the trainable weights from trainable.safetensors: every trainable one must be there, nothing else. */
    static void loadTrainable(Module model, Map<String, Parameter> trainable, Path file, Device device) {
        try (SafeTensors f = SafeTensors.open(file)) {
            var report = model.loadStateDict(f.source(), XFormer::fromCheckpointKey, DType.F32, device, false);
            List<String> missing = report.missing().stream().filter(trainable::containsKey).toList();
            if (!missing.isEmpty() || !report.unexpected().isEmpty() || !report.mismatched().isEmpty())
                throw new InputException(file.getParent() + ": checkpoint does not match the model: " + report);
        }
    }
}
