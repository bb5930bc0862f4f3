package io.xformer.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.nn.InputException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * WebDataset {@code .tar} shards: files grouped by key (the name up to the first dot after the
 * last slash), image from {@code jpg/jpeg/png}, caption from {@code txt} or {@code json}'s
 * "caption". Shards are indexed once; samples keep their encoded bytes and decode on load().
 *
 * <p>A shard must be whole: a tar is a sequence of 512-byte blocks ending in zero blocks, and
 * every member must hold the bytes its header declares. A shard cut anywhere (inside a header,
 * inside a member, or between members) is an error naming it, never a silently shorter data
 * set. A sample without an image or a usable caption stays in the index and is refused on load,
 * so the loader skips and counts it with the reason.
 */
public final class WebDataset implements Source {
    private record Entry(String id, byte[] image, String caption, String problem) {}

    private static final int BLOCK = 512;

    private final List<Entry> entries = new ArrayList<>();
    private final long maxPixels;

    private WebDataset(long maxPixels) {
        this.maxPixels = maxPixels;
    }

    public static WebDataset open(List<Path> shards) {
        return open(shards, Images.DEFAULT_MAX_PIXELS);
    }

    public static WebDataset open(List<Path> shards, long maxPixels) {
        WebDataset d = new WebDataset(maxPixels);
        for (Path shard : shards) d.index(shard);
        return d;
    }

    private void index(Path shard) {
        if (!Files.exists(shard)) throw new InputException(shard + ": no such WebDataset shard (listed in the config's webdataset list)");
        if (!Files.isRegularFile(shard)) throw new InputException(shard + ": not a file (a WebDataset shard is a .tar file)");
        if (!Files.isReadable(shard)) throw new InputException(shard + ": shard is not readable (permissions)");
        long size;
        try {
            size = Files.size(shard);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(shard + ": " + e.getMessage(), e);
        }
        if (size == 0) throw new InputException(shard + ": empty file, not a tar shard");
        if (size % BLOCK != 0)
            throw truncated(shard, size + " bytes is not a whole number of 512-byte tar blocks");
        Map<String, Map<String, byte[]>> groups = new LinkedHashMap<>();
        String last = null;
        try (InputStream in = Files.newInputStream(shard); TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                last = e.getName();
                if (!e.isFile()) continue;
                byte[] data = tar.readAllBytes();
                if (data.length != e.getSize())
                    throw truncated(shard, "member '" + e.getName() + "' declares " + e.getSize() + " bytes but holds " + data.length);
                String name = e.getName();
                int slash = name.lastIndexOf('/');
                int dot = name.indexOf('.', slash + 1);
                if (dot < 0) continue;
                String key = name.substring(0, dot), ext = name.substring(dot + 1).toLowerCase(java.util.Locale.ROOT);
                groups.computeIfAbsent(key, k -> new LinkedHashMap<>()).put(ext, data);
            }
        } catch (InputException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw truncatedOrCorrupt(shard, last, e);
        }
        if (!endsWithZeroBlock(shard, size))
            throw truncated(shard, "no end-of-archive block after " + (last == null ? "the start" : "member '" + last + "'"));
        ObjectMapper json = new ObjectMapper();
        for (Map.Entry<String, Map<String, byte[]>> g : groups.entrySet()) {
            Map<String, byte[]> f = g.getValue();
            String id = shard + ":" + g.getKey();
            byte[] img = f.containsKey("jpg") ? f.get("jpg") : f.containsKey("jpeg") ? f.get("jpeg") : f.get("png");
            String caption = null, problem;
            if (f.containsKey("txt")) {
                caption = new String(f.get("txt"), StandardCharsets.UTF_8).strip();
                problem = Captions.problem(caption, g.getKey() + ".txt");
            } else if (f.containsKey("json")) {
                JsonNode n;
                try {
                    n = json.readTree(f.get("json"));
                } catch (IOException ex) {
                    n = null;
                }
                if (n == null || !n.isObject()) problem = g.getKey() + ".json is not a JSON object";
                else {
                    problem = Captions.problem(n.get("caption"), g.getKey() + ".json caption");
                    if (problem == null) caption = n.get("caption").asText();
                }
            } else problem = "no caption (.txt or .json) in the sample";
            if (problem == null && img == null) problem = "no image (.jpg, .jpeg or .png) in the sample";
            entries.add(new Entry(id, img, caption, problem));
        }
    }

    private static InputException truncated(Path shard, String why) {
        return new InputException(shard + ": truncated or corrupt WebDataset shard: " + why + "; re-create or re-download it, "
                + "or drop it from the config");
    }

    private static InputException truncatedOrCorrupt(Path shard, String last, Exception e) {
        return truncated(shard, (last == null ? "at the first member" : "after member '" + last + "'") + " (" + e.getMessage() + ")");
    }

    /** A whole tar ends with a zero block; a shard cut between members ends with a member's data instead. */
    private static boolean endsWithZeroBlock(Path shard, long size) {
        try (var ch = java.nio.channels.FileChannel.open(shard)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(BLOCK);
            long pos = size - BLOCK;
            while (b.hasRemaining()) {
                int n = ch.read(b, pos + b.position());
                if (n < 0) return false;
            }
            for (int i = 0; i < BLOCK; i++) if (b.get(i) != 0) return false;
            return true;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(shard + ": " + e.getMessage(), e);
        }
    }

    @Override
    public int size() {
        return entries.size();
    }

    @Override
    public String describe(int i) {
        return entries.get(i).id;
    }

    @Override
    public Sample load(int i) throws IOException {
        Entry e = entries.get(i);
        if (e.problem != null) throw new IOException(e.id + ": skipped: " + e.problem);
        return new Sample(e.id, Images.decode(e.image, e.id, maxPixels), e.caption);
    }
}
