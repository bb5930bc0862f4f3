package io.xformer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.nn.TorchException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A training run's JSON config. Relative paths resolve against the config file's folder.
 *
 * <pre>
 * {"model": { XFormerForPreTraining config.json fields },
 *  "init": {"checkpoint": DIR} | {"vision": BLIP2_DIR, "mae": VITMAE_DIR, "qformer": BERT_OR_BLIP2_DIR, "seed": 0, "std": 0.02},
 *  "tokenizer": "tokenizer.json",
 *  "data": {"synthetic": {"dir", "images", "seed", "size"},     (generated when dir is missing)
 *           "train": [{"annotations", "images"} | {"webdataset": [shards]}], "val": [...]},
 *  "train": {"batch_size", "accum_steps", "max_steps", "lr", "min_lr", "warmup_lr", "warmup_steps",
 *            "weight_decay", "betas", "grad_clip", "log_every", "checkpoint_every", "seed", "workers",
 *            "image_size", "max_text_len", "max_words", "device", "amp"}}
 * </pre>
 */
public record TrainConfig(Path file, JsonNode model, Init init, Path tokenizer, Data data, Train train) {
    public record Init(Path checkpoint, Path vision, Path mae, Path qformer, long seed, double std) {}

    public record SourceSpec(Path annotations, Path images, List<Path> webdataset) {}

    public record SyntheticSpec(Path dir, int images, long seed, int size) {}

    public record Data(SyntheticSpec synthetic, List<SourceSpec> train, List<SourceSpec> val) {}

    public record Train(int batchSize, int accumSteps, long maxSteps, double lr, double minLr, double warmupLr, long warmupSteps,
                        double weightDecay, double beta1, double beta2, double gradClip, int logEvery, int checkpointEvery,
                        long seed, int workers, int imageSize, int maxTextLen, int maxWords, String device, boolean amp) {}

    public static TrainConfig load(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new TorchException(file + ": cannot read config: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) throw new TorchException(file + ": not a JSON object");
        Path base = file.toAbsolutePath().getParent();
        JsonNode model = need(root, "model", file);
        JsonNode i = root.path("init");
        Init init = new Init(model(base, i, "checkpoint"), model(base, i, "vision"), model(base, i, "mae"), model(base, i, "qformer"),
                i.path("seed").asLong(0), i.path("std").asDouble(0.02));
        Path tok = path(base, root, "tokenizer");
        if (tok == null) throw new TorchException(file + ": \"tokenizer\" (a tokenizer.json) is required");
        JsonNode d = root.path("data");
        JsonNode syn = d.get("synthetic");
        SyntheticSpec synthetic = syn == null ? null
                : new SyntheticSpec(path(base, syn, "dir"), syn.path("images").asInt(512), syn.path("seed").asLong(0), syn.path("size").asInt(64));
        Path dataBase = synthetic != null ? synthetic.dir() : base;
        Data data = new Data(synthetic, sources(dataBase, d.path("train"), file), sources(dataBase, d.path("val"), file));
        if (data.train().isEmpty()) throw new TorchException(file + ": data.train lists no source");
        JsonNode t = root.path("train");
        JsonNode betas = t.path("betas");
        Train train = new Train(t.path("batch_size").asInt(8), t.path("accum_steps").asInt(1), t.path("max_steps").asLong(1000),
                t.path("lr").asDouble(1e-4), t.path("min_lr").asDouble(1e-5), t.path("warmup_lr").asDouble(1e-6),
                t.path("warmup_steps").asLong(2000), t.path("weight_decay").asDouble(0.05),
                betas.isArray() ? betas.get(0).asDouble() : 0.9, betas.isArray() ? betas.get(1).asDouble() : 0.98,
                t.path("grad_clip").asDouble(0), t.path("log_every").asInt(10), t.path("checkpoint_every").asInt(500),
                t.path("seed").asLong(42), t.path("workers").asInt(Math.max(1, Runtime.getRuntime().availableProcessors() - 1)),
                t.path("image_size").asInt(224), t.path("max_text_len").asInt(32), t.path("max_words").asInt(30),
                t.path("device").asText("cpu"), t.path("amp").asBoolean(true));
        if (train.batchSize() < 2) throw new TorchException(file + ": train.batch_size must be >= 2 (ITM draws in-batch negatives)");
        return new TrainConfig(file, model, init, tok, data, train);
    }

    private static JsonNode need(JsonNode n, String key, Path file) {
        JsonNode v = n.get(key);
        if (v == null || !v.isObject()) throw new TorchException(file + ": missing object \"" + key + "\"");
        return v;
    }

    private static Path path(Path base, JsonNode n, String key) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() || v.asText().isEmpty() ? null : base.resolve(v.asText()).normalize();
    }

    /** A model folder or file relative to the config, else a HF cache id (ORG/NAME[@REV]) when it reads like one. */
    private static Path model(Path base, JsonNode n, String key) {
        Path p = path(base, n, key);
        if (p == null || java.nio.file.Files.exists(p) || !io.xformer.hf.HfCache.looksLikeId(n.get(key).asText())) return p;
        return io.xformer.hf.HfCache.resolve(Path.of(n.get(key).asText()));
    }

    private static List<SourceSpec> sources(Path base, JsonNode list, Path file) {
        List<SourceSpec> out = new ArrayList<>();
        if (list.isMissingNode() || list.isNull()) return out;
        if (!list.isArray()) throw new TorchException(file + ": data sources must be a list");
        for (JsonNode s : list) {
            List<Path> shards = new ArrayList<>();
            for (JsonNode w : s.path("webdataset")) shards.add(base.resolve(w.asText()).normalize());
            out.add(new SourceSpec(path(base, s, "annotations"), s.has("images") ? path(base, s, "images") : base, shards));
        }
        return out;
    }
}
