package io.xformer.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.nn.TorchException;
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
 */
public final class WebDataset implements Source {
    private record Entry(String id, byte[] image, String caption) {}

    private final List<Entry> entries = new ArrayList<>();

    public static WebDataset open(List<Path> shards) {
        WebDataset d = new WebDataset();
        for (Path shard : shards) d.index(shard);
        return d;
    }

    private void index(Path shard) {
        Map<String, Map<String, byte[]>> groups = new LinkedHashMap<>();
        try (InputStream in = Files.newInputStream(shard); TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                if (!e.isFile()) continue;
                String name = e.getName();
                int slash = name.lastIndexOf('/');
                int dot = name.indexOf('.', slash + 1);
                if (dot < 0) continue;
                String key = name.substring(0, dot), ext = name.substring(dot + 1).toLowerCase(Locale.ROOT);
                groups.computeIfAbsent(key, k -> new LinkedHashMap<>()).put(ext, tar.readAllBytes());
            }
        } catch (IOException e) {
            throw new TorchException(shard + ": unreadable tar shard: " + e.getMessage(), e);
        }
        ObjectMapper json = new ObjectMapper();
        for (Map.Entry<String, Map<String, byte[]>> g : groups.entrySet()) {
            Map<String, byte[]> f = g.getValue();
            byte[] img = f.containsKey("jpg") ? f.get("jpg") : f.containsKey("jpeg") ? f.get("jpeg") : f.get("png");
            String caption = null;
            if (f.containsKey("txt")) caption = new String(f.get("txt"), StandardCharsets.UTF_8).strip();
            else if (f.containsKey("json")) {
                try {
                    JsonNode n = json.readTree(f.get("json"));
                    if (n != null && n.has("caption")) caption = n.get("caption").asText();
                } catch (IOException ignored) {
                    // no usable caption: the sample is dropped below
                }
            }
            if (caption != null) entries.add(new Entry(shard + ":" + g.getKey(), img, caption));
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
        if (e.image == null) throw new IOException(e.id + ": no jpg/png in the sample");
        return new Sample(e.id, Images.decode(e.image, e.id), e.caption);
    }
}
