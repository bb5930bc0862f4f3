package io.xformer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.hf.HfCache;
import io.xformer.nn.TorchException;
import java.io.IOException;
import java.nio.file.Files;
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
 *            "image_size", "max_text_len", "max_words", "device", "amp", "itc_gather_grad"},
 *  "stages": ["1"] | ["2", "vqa"] | ...,                         (what `train` runs without --stage)
 *  "stage2": {"model": {config.json overrides, e.g. "stage2_mae_mask_ratio"},
 *             "init": {"checkpoint": STAGE2_DIR} | {"stage1": STAGE1_DIR, "llm": LLM_DIR, "seed", "std"},
 *             "llm_tokenizer": "tokenizer.json", "prompt": "", "train_llm": false, "output": DIR,
 *             "data": {as above}, "train": {overrides of "train"}},
 *  "vqa": {as "stage2" (init defaults to stage 2's output model), "image_size": PX, "prompt": "Question: {} Short answer:",
 *          "unfreeze_vision_layernorms": true; data sources {"vqa": FILE, "format": "lavis|vqav2|vg", "questions": FILE,
 *          "images", "images_in": FILE | "images_not_in": FILE}}}
 * </pre>
 * The top-level model / init / data / train are stage 1's and may be left out when the config runs only later stages.
 */
