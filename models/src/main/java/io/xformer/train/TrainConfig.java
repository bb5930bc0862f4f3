package io.xformer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.models.Json;
import io.xformer.models.Opt;
import io.xformer.models.XFormer;
import io.xformer.nn.ConfigException;
import io.xformer.nn.Device;
import io.xformer.hf.HfCache;
import io.xformer.nn.TorchException;
import java.io.IOException;
import java.nio.file.Files;
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
 *            "image_size", "max_text_len", "max_words", "device", "amp", "itc_gather_grad"},
 *  "stages": ["1"] | ["2", "vqa"] | ...,                         (what `train` runs without --stage)
 *  "stage2": {"model": {config.json overrides, e.g. "stage2_mae_mask_ratio"},
 *             "init": {"checkpoint": STAGE2_DIR} | {"stage1": STAGE1_DIR, "llm": LLM_DIR, "seed", "std"},
 *             "llm_tokenizer": "tokenizer.json", "prompt": "", "train_llm": false, "output": DIR,
 *             "data": {as above}, "train": {overrides of "train"}},
 *  "vqa": {as "stage2" (init defaults to stage 2's output model), "prompt": "Question: {} Short answer:",
 *          "unfreeze_vision_layernorms": true; data sources {"vqa": FILE, "format": "lavis|vqav2|vg", "questions": FILE,
 *          "images", "images_in": FILE | "images_not_in": FILE}}}
 * </pre>
 * The top-level model / init / data / train are stage 1's and may be left out when the config runs only later stages
 * (the top-level train, when given, is the base the later stages' train sections override).
 *
 * The project's own sections are read strictly ({@link StrictJson}): an unknown key is an error
 * with a "did you mean", and types and ranges are checked, naming the file and the JSON path.
 * The model section keeps HF's leniency for keys nobody reads, but what is read is type-checked,
 * and an unread key one typo away from a key that fell back to its default is an error.
 * {@link #resolved()} holds every value used (defaults included) by JSON path: the run's
 * fingerprint is taken from it ({@link Fingerprint}).
 */
public record TrainConfig(Path file, JsonNode model, Init init, Path tokenizer, Data data, Train train, List<String> stages,
                          LmStage stage2, LmStage vqa, Map<String, Object> resolved) {
    public record Init(Path checkpoint, Path vision, Path mae, Path qformer, long seed, double std) {}

    /**
     * vqa: a VQA annotation file (format, questions for vqav2); imagesIn / imagesNotIn: held-out filters by image path.
     * maxImagePixels: images with more pixels are skipped (counted, with the reason) rather than decoded.
     */
    public record SourceSpec(Path annotations, Path images, List<Path> webdataset, Path vqa, String format, Path questions,
                             Path imagesIn, Path imagesNotIn, long maxImagePixels) {
        public SourceSpec(Path annotations, Path images, List<Path> webdataset) {
            this(annotations, images, webdataset, null, "lavis", null, null, null, io.xformer.data.Images.DEFAULT_MAX_PIXELS);
        }
    }

    /** Initial weights of a stage-2 / VQA run: a stage-2 folder, or a stage-1 folder plus an LLM folder. */
    public record LmInit(Path checkpoint, Path stage1, Path llm, long seed, double std) {}

    /**
     * A stage that trains against the LLM ("2": captions, "vqa": questions and answers). train.image_size
     * is the stage's (VQA may enlarge it; position embeddings are interpolated), trainLlm unfreezes the
     * LLM; output null: the command line's. An init with neither checkpoint nor stage1 starts from stage 2's output.
     */
    public record LmStage(String name, JsonNode model, LmInit init, Path llmTokenizer, String prompt, boolean trainLlm,
                          boolean unfreezeVisionLayerNorms, Path output, Data data, Train train) {}

    public record SyntheticSpec(Path dir, int images, long seed, int size) {}

    public record Data(SyntheticSpec synthetic, List<SourceSpec> train, List<SourceSpec> val) {}

    public record Train(int batchSize, int accumSteps, long maxSteps, double lr, double minLr, double warmupLr, long warmupSteps,
                        double weightDecay, double beta1, double beta2, double gradClip, int logEvery, int checkpointEvery,
                        long seed, int workers, int imageSize, int maxTextLen, int maxWords, String device, boolean amp,
                        boolean itcGatherGrad) {}

    static final Set<String> ROOT_KEYS = Set.of("model", "init", "tokenizer", "data", "train", "stages", "stage2", "vqa");
    static final Set<String> STAGE_KEYS = Set.of("model", "init", "llm_tokenizer", "prompt", "train_llm", "unfreeze_vision_layernorms",
            "output", "data", "train");
    static final Set<String> LM_INIT_KEYS = Set.of("checkpoint", "stage1", "llm", "seed", "std");
    static final Set<String> INIT_KEYS = Set.of("checkpoint", "vision", "mae", "qformer", "seed", "std");
    static final Set<String> DATA_KEYS = Set.of("synthetic", "train", "val", "max_image_pixels");
    static final Set<String> SYNTHETIC_KEYS = Set.of("dir", "images", "seed", "size");
    static final Set<String> SOURCE_KEYS = Set.of("annotations", "images", "webdataset", "vqa", "format", "questions", "images_in",
            "images_not_in");
    static final Set<String> TRAIN_KEYS = Set.of("batch_size", "accum_steps", "max_steps", "lr", "min_lr", "warmup_lr",
            "warmup_steps", "weight_decay", "betas", "grad_clip", "log_every", "checkpoint_every", "seed", "workers", "image_size",
            "max_text_len", "max_words", "device", "amp", "itc_gather_grad");

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
        if (model != null && !model.isObject()) throw r.error("model", "expected an object (the XFormerForPreTraining config)", model);
        if (model == null && !root.has("stage2") && !root.has("vqa"))
            throw r.error("model", "required (the XFormerForPreTraining config) unless the config runs only \"stage2\" / \"vqa\"", null);
        if (model != null) checkModel(file, model, resolved);
        StrictJson i = r.object("init", INIT_KEYS);
        Init init = i == null ? new Init(null, null, null, null, 0, 0.02)
                : new Init(model(base, i, "checkpoint"), model(base, i, "vision"), model(base, i, "mae"), model(base, i, "qformer"),
                i.integer("seed", 0, Long.MIN_VALUE, Long.MAX_VALUE), i.number("std", 0.02, 0, true, Double.POSITIVE_INFINITY));
        Path tok = path(base, r, "tokenizer");
        if (tok == null) throw r.error("tokenizer", "required (a tokenizer.json)", null);
        StrictJson d = r.object("data", DATA_KEYS);
        if (d == null && model != null)
            throw r.error("data", "required: {\"train\": [{\"annotations\", \"images\"} | {\"webdataset\": [...]}]}", null);
        Data data = d == null ? new Data(null, List.of(), List.of()) : data(base, d);
        if (model != null && data.train().isEmpty()) throw d.error("train", "lists no source", null);
        StrictJson t = r.object("train", TRAIN_KEYS);
        if (t == null) t = new StrictJson(file, "train", new ObjectMapper().createObjectNode(), TRAIN_KEYS, resolved);
        Train train = train(t);
        if (model != null) checkText(file, tok, train, resolved);
        LmStage stage2 = lmStage(r, "stage2", "2", root.get("train"), base, null);
        LmStage vqa = lmStage(r, "vqa", "vqa", root.get("train"), base, stage2);
        List<String> stages = stages(r, model != null, stage2 != null, vqa != null);
        return new TrainConfig(file, model, init, tok, data, train, stages, stage2, vqa, Collections.unmodifiableMap(resolved));
    }

    /** "stages": each one known and present in the config; default ["1"] (or the later stages of a config without stage 1). */
    private static List<String> stages(StrictJson r, boolean stage1, boolean stage2, boolean vqa) {
        List<String> stages = r.has("stages") ? r.texts("stages") : new ArrayList<>();
        if (!r.has("stages")) {
            if (stage1) stages.add("1");
            else {
                if (stage2) stages.add("2");
                if (vqa) stages.add("vqa");
            }
        }
        if (stages.isEmpty()) throw r.error("stages", "lists no stage", r.node.get("stages"));
        for (int k = 0; k < stages.size(); k++) {
            String st = stages.get(k);
            boolean present = switch (st) {
                case "1" -> stage1;
                case "2" -> stage2;
                case "vqa" -> vqa;
                default -> throw r.error("stages[" + k + "]", "expected \"1\", \"2\" or \"vqa\"", r.node.get("stages").get(k));
            };
            if (!present)
                throw r.error("stages[" + k + "]", "stage " + st + " is listed but the config has no "
                        + (st.equals("1") ? "\"model\" (stage 1's part)" : "\"" + (st.equals("2") ? "stage2" : st) + "\" section"), null);
        }
        r.resolved.put("stages", List.copyOf(stages));
        return List.copyOf(stages);
    }

    private static Data data(Path base, StrictJson d) {
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
        return new Data(synthetic, sources(dataBase, d, "train", maxPixels), sources(dataBase, d, "val", maxPixels));
    }

    private static Train train(StrictJson t) {
        double[] betas = betas(t);
        String device = t.text("device", "cpu");
        try {
            Device.parse(device);
        } catch (IllegalArgumentException e) {
            throw t.error("device", "expected cpu, cuda or cuda:N", t.node.get("device"));
        }
        return new Train(t.int32("batch_size", 8, 2), t.int32("accum_steps", 1, 1), t.integer("max_steps", 1000, 1, Long.MAX_VALUE),
                t.number("lr", 1e-4, 0, true, Double.POSITIVE_INFINITY), t.number("min_lr", 1e-5, 0, false, Double.POSITIVE_INFINITY),
                t.number("warmup_lr", 1e-6, 0, false, Double.POSITIVE_INFINITY), t.integer("warmup_steps", 2000, 0, Long.MAX_VALUE),
                t.number("weight_decay", 0.05, 0, false, Double.POSITIVE_INFINITY), betas[0], betas[1],
                t.number("grad_clip", 0, 0, false, Double.POSITIVE_INFINITY), t.int32("log_every", 10, 1), t.int32("checkpoint_every", 500, 1),
                t.integer("seed", 42, Long.MIN_VALUE, Long.MAX_VALUE),
                t.int32("workers", Math.max(1, Runtime.getRuntime().availableProcessors() - 1), 1), t.int32("image_size", 224, 1),
                t.int32("max_text_len", 32, 2), t.int32("max_words", 30, 1), device, t.bool("amp", true),
                // distributed (issue 10): ITC features of other ranks with gradient (exact) or without (LAVIS)
                t.bool("itc_gather_grad", false));
    }

    /**
     * A stage-2 / VQA section (key: "stage2" or "vqa"), read as strictly as stage 1's. Its train is the
     * top-level train with the section's keys on top; errors name the section's path.
     */
    private static LmStage lmStage(StrictJson r, String key, String name, JsonNode baseTrain, Path base, LmStage previous) {
        StrictJson n = r.object(key, STAGE_KEYS);
        if (n == null) return null;
        JsonNode overrides = n.node.get("model");
        if (overrides == null || overrides.isNull()) overrides = new ObjectMapper().createObjectNode();
        else if (!overrides.isObject()) throw n.error("model", "expected an object (config.json overrides)", overrides);
        else checkOverrides(n, overrides);
        StrictJson i = n.object("init", LM_INIT_KEYS);
        LmInit init = i == null ? new LmInit(null, null, null, 0, 0.02)
                : new LmInit(path(base, i, "checkpoint"), path(base, i, "stage1"), path(base, i, "llm"),
                i.integer("seed", 0, Long.MIN_VALUE, Long.MAX_VALUE), i.number("std", 0.02, 0, true, Double.POSITIVE_INFINITY));
        if (init.checkpoint() != null && (init.stage1() != null || init.llm() != null))
            throw n.error("init", "give either \"checkpoint\" (a stage-2 folder) or \"stage1\" and \"llm\", not both", n.node.get("init"));
        if (init.checkpoint() == null && (init.stage1() == null) != (init.llm() == null))
            throw n.error("init", "\"stage1\" and \"llm\" go together (a stage-1 folder and an LLM folder)", n.node.get("init"));
        // without its own init, VQA starts from what stage 2 of this config trains (resolved when it runs)
        if (init.checkpoint() == null && init.stage1() == null && previous == null)
            throw n.error("init", "required: {\"checkpoint\": STAGE2_DIR} or {\"stage1\": DIR, \"llm\": DIR}", null);
        Path llmTok = path(base, n, "llm_tokenizer");
        if (llmTok == null && previous != null) llmTok = previous.llmTokenizer();
        if (llmTok == null) throw n.error("llm_tokenizer", "required (the LLM's tokenizer.json)", null);
        StrictJson d = n.object("data", DATA_KEYS);
        if (d == null) throw n.error("data", "required: {\"train\": [...]}", null);
        Data data = data(base, d);
        if (data.train().isEmpty()) throw d.error("train", "lists no source", null);
        if (name.equals("vqa"))
            for (int k = 0; k < data.train().size(); k++)
                if (data.train().get(k).vqa() == null) throw d.error("train[" + k + "]", "VQA fine-tuning trains on VQA sources (\"vqa\": FILE)", null);
        // the stage's own train keys are checked under their own path first; the merged section supplies the values
        StrictJson own = n.object("train", TRAIN_KEYS);
        com.fasterxml.jackson.databind.node.ObjectNode merged = baseTrain != null && baseTrain.isObject()
                ? ((com.fasterxml.jackson.databind.node.ObjectNode) baseTrain).deepCopy() : new ObjectMapper().createObjectNode();
        if (own != null) own.node.fields().forEachRemaining(e -> merged.set(e.getKey(), e.getValue()));
        Train train = train(new StrictJson(n.file, n.at("train"), merged, TRAIN_KEYS, n.resolved));
        String prompt = n.text("prompt", name.equals("vqa") ? "Question: {} Short answer:" : "");
        return new LmStage(name, overrides, init, llmTok, prompt, n.bool("train_llm", false),
                n.bool("unfreeze_vision_layernorms", name.equals("vqa")), path(base, n, "output"), data, train);
    }

    /**
     * A stage's config.json overrides keep HF's leniency (any key), but the ones the stage-2 model
     * reads are type-checked; every value is recorded for the fingerprint.
     */
    private static void checkOverrides(StrictJson n, JsonNode overrides) {
        String at = n.at("model");
        for (var it = overrides.fields(); it.hasNext(); ) {
            var e = it.next();
            String k = e.getKey();
            JsonNode v = e.getValue();
            if (k.startsWith("_")) continue;
            if (k.endsWith("mask_ratio") && (!v.isNumber() || v.asDouble() < 0 || v.asDouble() > 1))
                throw new ConfigException(n.file + ": " + at + "." + k + ": expected a number in [0, 1], got " + v);
            if ((k.endsWith("_index") || k.endsWith("_token_id") || k.startsWith("num_")) && !(v.isIntegralNumber() && v.asLong() >= 0))
                throw new ConfigException(n.file + ": " + at + "." + k + ": expected an integer >= 0, got " + v);
            n.resolved.put(at + "." + k, v.isNumber() ? v.numberValue() : v.isBoolean() ? v.asBoolean() : v.isTextual() ? v.asText() : v.toString());
        }
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

    /** A model folder or file relative to the config, else a HF cache id (ORG/NAME[@REV]) when it reads like one. */
    private static Path model(Path base, StrictJson n, String key) {
        Path p = path(base, n, key);
        String v = n.text(key, null);
        if (p == null || java.nio.file.Files.exists(p) || !io.xformer.hf.HfCache.looksLikeId(v)) return p;
        return io.xformer.hf.HfCache.resolve(Path.of(v));
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
            Path ann = path(base, s, "annotations"), vqa = path(base, s, "vqa");
            if (shards.isEmpty() && ann == null && vqa == null)
                throw s.error("", "a source needs \"annotations\", \"webdataset\" or \"vqa\"", null);
            String format = s.text("format", "lavis");
            if (!io.xformer.data.VqaJson.FORMATS.contains(format))
                throw s.error("format", "expected one of " + io.xformer.data.VqaJson.FORMATS, s.node.get("format"));
            if (vqa == null && (s.has("format") || s.has("questions")))
                throw s.error(s.has("format") ? "format" : "questions", "only applies to a \"vqa\" source", null);
            if (s.has("images_in") && s.has("images_not_in"))
                throw s.error("images_in", "give \"images_in\" or \"images_not_in\", not both", null);
            out.add(new SourceSpec(ann, s.has("images") ? path(base, s, "images") : base, shards, vqa, format, path(base, s, "questions"),
                    path(base, s, "images_in"), path(base, s, "images_not_in"), maxPixels));
        }
        return out;
    }
}
