package io.xformer.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.nn.Module;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Tensor;
import io.xformer.nn.InputException;
import io.xformer.nn.TorchException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A HuggingFace model folder: {@code config.json} plus either {@code model.safetensors} or the
 * shards listed by {@code model.safetensors.index.json}. Every shard is opened and validated
 * up front, so a missing or truncated shard fails here, naming the file.
 */
public final class HfCheckpoint implements AutoCloseable {
    public static final String CONFIG = "config.json";
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final JsonNode config;
    private final List<SafeTensors> files;
    private final Map<String, SafeTensors> byName;

    private HfCheckpoint(Path dir, JsonNode config, List<SafeTensors> files, Map<String, SafeTensors> byName) {
        this.dir = dir;
        this.config = config;
        this.files = files;
        this.byName = byName;
    }

    public static HfCheckpoint open(Path dir) {
        if (!Files.isDirectory(dir)) throw new InputException(dir + ": not a model folder");
        JsonNode config = readJson(dir.resolve(CONFIG));
        List<SafeTensors> files = new ArrayList<>();
        Map<String, SafeTensors> byName = new TreeMap<>();
        try {
            Path index = dir.resolve(INDEX);
            if (Files.isRegularFile(index)) {
                JsonNode map = readJson(index).get("weight_map");
                if (map == null || !map.isObject()) throw new InputException(index + ": no weight_map object");
                Map<String, SafeTensors> shards = new LinkedHashMap<>();
                for (Map.Entry<String, JsonNode> e : map.properties()) {
                    String shard = e.getValue().asText();
                    SafeTensors f = shards.get(shard);
                    if (f == null) {
                        Path p = dir.resolve(shard);
                        if (!Files.isRegularFile(p))
                            throw new InputException(index + ": shard " + p + " (holding '" + e.getKey() + "') is missing");
                        f = SafeTensors.open(p);
                        shards.put(shard, f);
                        files.add(f);
                    }
                    if (!f.contains(e.getKey()))
                        throw new InputException(index + ": '" + e.getKey() + "' is not in shard " + f.path());
                    byName.put(e.getKey(), f);
                }
            } else {
                Path single = dir.resolve(SINGLE);
                if (!Files.isRegularFile(single))
                    throw new InputException(dir + ": neither " + SINGLE + " nor " + INDEX + " found");
                SafeTensors f = SafeTensors.open(single);
                files.add(f);
                for (String n : f.names()) byName.put(n, f);
            }
        } catch (RuntimeException e) {
            files.forEach(SafeTensors::close);
            throw e;
        }
        return new HfCheckpoint(dir, config, List.copyOf(files), Collections.unmodifiableMap(byName));
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

    /** The first entry of config.json's "architectures", or "" when absent. */
    public String architecture() {
        JsonNode a = config.get("architectures");
        return a != null && a.isArray() && !a.isEmpty() ? a.get(0).asText() : "";
    }

    public List<Path> files() {
        return files.stream().map(SafeTensors::path).toList();
    }

    /** Tensor names, sorted. */
    public List<String> names() {
        return List.copyOf(byName.keySet());
    }

    public SafeTensors.Entry entry(String name) {
        return file(name).entry(name);
    }

    /** A zero-copy CPU tensor (owned by the current scope, if any). */
    public Tensor get(String name) {
        return file(name).get(name);
    }

    private SafeTensors file(String name) {
        SafeTensors f = byName.get(name);
        if (f == null) throw new InputException(dir + ": no tensor named '" + name + "'");
        return f;
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

    @Override
    public void close() {
        files.forEach(SafeTensors::close);
    }
}
