package io.xformer.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.nn.DType;
import io.xformer.nn.Module;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Tensor;
import io.xformer.nn.InputException;
import io.xformer.nn.TorchException;
import io.xformer.nn.TorchPickle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * A HuggingFace model folder: {@code config.json} plus the weights, in this order of preference:
 * {@code model.safetensors.index.json} (shards), {@code model.safetensors},
 * {@code pytorch_model.bin.index.json} (pickle shards) or {@code pytorch_model.bin}. A single
 * weights file (a {@code .safetensors}, or a {@code torch.save} file such as LAVIS's {@code .pth})
 * opens too, with the {@code config.json} beside it when there is one. Every file is opened and
 * validated up front, so a missing, truncated or hostile file fails here, naming the file.
 * Checkpoints with LAVIS's parameter names are presented under transformers' names ({@link LavisKeys}).
 */
public final class HfCheckpoint implements AutoCloseable {
    public static final String CONFIG = "config.json";
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";
    public static final String PICKLE = "pytorch_model.bin";
    public static final String PICKLE_INDEX = "pytorch_model.bin.index.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One tensor's dtype and shape, and the file holding it. */
    public record Entry(String name, DType dtype, long[] shape, Path file) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    /** A tensor as this checkpoint presents it: read from a file or derived from others. */
    record Slot(Entry entry, Supplier<Tensor> get) {}

    private final Path dir;
    private final JsonNode config;
    private final List<Path> files;
    private final List<AutoCloseable> open;
    private final Map<String, Slot> byName;
    private final boolean lavis;

    private HfCheckpoint(Path dir, JsonNode config, List<Path> files, List<AutoCloseable> open, Map<String, Slot> byName,
                         boolean lavis) {
        this.dir = dir;
        this.config = config;
        this.files = files;
        this.open = open;
        this.byName = byName;
        this.lavis = lavis;
    }

    public static HfCheckpoint open(Path dir) {
        return open(dir, null);
    }

    /**
     * Opens a model folder or a single weights file. {@code stateKey} picks the dict of a
     * {@code torch.save} file that holds the state dict (null: the whole file, or its "model" /
     * "state_dict" entry when it is a training checkpoint); it is ignored for safetensors. A path
     * that does not exist but reads {@code ORG/NAME[@REV]} is looked up in the HF cache ({@link HfCache}).
     */
    public static HfCheckpoint open(Path path, String stateKey) {
        path = HfCache.resolve(path);
        boolean single = Files.isRegularFile(path);
        if (!single && !Files.isDirectory(path)) throw new InputException(path + ": not a model folder or weights file");
        Path dir = single ? parentOf(path) : path;
        JsonNode config = single && !Files.isRegularFile(dir.resolve(CONFIG)) ? JSON.createObjectNode() : readJson(dir.resolve(CONFIG));
        List<Path> files = new ArrayList<>();
        List<AutoCloseable> open = new ArrayList<>();
        Map<String, Slot> byName = new TreeMap<>();
        try {
            if (single) {
                addFile(path, stateKey, files, open, byName, null);
            } else if (Files.isRegularFile(dir.resolve(INDEX))) {
                addShards(dir.resolve(INDEX), stateKey, files, open, byName);
            } else if (Files.isRegularFile(dir.resolve(SINGLE))) {
                addFile(dir.resolve(SINGLE), stateKey, files, open, byName, null);
            } else if (Files.isRegularFile(dir.resolve(PICKLE_INDEX))) {
                addShards(dir.resolve(PICKLE_INDEX), stateKey, files, open, byName);
            } else if (Files.isRegularFile(dir.resolve(PICKLE))) {
                addFile(dir.resolve(PICKLE), stateKey, files, open, byName, null);
            } else {
                throw new InputException(dir + ": none of " + SINGLE + ", " + INDEX + ", " + PICKLE + ", " + PICKLE_INDEX + " found");
            }
            boolean lavis = LavisKeys.isLavis(byName.keySet());
            Map<String, Slot> named = lavis ? LavisKeys.toHf(byName) : byName;
            return new HfCheckpoint(dir, config, List.copyOf(files), List.copyOf(open), Collections.unmodifiableMap(named), lavis);
        } catch (RuntimeException e) {
            closeAll(open);
            throw e;
        }
    }

    private static Path parentOf(Path file) {
        Path p = file.toAbsolutePath().getParent();
        return p == null ? Path.of(".") : p;
    }

    private static void addShards(Path index, String stateKey, List<Path> files, List<AutoCloseable> open, Map<String, Slot> byName) {
        JsonNode map = readJson(index).get("weight_map");
        if (map == null || !map.isObject()) throw new InputException(index + ": no weight_map object");
        Map<String, Map<String, Slot>> shards = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            String shard = e.getValue().asText();
            Map<String, Slot> in = shards.get(shard);
            if (in == null) {
                Path p = index.resolveSibling(shard);
                if (!Files.isRegularFile(p))
                    throw new InputException(index + ": shard " + p + " (holding '" + e.getKey() + "') is missing");
                in = new TreeMap<>();
                addFile(p, stateKey, files, open, in, index);
                shards.put(shard, in);
            }
            Slot slot = in.get(e.getKey());
            if (slot == null) throw new InputException(index + ": '" + e.getKey() + "' is not in shard " + index.resolveSibling(shard));
            byName.put(e.getKey(), slot);
        }
    }

    /** Adds a file's tensors to into; a safetensors file by its extension, anything else as a torch.save file. */
    private static void addFile(Path p, String stateKey, List<Path> files, List<AutoCloseable> open, Map<String, Slot> into, Path index) {
        if (p.getFileName().toString().endsWith(".safetensors")) {
            SafeTensors f = SafeTensors.open(p);
            open.add(f);
            for (String n : f.names()) {
                SafeTensors.Entry e = f.entry(n);
                into.put(n, new Slot(new Entry(n, e.dtype(), e.shape(), p), () -> f.get(n)));
            }
        } else {
            TorchPickle f = TorchPickle.open(p, stateKey);
            open.add(f);
            for (String n : f.names()) {
                TorchPickle.Entry e = f.entry(n);
                into.put(n, new Slot(new Entry(n, e.dtype(), e.shape(), p), () -> f.get(n)));
            }
        }
        files.add(p);
    }

    static JsonNode readJson(Path p) {
        if (!Files.isRegularFile(p)) throw new InputException(p + ": missing");
        try {
            JsonNode n = JSON.readTree(p.toFile());
            if (n == null || !n.isObject()) throw new InputException(p + ": not a JSON object");
            return n;
        } catch (IOException e) {
            throw new InputException(p + ": invalid JSON: " + e.getMessage(), e);
        }
    }

    public Path dir() {
        return dir;
    }

    public JsonNode config() {
        return config;
    }

    /** Whether the file used LAVIS's parameter names (now presented under transformers' names). */
    public boolean isLavis() {
        return lavis;
    }

    /** The "architectures" entry of config.json, or "" when absent. */
    public String architecture() {
        JsonNode a = config.get("architectures");
        return a != null && a.isArray() && !a.isEmpty() ? a.get(0).asText() : "";
    }

    /** The weight files, in the order they were opened. */
    public List<Path> files() {
        return files;
    }

    /** Tensor names, sorted. */
    public List<String> names() {
        return List.copyOf(byName.keySet());
    }

    public Entry entry(String name) {
        return slot(name).entry();
    }

    /** A CPU tensor, zero-copy where the file allows (owned by the current scope, if any). */
    public Tensor get(String name) {
        return slot(name).get().get();
    }

    private Slot slot(String name) {
        Slot s = byName.get(name);
        if (s == null) throw new InputException(dir + ": no tensor named '" + name + "'");
        return s;
    }

    /** This checkpoint as a source for {@link Module#loadStateDict}. */
    public Module.TensorSource source() {
        return new Module.TensorSource() {
            public List<String> names() {
                return HfCheckpoint.this.names();
            }

            public long[] shape(String name) {
                return entry(name).shape();
            }

            public Tensor get(String name) {
                return HfCheckpoint.this.get(name);
            }
        };
    }

    private static void closeAll(List<AutoCloseable> open) {
        for (AutoCloseable c : open) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing native handles does not fail; nothing to report
            }
        }
    }

    @Override
    public void close() {
        closeAll(open);
    }
}
