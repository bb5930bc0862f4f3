package io.xformer.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.models.XFormer;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Module;
import io.xformer.nn.Parameter;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Tensor;
import io.xformer.nn.TorchException;
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
 */
public final class Checkpoints {
    public static final String TRAINABLE = "trainable.safetensors", OPTIMIZER = "optimizer.safetensors", STATE = "trainer_state.json";

    private final Path dir;

    public Checkpoints(Path runDir) {
        this.dir = runDir.resolve("checkpoints");
    }

    public Path dir() {
        return dir;
    }

    public record State(long step, long cursor, long optimizerStep) {}

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
            Files.writeString(tmp.resolve(STATE), s.toPrettyString());
            deleteTree(fin);
            move(tmp, fin);
            Path pointer = dir.resolve("latest.tmp");
            Files.writeString(pointer, name);
            move(pointer, dir.resolve("latest"));
            return fin;
        } catch (IOException e) {
            throw new TorchException(tmp + ": cannot write checkpoint: " + e.getMessage(), e);
        }
    }

    /** The checkpoint {@code latest} names, or null when there is none. */
    public Path latest() {
        Path pointer = dir.resolve("latest");
        if (!Files.isRegularFile(pointer)) return null;
        try {
            Path p = dir.resolve(Files.readString(pointer).strip());
            if (!Files.isDirectory(p)) throw new TorchException(pointer + " names " + p + ", which does not exist");
            return p;
        } catch (IOException e) {
            throw new TorchException(pointer + ": " + e.getMessage(), e);
        }
    }

    public static State readState(Path ckpt) {
        try {
            var n = new ObjectMapper().readTree(ckpt.resolve(STATE).toFile());
            return new State(n.path("step").asLong(), n.path("cursor").asLong(), n.path("optimizer_step").asLong());
        } catch (IOException e) {
            throw new TorchException(ckpt.resolve(STATE) + ": " + e.getMessage(), e);
        }
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
                throw new TorchException(file.getParent() + ": checkpoint does not match the model: " + report);
        }
    }
}
