package io.xformer.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.TorchException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes any checkpoint {@link HfCheckpoint} opens as a safetensors model folder, the layout
 * transformers' {@code save_pretrained} uses: {@code model.safetensors}, or above the size limit
 * {@code model-0000K-of-0000N.safetensors} shards with {@code model.safetensors.index.json}.
 * Tensors keep their dtype and values bit for bit (views are written as their own bytes).
 */
public final class SafetensorsExport {
    private SafetensorsExport() {}

    /** transformers' default shard limit (5 GB, decimal). */
    public static final long DEFAULT_MAX_SHARD = 5_000_000_000L;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Parses "5GB", "200MB", "10KB", "123" (bytes; decimal units as transformers uses). */
    public static long parseSize(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        long mult = 1;
        for (String[] u : new String[][] {{"GB", "1000000000"}, {"MB", "1000000"}, {"KB", "1000"}, {"B", "1"}}) {
            if (t.endsWith(u[0])) {
                mult = Long.parseLong(u[1]);
                t = t.substring(0, t.length() - u[0].length()).trim();
                break;
            }
        }
        try {
            long v = Long.parseLong(t);
            if (v <= 0) throw new NumberFormatException();
            return Math.multiplyExact(v, mult);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("not a size: '" + s + "' (e.g. 5GB, 200MB, 4096)");
        }
    }

    /** Writes c's tensors (under the names c presents) into out; returns the files written. */
    public static List<Path> write(HfCheckpoint c, Path out, long maxShardBytes) {
        List<List<String>> shards = new ArrayList<>();
        List<String> cur = new ArrayList<>();
        long curBytes = 0, total = 0;
        for (String n : c.names()) {
            HfCheckpoint.Entry e = c.entry(n);
            long bytes = e.numel() * e.dtype().byteSize();
            if (!cur.isEmpty() && curBytes + bytes > maxShardBytes) {
                shards.add(cur);
                cur = new ArrayList<>();
                curBytes = 0;
            }
            cur.add(n);
            curBytes += bytes;
            total += bytes;
        }
        if (!cur.isEmpty() || shards.isEmpty()) shards.add(cur);
        List<Path> written = new ArrayList<>();
        try {
            Files.createDirectories(out);
            Map<String, String> weightMap = new LinkedHashMap<>();
            for (int i = 0; i < shards.size(); i++) {
                String file = shards.size() == 1 ? HfCheckpoint.SINGLE
                        : String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
                try (Scope s = Scope.open()) {
                    Map<String, Tensor> tensors = new LinkedHashMap<>();
                    for (String n : shards.get(i)) {
                        tensors.put(n, c.get(n));
                        weightMap.put(n, file);
                    }
                    SafeTensors.save(out.resolve(file), tensors, Map.of("format", "pt"));
                }
                written.add(out.resolve(file));
            }
            if (shards.size() > 1) {
                ObjectNode index = JSON.createObjectNode();
                index.putObject("metadata").put("total_size", total);
                ObjectNode map = index.putObject("weight_map");
                new TreeMap<>(weightMap).forEach(map::put);
                Path p = out.resolve(HfCheckpoint.INDEX);
                Files.writeString(p, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index) + "\n");
                written.add(p);
            } else {
                Files.deleteIfExists(out.resolve(HfCheckpoint.INDEX)); // a stale index would shadow the new file
            }
            for (String side : List.of(HfCheckpoint.CONFIG, "generation_config.json")) {
                Path from = c.dir().resolve(side), to = out.resolve(side);
                if (Files.isRegularFile(from) && !Files.isSameFile(c.dir(), out)) {
                    Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
                    written.add(to);
                }
            }
        } catch (IOException e) {
            throw new TorchException(out + ": " + e.getMessage(), e);
        }
        return written;
    }
}
