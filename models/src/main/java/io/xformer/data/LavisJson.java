package io.xformer.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.nn.InputException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * LAVIS-style annotations: {@code [{"image": "rel/path.jpg", "caption": "..." or [...]}]} with an
 * image root. A caption list becomes one sample per caption. A null, non-text or empty caption
 * (empty once cleaned, e.g. "...") is kept in the index but refused on load, so the loader skips
 * and counts it with the reason rather than training on the text "null".
 */
public final class LavisJson implements Source {
    private record Entry(Path image, String caption, String problem) {}

    private final List<Entry> entries;
    private final long maxPixels;

    private LavisJson(List<Entry> entries, long maxPixels) {
        this.entries = entries;
        this.maxPixels = maxPixels;
    }

    public static LavisJson open(Path annotations, Path imageRoot) {
        return open(annotations, imageRoot, Images.DEFAULT_MAX_PIXELS);
    }

    public static LavisJson open(Path annotations, Path imageRoot, long maxPixels) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(annotations.toFile());
        } catch (java.io.FileNotFoundException | NoSuchFileException e) {
            throw new InputException(annotations + ": no such annotations file", e);
        } catch (IOException e) {
            throw new InputException(annotations + ": cannot read annotations: " + e.getMessage(), e);
        }
        if (root == null || !root.isArray()) throw new InputException(annotations + ": expected a JSON array of {image, caption}");
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) {
            JsonNode a = root.get(i);
            JsonNode img = a.get("image"), cap = a.get("caption");
            if (img == null || !img.isTextual() || cap == null)
                throw new InputException(annotations + ": entry " + i + " needs \"image\" and \"caption\"");
            Path p = imageRoot.resolve(img.asText());
            String where = annotations.getFileName() + "[" + i + "]";
            if (cap.isArray()) {
                for (int j = 0; j < cap.size(); j++) out.add(entry(p, cap.get(j), where + ".caption[" + j + "]"));
            } else out.add(entry(p, cap, where + ".caption"));
        }
        return new LavisJson(out, maxPixels);
    }

    private static Entry entry(Path image, JsonNode cap, String where) {
        return new Entry(image, cap.isTextual() ? cap.asText() : null, Captions.problem(cap, where));
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
        if (e.problem != null) throw new IOException(e.image + ": skipped: " + e.problem);
        return new Sample(e.image.toString(), Images.read(e.image, maxPixels), e.caption);
    }
}
