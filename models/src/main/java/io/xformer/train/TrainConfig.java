package io.xformer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.models.Json;
import io.xformer.models.Opt;
import io.xformer.models.XFormer;
import io.xformer.nn.ConfigException;
import io.xformer.nn.Device;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

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
 *
 * The project's own sections are read strictly ({@link StrictJson}): an unknown key is an error
 * with a "did you mean", and types and ranges are checked, naming the file and the JSON path.
 * The model section keeps HF's leniency for keys nobody reads, but what is read is type-checked,
 * and an unread key one typo away from a key that fell back to its default is an error.
 * {@link #resolved()} holds every value used (defaults included) by JSON path: the run's
 * fingerprint is taken from it ({@link Fingerprint}).
 */
public record TrainConfig(Path file, JsonNode model, Init init, Path tokenizer, Data data, Train train, Map<String, Object> resolved) {
    public record Init(Path checkpoint, Path vision, Path mae, Path qformer, long seed, double std) {}

    /** maxImagePixels: images with more pixels are skipped (counted, with the reason) rather than decoded. */
    public record SourceSpec(Path annotations, Path images, List<Path> webdataset, long maxImagePixels) {
        public SourceSpec(Path annotations, Path images, List<Path> webdataset) {
            this(annotations, images, webdataset, io.xformer.data.Images.DEFAULT_MAX_PIXELS);
        }
    }

    public record SyntheticSpec(Path dir, int images, long seed, int size) {}

    public record Data(SyntheticSpec synthetic, List<SourceSpec> train, List<SourceSpec> val) {}

    public record Train(int batchSize, int accumSteps, long maxSteps, double lr, double minLr, double warmupLr, long warmupSteps,
                        double weightDecay, double beta1, double beta2, double gradClip, int logEvery, int checkpointEvery,
                        long seed, int workers, int imageSize, int maxTextLen, int maxWords, String device, boolean amp) {}

    static final Set<String> ROOT_KEYS = Set.of("model", "init", "tokenizer", "data", "train");
    static final Set<String> INIT_KEYS = Set.of("checkpoint", "vision", "mae", "qformer", "seed", "std");
    static final Set<String> DATA_KEYS = Set.of("synthetic", "train", "val", "max_image_pixels");
    static final Set<String> SYNTHETIC_KEYS = Set.of("dir", "images", "seed", "size");
    static final Set<String> SOURCE_KEYS = Set.of("annotations", "images", "webdataset");
    static final Set<String> TRAIN_KEYS = Set.of("batch_size", "accum_steps", "max_steps", "lr", "min_lr", "warmup_lr",
            "warmup_steps", "weight_decay", "betas", "grad_clip", "log_every", "checkpoint_every", "seed", "workers", "image_size",
            "max_text_len", "max_words", "device", "amp");

    public static TrainConfig load(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (java.io.FileNotFoundException e) {
            throw new ConfigException(file + ": no such config file", e);
        } catch (IOException e) {
            throw new ConfigException(file + ": not valid JSON: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
        if (root == null || !root.isObject()) throw new ConfigException(file + ": expected a JSON object");
        Map<String, Object> resolved = new TreeMap<>();
        StrictJson r = new StrictJson(file, "", root, ROOT_KEYS, resolved);
        Path base = file.toAbsolutePath().getParent();
        JsonNode model = root.get("model");
        if (model == null || !model.isObject()) throw r.error("model", "expected an object (the XFormerForPreTraining config)", model);
        checkModel(file, model, resolved);
        StrictJson i = r.object("init", INIT_KEYS);
        Init init = i == null ? new Init(null, null, null, null, 0, 0.02)
                : new Init(path(base, i, "checkpoint"), path(base, i, "vision"), path(base, i, "mae"), path(base, i, "qformer"),
                i.integer("seed", 0, Long.MIN_VALUE, Long.MAX_VALUE), i.number("std", 0.02, 0, true, Double.POSITIVE_INFINITY));
        Path tok = path(base, r, "tokenizer");
        if (tok == null) throw r.error("tokenizer", "required (a tokenizer.json)", null);
        StrictJson d = r.object("data", DATA_KEYS);
        if (d == null) throw r.error("data", "required: {\"train\": [{\"annotations\", \"images\"} | {\"webdataset\": [...]}]}", null);
        StrictJson syn = d.object("synthetic", SYNTHETIC_KEYS);
        SyntheticSpec synthetic = null;
        if (syn != null) {
            Path dir = path(base, syn, "dir");
            if (dir == null) throw syn.error("dir", "required", null);
            synthetic = new SyntheticSpec(dir, syn.int32("images", 512, 2), syn.integer("seed", 0, Long.MIN_VALUE, Long.MAX_VALUE),
                    syn.int32("size", 64, 8));
        }
        long maxPixels = d.integer("max_image_pixels", io.xformer.data.Images.DEFAULT_MAX_PIXELS, 1, Long.MAX_VALUE);
        Path dataBase = synthetic != null ? synthetic.dir() : base;
        Data data = new Data(synthetic, sources(dataBase, d, "train", maxPixels), sources(dataBase, d, "val", maxPixels));
        if (data.train().isEmpty()) throw d.error("train", "lists no source", null);
        StrictJson t = r.object("train", TRAIN_KEYS);
        if (t == null) t = new StrictJson(file, "train", new ObjectMapper().createObjectNode(), TRAIN_KEYS, resolved);
        double[] betas = betas(t);
        String device = t.text("device", "cpu");
        try {
            Device.parse(device);
        } catch (IllegalArgumentException e) {
            throw t.error("device", "expected cpu, cuda or cuda:N", t.node.get("device"));
        }
        Train train = new Train(t.int32("batch_size", 8, 2), t.int32("accum_steps", 1, 1), t.integer("max_steps", 1000, 1, Long.MAX_VALUE),
                t.number("lr", 1e-4, 0, true, Double.POSITIVE_INFINITY), t.number("min_lr", 1e-5, 0, false, Double.POSITIVE_INFINITY),
                t.number("warmup_lr", 1e-6, 0, false, Double.POSITIVE_INFINITY), t.integer("warmup_steps", 2000, 0, Long.MAX_VALUE),
                t.number("weight_decay", 0.05, 0, false, Double.POSITIVE_INFINITY), betas[0], betas[1],
                t.number("grad_clip", 0, 0, false, Double.POSITIVE_INFINITY), t.int32("log_every", 10, 1), t.int32("checkpoint_every", 500, 1),
                t.integer("seed", 42, Long.MIN_VALUE, Long.MAX_VALUE),
                t.int32("workers", Math.max(1, Runtime.getRuntime().availableProcessors() - 1), 1), t.int32("image_size", 224, 1),
                t.int32("max_text_len", 32, 2), t.int32("max_words", 30, 1), device, t.bool("amp", true));
        checkText(file, tok, train, resolved);
        return new TrainConfig(file, model, init, tok, data, train, Collections.unmodifiableMap(resolved));
    }

    /** The tokenizer's ids must fit the Q-Former's vocabulary and max_text_len its positions. */
    private static void checkText(Path file, Path tok, Train train, Map<String, Object> resolved) {
        Object vocab = resolved.get("model.qformer_config.vocab_size"), positions = resolved.get("model.qformer_config.max_position_embeddings");
        if (vocab instanceof Integer v && java.nio.file.Files.isRegularFile(tok)) {
            long n = io.xformer.models.InputChecks.tokenizerVocab(tok);
            if (n > v)
                throw new ConfigException(file + ": tokenizer " + tok + " has " + n + " tokens but model.qformer_config.vocab_size is " + v
                        + "; ids past " + (v - 1) + " would not fit the embedding table");
        }
        if (positions instanceof Integer p && train.maxTextLen() > p)
            throw new ConfigException(file + ": train.max_text_len " + train.maxTextLen() + " exceeds model.qformer_config"
                    + ".max_position_embeddings " + p);
    }

    private static double[] betas(StrictJson t) {
        JsonNode b = t.node.get("betas");
        double[] out = {0.9, 0.98};
        if (b != null && !b.isNull()) {
            if (!b.isArray() || b.size() != 2 || !b.get(0).isNumber() || !b.get(1).isNumber())
                throw t.error("betas", "expected two numbers in [0, 1), e.g. [0.9, 0.98]", b);
            out[0] = b.get(0).asDouble();
            out[1] = b.get(1).asDouble();
            if (out[0] < 0 || out[0] >= 1 || out[1] < 0 || out[1] >= 1) throw t.error("betas", "expected two numbers in [0, 1)", b);
        }
        t.resolved.put(t.at("betas"), List.of(out[0], out[1]));
        return out;
    }

    /**
     * Type-checks what the model reads from its section, catches typos of keys that fell back to
     * their defaults, and checks the ratios; records the resolved values under "model.".
     */
    private static void checkModel(Path file, JsonNode model, Map<String, Object> resolved) {
        Json.Reads reads;
        try {
            reads = Json.record(model, "model", XFormer.Config::from);
            JsonNode text = model.get("text_config");
            // OPT's reader type-checks an OPT text_config; other language models (T5) bring their own
            if (text != null && text.isObject() && text.path("model_type").asText("opt").equals("opt")) {
                Json.Reads tr = Json.record(text, "model.text_config", Opt.Config::from);
                reads.paths().putAll(tr.paths());
                reads.keys().putAll(tr.keys());
                reads.values().putAll(tr.values());
            }
        } catch (ConfigException e) {
            throw new ConfigException(file + ": " + e.getMessage().replaceFirst("^config\\.json: ", ""), e);
        } catch (io.xformer.nn.TorchException e) {
            throw new ConfigException(file + ": model: " + e.getMessage().replaceFirst("^config\\.json: ", ""), e);
        }
        for (var e : reads.keys().entrySet()) {
            JsonNode obj = e.getKey();
            Set<String> read = e.getValue();
            for (var it = obj.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (read.contains(k) || k.startsWith("_")) continue;
                Set<String> defaulted = new java.util.HashSet<>(read);
                defaulted.removeIf(obj::has);
                String near = StrictJson.suggest(k, defaulted);
                if (near != null && StrictJson.distance(k, near) <= 2)
                    throw new ConfigException(file + ": " + reads.paths().get(obj) + "." + k + ": unknown key; did you mean \"" + near
                            + "\"? (\"" + near + "\" is read and falls back to its default)");
            }
        }
        for (var e : reads.values().entrySet()) {
            String k = e.getKey();
            if (k.endsWith("mask_ratio") || k.endsWith("label_smoothing") || k.endsWith("dropout_prob") || k.endsWith(".dropout")) {
                double v = ((Number) e.getValue()).doubleValue();
                if (!(v >= 0 && v <= 1)) throw new ConfigException(file + ": " + k + ": expected a number in [0, 1], got " + v);
            } else if (e.getValue() instanceof Integer v && v < 0 && !k.endsWith("_token_id")) {
                throw new ConfigException(file + ": " + k + ": expected an integer >= 0, got " + v);
            }
        }
        reads.values().forEach(resolved::put);
    }

    private static Path path(Path base, StrictJson n, String key) {
        String v = n.text(key, null);
        return v == null || v.isEmpty() ? null : base.resolve(v).normalize();
    }

    private static List<SourceSpec> sources(Path base, StrictJson d, String key, long maxPixels) {
        List<SourceSpec> out = new ArrayList<>();
        JsonNode list = d.node.get(key);
        if (list == null || list.isNull()) return out;
        if (!list.isArray()) throw d.error(key, "expected a list of sources", list);
        for (int i = 0; i < list.size(); i++) {
            StrictJson s = new StrictJson(d.file, d.at(key) + "[" + i + "]", list.get(i), SOURCE_KEYS, new TreeMap<>());
            List<Path> shards = new ArrayList<>();
            for (String w : s.texts("webdataset")) shards.add(base.resolve(w).normalize());
            Path ann = path(base, s, "annotations");
            if (shards.isEmpty() && ann == null) throw s.error("", "a source needs \"annotations\" or \"webdataset\"", null);
            out.add(new SourceSpec(ann, s.has("images") ? path(base, s, "images") : base, shards, maxPixels));
        }
        return out;
    }
}
