package io.xformer.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.nn.TorchException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * LAVIS-style annotations: {@code [{"image": "rel/path.jpg", "caption": "..." or [...]}]} with an
 * image root. A caption list becomes one sample per caption.
 */
public final class LavisJson implements Source {
    private record Entry(Path image, String caption) {}

    private final List<Entry> entries;

    private LavisJson(List<Entry> entries) {
        this.entries = entries;
    }

    public static LavisJson open(Path annotations, Path imageRoot) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(annotations.toFile());
        } catch (IOException e) {
            throw new TorchException(annotations + ": cannot read annotations: " + e.getMessage(), e);
        }
        if (root == null || !root.isArray()) throw new TorchException(annotations + ": expected a JSON array of {image, caption}");
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) {
            JsonNode a = root.get(i);
            JsonNode img = a.get("image"), cap = a.get("caption");
            if (img == null || !img.isTextual() || cap == null)
                throw new TorchException(annotations + ": entry " + i + " needs \"image\" and \"caption\"");
            Path p = imageRoot.resolve(img.asText());
            if (cap.isArray()) for (JsonNode c : cap) out.add(new Entry(p, c.asText()));
            else out.add(new Entry(p, cap.asText()));
        }
        return new LavisJson(out);
    }

    @Override
    public int size() {
        return entries.size();
    }

    @Override
    public String describe(int i) {
        return entries.get(i).image.toString();
    }

    @Override
    public Sample load(int i) throws IOException {
        Entry e = entries.get(i);
        return new Sample(e.image.toString(), Images.read(e.image), e.caption);
    }
}
