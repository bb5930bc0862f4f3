package io.xformer.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** configs/tiny.json made small for tests: one annotations file, batch 4, every step logged. */
final class TinyRun {
    static final Path ROOT = Path.of(System.getProperty("xformer.root", "../..")).toAbsolutePath().normalize();
    static final ObjectMapper JSON = new ObjectMapper();

    private TinyRun() {}

    static Path config(Path dir, String name, Path annotations, Path images, int steps) throws IOException {
        ObjectNode c = (ObjectNode) JSON.readTree(ROOT.resolve("configs/tiny.json").toFile());
        c.remove("data");
        c.putObject("init").put("seed", 1).put("std", 0.15);
        c.put("tokenizer", ROOT.resolve("test-data/hf-tiny/tokenizer-wordpiece/tokenizer.json").toString());
        c.putObject("data").putArray("train").addObject().put("annotations", annotations.toString()).put("images", images.toString());
        ((ObjectNode) c.get("train")).put("batch_size", 4).put("max_steps", steps).put("warmup_steps", 5).put("log_every", 1)
                .put("checkpoint_every", 20).put("workers", 2);
        Path f = dir.resolve(name + ".json");
        Files.writeString(f, c.toPrettyString());
        return f;
    }
}