public record TrainConfig(Path file, JsonNode model, Init init, Path tokenizer, Data data, Train train, List<String> stages,
                          LmStage stage2, LmStage vqa) {
    public record Init(Path checkpoint, Path vision, Path mae, Path qformer, long seed, double std) {}

    /** vqa: a VQA annotation file (format, questions for vqav2); imagesIn / imagesNotIn: held-out filters by image path. */
    public record SourceSpec(Path annotations, Path images, List<Path> webdataset, Path vqa, String format, Path questions,
                             Path imagesIn, Path imagesNotIn) {
        public SourceSpec(Path annotations, Path images, List<Path> webdataset) {
            this(annotations, images, webdataset, null, "lavis", null, null, null);
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

    public static TrainConfig load(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new TorchException(file + ": cannot read config: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) throw new TorchException(file + ": not a JSON object");
        Path base = file.toAbsolutePath().getParent();
        JsonNode model = root.get("model");
        if (model != null && !model.isObject()) throw new TorchException(file + ": \"model\" must be an object");
        JsonNode i = root.path("init");
        Init init = new Init(model(base, i, "checkpoint"), model(base, i, "vision"), model(base, i, "mae"), model(base, i, "qformer"),
                i.path("seed").asLong(0), i.path("std").asDouble(0.02));
        Path tok = path(base, root, "tokenizer");
        if (tok == null) throw new TorchException(file + ": \"tokenizer\" (a tokenizer.json) is required");
        Data data = data(base, root.path("data"), file);
        if (model != null && data.train().isEmpty()) throw new TorchException(file + ": data.train lists no source");
        Train train = train(root.path("train"), file);
        List<String> stages = new ArrayList<>();
        for (JsonNode st : root.path("stages")) stages.add(st.asText());
        if (stages.isEmpty()) stages.add("1");
        LmStage stage2 = lmStage("2", root.get("stage2"), root.path("train"), base, file, null);
        LmStage vqa = lmStage("vqa", root.get("vqa"), root.path("train"), base, file, stage2);
        return new TrainConfig(file, model, init, tok, data, train, List.copyOf(stages), stage2, vqa);
    }

    private static Data data(Path base, JsonNode d, Path file) {
        JsonNode syn = d.get("synthetic");
        SyntheticSpec synthetic = syn == null ? null
                : new SyntheticSpec(path(base, syn, "dir"), syn.path("images").asInt(512), syn.path("seed").asLong(0), syn.path("size").asInt(64));
        Path dataBase = synthetic != null ? synthetic.dir() : base;
        return new Data(synthetic, sources(dataBase, d.path("train"), file), sources(dataBase, d.path("val"), file));
    }

    private static LmStage lmStage(String name, JsonNode n, JsonNode baseTrain, Path base, Path file, LmStage previous) {
        if (n == null) return null;
        String where = name.equals("2") ? "stage2" : name;
        if (!n.isObject()) throw new TorchException(file + ": \"" + where + "\" must be an object");
        JsonNode i = n.path("init");
        Path output = path(base, n, "output");
        LmInit init = new LmInit(path(base, i, "checkpoint"), path(base, i, "stage1"), path(base, i, "llm"), i.path("seed").asLong(0),
                i.path("std").asDouble(0.02));
        if (init.checkpoint() == null && (init.stage1() == null || init.llm() == null)) {
            // without its own init, VQA starts from what stage 2 of this config trains (resolved when it runs)
            if (previous == null)
                throw new TorchException(file + ": " + where + ".init needs \"checkpoint\" or both \"stage1\" and \"llm\"");
            init = new LmInit(null, null, null, init.seed(), init.std());
        }
        Path llmTok = path(base, n, "llm_tokenizer");
        if (llmTok == null && previous != null) llmTok = previous.llmTokenizer();
        if (llmTok == null) throw new TorchException(file + ": " + where + ".llm_tokenizer (the LLM's tokenizer.json) is required");
        Data data = data(base, n.path("data"), file);
        if (data.train().isEmpty()) throw new TorchException(file + ": " + where + ".data.train lists no source");
        com.fasterxml.jackson.databind.node.ObjectNode t = baseTrain.isObject()
                ? ((com.fasterxml.jackson.databind.node.ObjectNode) baseTrain).deepCopy() : new ObjectMapper().createObjectNode();
        n.path("train").fields().forEachRemaining(e -> t.set(e.getKey(), e.getValue()));
        JsonNode model = n.has("model") ? n.get("model") : new ObjectMapper().createObjectNode();
        String defaultPrompt = name.equals("vqa") ? "Question: {} Short answer:" : "";
        return new LmStage(name, model, init, llmTok, n.path("prompt").asText(defaultPrompt), n.path("train_llm").asBoolean(false),
                n.path("unfreeze_vision_layernorms").asBoolean(name.equals("vqa")), output, data, train(t, file));
    }

    private static Train train(JsonNode t, Path file) {
        JsonNode betas = t.path("betas");
        Train train = new Train(t.path("batch_size").asInt(8), t.path("accum_steps").asInt(1), t.path("max_steps").asLong(1000),
                t.path("lr").asDouble(1e-4), t.path("min_lr").asDouble(1e-5), t.path("warmup_lr").asDouble(1e-6),
                t.path("warmup_steps").asLong(2000), t.path("weight_decay").asDouble(0.05),
                betas.isArray() ? betas.get(0).asDouble() : 0.9, betas.isArray() ? betas.get(1).asDouble() : 0.98,
                t.path("grad_clip").asDouble(0), t.path("log_every").asInt(10), t.path("checkpoint_every").asInt(500),
                t.path("seed").asLong(42), t.path("workers").asInt(Math.max(1, Runtime.getRuntime().availableProcessors() - 1)),
                t.path("image_size").asInt(224), t.path("max_text_len").asInt(32), t.path("max_words").asInt(30),
                t.path("device").asText("cpu"), t.path("amp").asBoolean(true),
                // distributed (issue 10): ITC features of other ranks with gradient (exact) or without (LAVIS)
                t.path("itc_gather_grad").asBoolean(false));
        if (train.batchSize() < 2) throw new TorchException(file + ": train.batch_size must be >= 2 (ITM draws in-batch negatives)");
        return train;
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
        if (p == null || Files.exists(p) || !HfCache.looksLikeId(n.get(key).asText())) return p;
        return HfCache.resolve(Path.of(n.get(key).asText()));
    }

    private static List<SourceSpec> sources(Path base, JsonNode list, Path file) {
        List<SourceSpec> out = new ArrayList<>();
        if (list.isMissingNode() || list.isNull()) return out;
        if (!list.isArray()) throw new TorchException(file + ": data sources must be a list");
        for (JsonNode s : list) {
            List<Path> shards = new ArrayList<>();
            for (JsonNode w : s.path("webdataset")) shards.add(base.resolve(w.asText()).normalize());
            out.add(new SourceSpec(path(base, s, "annotations"), s.has("images") ? path(base, s, "images") : base, shards, path(base, s, "vqa"),
                    s.path("format").asText("lavis"), path(base, s, "questions"), path(base, s, "images_in"), path(base, s, "images_not_in")));
        }
        return out;
    }
}
