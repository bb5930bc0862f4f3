package io.xformer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.data.Loader;
import io.xformer.data.Source;
import io.xformer.data.Transform;
import io.xformer.hf.HfCheckpoint;
import io.xformer.models.PositionEmbeddings;
import io.xformer.models.T5;
import io.xformer.models.VitMae;
import io.xformer.text.PrefixLm;
import io.xformer.models.XFormer;
import io.xformer.models.XFormerForConditionalGeneration;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.F;
import io.xformer.nn.Generator;
import io.xformer.nn.Guard;
import io.xformer.nn.Module;
import io.xformer.nn.Parameter;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import io.xformer.text.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stage 2 and VQA fine-tuning: the language-modelling loss of LAVIS's blip2_opt on
 * {@link XFormerForConditionalGeneration}. Text: BOS, prompt (VQA: the question in the prompt),
 * target + "\n", right padding, at most max_text_len tokens; labels -100 on padding, on the
 * prompt (BOS included) and on the query positions. Trained: the X-Former (Q-Former, queries,
 * block) and language_projection; frozen: both ViTs and the LLM (bf16 under autocast on CUDA), the
 * LLM trainable only where the config says train_llm. VQA also sends the question into the
 * Q-Former (when it takes text, its text path then trains too) and unfreezes the CLIP-ViT's
 * LayerNorms.
 */
public final class LmObjective implements Objective<Loader.Batch> {
    private final TrainConfig.LmStage stage;
    private final Device device;
    private final Tokenizer llmTok, qformerTok;
    private final Path qformerTokFile;
    public final XFormerForConditionalGeneration model;
    private final Map<String, Parameter> params;
    private final boolean vqa, visionTrains;
    private final long pad;

    /** initDir: the stage-2 folder to start from when the stage's init names none (VQA after stage 2). */
    public LmObjective(TrainConfig.LmStage stage, Path qformerTokenizer, Tokenizer qformerTok, Tokenizer llmTok, Path initDir) {
        this.stage = stage;
        this.vqa = stage.name().equals("vqa");
        this.device = Device.parse(stage.train().device());
        this.llmTok = llmTok;
        this.qformerTok = qformerTok;
        this.qformerTokFile = qformerTokenizer;
        this.model = build(stage, initDir, device);
        this.params = freeze(model, stage);
        this.visionTrains = params.keySet().stream().anyMatch(k -> k.startsWith("vision_model."));
        frozenToComputeDtype(model, device, stage.train().amp());
        this.pad = model.languageModel instanceof T5 t5 ? t5.cfg.padTokenId() : model.opt().cfg.padTokenId();
    }

    /** The stage's model: a stage-2 folder (position embeddings interpolated to the stage's image size) or stage 1 + LLM. */
    static XFormerForConditionalGeneration build(TrainConfig.LmStage stage, Path initDir, Device device) {
        TrainConfig.LmInit init = stage.init();
        Path dir = init.checkpoint() != null ? init.checkpoint() : init.stage1() == null ? initDir : null;
        if (dir == null) {
            XFormerForConditionalGeneration m = Stage2Init.fromParts(init.stage1(), init.llm(), stage.model(), init.seed(), init.std(), device);
            if (m.cfg.vision().imageSize() != stage.train().imageSize())
                throw new io.xformer.nn.ConfigException("stage " + stage.name() + ": train.image_size " + stage.train().imageSize()
                        + " differs from the stage-1 model's " + m.cfg.vision().imageSize() + " (only VQA fine-tuning enlarges it)");
            return m;
        }
        return load(dir, stage.model(), stage.train().imageSize(), device);
    }

    /** A stage-2 folder with config overrides, resized to imageSize (both ViTs' position embeddings interpolated). */
    public static XFormerForConditionalGeneration load(Path dir, JsonNode overrides, int imageSize, Device device) {
        try (HfCheckpoint ckpt = HfCheckpoint.open(dir)) {
            ObjectNode c = ckpt.config().deepCopy();
            if (overrides != null) overrides.fields().forEachRemaining(e -> c.set(e.getKey(), e.getValue().deepCopy()));
            ((ObjectNode) c.get("vision_config")).put("image_size", imageSize);
            if (c.has("mae_config")) ((ObjectNode) c.get("mae_config")).put("image_size", imageSize);
            XFormerForConditionalGeneration m = new XFormerForConditionalGeneration(XFormerForConditionalGeneration.Config.from(c));
            try {
                List<String> pos = List.of("vision_model.embeddings.position_embedding", "mae.vit.embeddings.position_embeddings");
                Module.LoadReport r = m.loadStateDict(ckpt.source(), k -> pos.contains(k) ? null : XFormer.fromCheckpointKey(k), DType.F32,
                        device, false);
                List<String> missing = r.missing().stream().filter(k -> !pos.contains(k)).toList();
                if (!missing.isEmpty() || !r.unexpected().isEmpty() || !r.mismatched().isEmpty())
                    throw new io.xformer.nn.InputException(dir + ": does not match the stage-2 model: " + r);
                Map<String, Parameter> mine = m.namedParameters();
                try (Scope s = Scope.open(); Guard g = Guard.noGrad()) {
                    for (String k : pos) {
                        if (!mine.containsKey(k)) continue;
                        if (!ckpt.names().contains(k)) throw new io.xformer.nn.InputException(dir + ": missing " + k);
                        int grid = imageSize / (k.startsWith("mae.") ? m.cfg.mae().patchSize() : m.cfg.vision().patchSize());
                        mine.get(k).set(PositionEmbeddings.interpolate(ckpt.get(k).to(device, DType.F32, false), grid));
                    }
                }
                return m;
            } catch (RuntimeException e) {
                m.close();
                throw e;
            }
        }
    }

    /** Freezes all but what the stage trains (DESIGN.md "Stage 2"; supplementary §2 for VQA); returns the trainable ones. */
    static Map<String, Parameter> freeze(XFormerForConditionalGeneration m, TrainConfig.LmStage stage) {
        boolean vqa = stage.name().equals("vqa");
        boolean questions = vqa && m.embeddings != null;
        Map<String, Parameter> out = new LinkedHashMap<>();
        m.requiresGrad(false);
        m.namedParameters().forEach((k, p) -> {
            if (trains(k, questions, vqa && stage.unfreezeVisionLayerNorms(), stage.trainLlm())) out.put(k, p);
        });
        out.values().forEach(p -> p.setTrainable(true));
        return out;
    }

    static boolean trains(String k, boolean questions, boolean visionNorms, boolean llm) {
        if (k.startsWith("language_model.")) return llm;
        if (k.startsWith("mae.")) return false;
        if (k.startsWith("vision_model.")) return visionNorms && (k.contains("layer_norm") || k.contains("layernorm"));
        // text-only parts carry no gradient without a question; the reconstruction projection none in stage 2
        boolean textPath = k.startsWith("embeddings.") || k.matches("(qformer\\.encoder\\.layer\\.\\d+|xformer\\.layer)\\.(intermediate|output)\\..*");
        if (textPath) return questions;
        return !k.startsWith("xformer.mae_proj_out.");
    }

    /** On CUDA with autocast, frozen weights are converted to bf16 once; trainable ones stay fp32. */
    static void frozenToComputeDtype(XFormerForConditionalGeneration m, Device device, boolean amp) {
        if (!device.isCuda() || !amp) return;
        try (Scope s = Scope.open(); Guard g = Guard.noGrad()) {
            for (Parameter p : m.namedParameters().values())
                if (p.isSet() && !p.trainable() && p.get().dtype().isFloatingPoint()) p.set(p.get().to(device, DType.BF16, false));
        }
    }

    /** The stage's data: images with captions (stage 2) or questions and one drawn answer (VQA). */
    public static DataStream.Opener<Loader.Batch> data(TrainConfig.LmStage stage, Tokenizer qformerTok) {
        return data(stage, qformerTok, Sources.of(stage.data().train()), World.SINGLE, null);
    }

    /** This rank's slice of every global batch of train.batch_size (issue 10). */
    public static DataStream.Opener<Loader.Batch> data(TrainConfig.LmStage stage, Tokenizer qformerTok, World world, Path config) {
        return data(stage, qformerTok, Sources.of(stage.data().train()), world, config);
    }

    /** The same over an already opened training source; config names the file in errors. */
    public static DataStream.Opener<Loader.Batch> data(TrainConfig.LmStage stage, Tokenizer qformerTok, Source train, World world,
                                                       Path config) {
        TrainConfig.Train t = stage.train();
        Transform tf = new Transform(t.imageSize(), true);
        int b = world.localBatch(t.batchSize(), config);
        return cursor -> {
            Loader loader = new Loader(train, tf, qformerTok, b, t.maxTextLen(), t.maxWords(), t.seed(), cursor, t.workers(), 2,
                    world.rank(), world.size());
            return new DataStream<>() {
                public Fetched<Loader.Batch> next() {
                    Loader.Batch b = loader.next();
                    if (stage.name().equals("vqa") && b.answers().size() != b.size())
                        throw new io.xformer.nn.ConfigException("VQA fine-tuning needs VQA sources (\"vqa\": FILE): a batch came without answers");
                    return new Fetched<>(b, b.size(), b.cursorAfter(), b.skipped());
                }

                public void close() {
                    loader.close();
                }
            };
        };
    }

    @Override
    public Map<String, Parameter> trainable() {
        return params;
    }

    @Override
    public void beginStep() {
        model.trainExceptFrozen(stage.trainLlm());
    }

    /** LLM-side text of a batch: ids, mask, labels (B, Q + L), placeholders first. */
    record LmText(long[] ids, long[] mask, long[] labels, int len) {}

    LmText text(List<String> prompts, List<String> targets) {
        int b = prompts.size(), nq = model.cfg.numQueryTokens(), max = stage.train().maxTextLen();
        List<long[]> rows = new ArrayList<>();
        int[] promptLen = new int[b];
        int len = 0;
        for (int i = 0; i < b; i++) {
            String p = prompts.get(i);
            String full = p.isEmpty() ? targets.get(i) + "\n" : p + " " + targets.get(i) + "\n";
            long[] ids = llmTok.encode(full);
            if (ids.length > max) ids = Arrays.copyOf(ids, max);
            promptLen[i] = p.isEmpty() ? 0 : Math.min(llmTok.encode(p).length, ids.length);
            rows.add(ids);
            len = Math.max(len, ids.length);
        }
        int total = nq + len;
        long[] ids = new long[b * total], mask = new long[b * total], labels = new long[b * total];
        for (int i = 0; i < b; i++) {
            long[] r = rows.get(i);
            for (int j = 0; j < total; j++) {
                int at = i * total + j;
                if (j < nq) {
                    ids[at] = model.cfg.imageTokenIndex();
                    mask[at] = 1;
                    labels[at] = F.IGNORE_INDEX;
                } else if (j - nq < r.length) {
                    ids[at] = r[j - nq];
                    mask[at] = 1;
                    labels[at] = j - nq < promptLen[i] ? F.IGNORE_INDEX : r[j - nq];
                } else {
                    ids[at] = pad;
                    labels[at] = F.IGNORE_INDEX;
                }
            }
        }
        return new LmText(ids, mask, labels, total);
    }

    /**
     * An encoder-decoder LM (Flan-T5, supplementary §3): stage 2 is the prefix-LM objective (the
     * caption split at a random word between its start and its middle, drawn from (seed, stream
     * position) so a resumed run cuts the same way; encoder: queries + prefix, decoder: the rest);
     * VQA feeds the prompt with the question to the encoder and the answer to the decoder.
     */
    LmText seq2seqText(Loader.Batch b, List<List<String>> pt) {
        PrefixLm.Options o = new PrefixLm.Options(model.cfg.numQueryTokens(), model.cfg.imageTokenIndex(), pad, stage.train().maxTextLen());
        PrefixLm.Batch pb;
        if (vqa) {
            List<PrefixLm.Split> splits = new ArrayList<>();
            for (int i = 0; i < b.size(); i++) splits.add(new PrefixLm.Split(pt.get(0).get(i), pt.get(1).get(i)));
            pb = PrefixLm.batch(splits, llmTok, o);
        } else {
            pb = PrefixLm.batch(pt.get(1), llmTok, o, stage.train().seed(), b.cursorAfter() - b.size());
        }
        int n = b.size(), len = pb.inputIds()[0].length, labelLen = pb.labels()[0].length;
        long[] ids = new long[n * len], mask = new long[n * len], labels = new long[n * labelLen];
        for (int i = 0; i < n; i++) {
            System.arraycopy(pb.inputIds()[i], 0, ids, i * len, len);
            System.arraycopy(pb.attentionMask()[i], 0, mask, i * len, len);
            System.arraycopy(pb.labels()[i], 0, labels, i * labelLen, labelLen);
        }
        return new LmText(ids, mask, labels, len);
    }

    /** Prompts and targets of a batch: stage 2 the stage's prompt and the caption, VQA the question in the prompt and the drawn answer. */
    List<List<String>> promptsAndTargets(Loader.Batch b) {
        List<String> prompts = new ArrayList<>(), targets = new ArrayList<>();
        for (int i = 0; i < b.size(); i++) {
            if (vqa) {
                prompts.add(stage.prompt().replace("{}", b.texts().get(i)));
                targets.add(b.answers().get(i));
            } else {
                prompts.add(stage.prompt());
                targets.add(b.texts().get(i));
            }
        }
        return List.of(prompts, targets);
    }

    @Override
    public Map<String, Tensor> losses(Loader.Batch b, Generator gen) {
        try (Scope s = Scope.open()) {
            long bs = b.size(), sz = b.imageSize();
            boolean autocast = stage.train().amp() && device.isCuda();
            Tensor pixels = Torch.upload(b.clipPixels(), device, bs, 3, sz, sz);
            Tensor pixelsMae = !model.cfg.hasMae() ? null : Torch.upload(b.maePixels(), device, bs, 3, sz, sz);
            Tensor noise = !model.cfg.hasMae() || model.cfg.maeMaskRatio() == 0 ? null
                    : Torch.rand(gen, DType.F32, device, bs, model.cfg.mae().numPatches());
            XFormerForConditionalGeneration.Encoded e = encode(pixels, pixelsMae, noise, autocast);
            Tensor qIds = null, qMask = null;
            if (vqa && model.embeddings != null) {
                qIds = Torch.upload(b.ids(), device, bs, b.textLen());
                qMask = Torch.upload(b.mask(), device, bs, b.textLen());
            }
            List<List<String>> pt = promptsAndTargets(b);
            LmText t = model.languageModel instanceof T5 ? seq2seqText(b, pt) : text(pt.get(0), pt.get(1));
            Tensor ids = Torch.upload(t.ids(), device, bs, t.len());
            Tensor mask = Torch.upload(t.mask(), device, bs, t.len());
            Tensor labels = Torch.upload(t.labels(), device, bs, t.labels().length / bs);
            try (Guard ac = autocast ? Guard.autocast(Device.Type.CUDA, DType.BF16) : null) {
                Tensor loss = model.forward(e, qIds, qMask, ids, mask, labels).loss();
                Map<String, Tensor> out = new LinkedHashMap<>();
                out.put("loss", s.keep(loss));
                out.put("loss_lm", out.get("loss"));
                return out;
            }
        }
    }

    /** Frozen encoders under inference mode (plain copies for autograd); the CLIP-ViT with autograd when its LayerNorms train. */
    XFormerForConditionalGeneration.Encoded encode(Tensor pixels, Tensor pixelsMae, Tensor noise, boolean autocast) {
        try (Scope s = Scope.open()) {
            XFormerForConditionalGeneration.Encoded frozen;
            try (Guard g = Guard.inferenceMode(); Guard ac = autocast ? Guard.autocast(Device.Type.CUDA, DType.BF16) : null;
                 Scope inner = Scope.open()) {
                XFormerForConditionalGeneration.Encoded e = visionTrains
                        ? new XFormerForConditionalGeneration.Encoded(null, model.cfg.hasMae() ? model.encodeMae(pixelsMae, noise) : null, null)
                        : model.encode(pixels, pixelsMae, noise);
                frozen = inner.keepAll(new XFormerForConditionalGeneration.Encoded(e.clip(), e.mae(), null));
            }
            Tensor clip;
            if (visionTrains) {
                try (Guard ac = autocast ? Guard.autocast(Device.Type.CUDA, DType.BF16) : null) {
                    clip = model.visionModel.forward(pixels).lastHiddenState();
                }
            } else {
                clip = frozen.clip().clone();
            }
            VitMae.Encoded m = frozen.mae() == null ? null : frozen.mae().copy();
            return s.keepAll(new XFormerForConditionalGeneration.Encoded(clip, m, null));
        }
    }

    @Override
    public void loadCheckpoint(Path file) {
        Checkpoints.loadTrainable(model, params, file, device);
    }

    @Override
    public Finished finish(Path runDir) throws IOException {
        Path dir = export(runDir.resolve("model"));
        Map<String, Double> eval = stage.data().val().isEmpty() ? Map.of()
                : vqa ? LmEval.vqa(this, stage.data().val(), stage.data().train())
                : LmEval.heldOutLoss(this, Sources.of(stage.data().val()));
        return new Finished(dir, eval);
    }

    /** The model as an XFormerForConditionalGeneration folder, fp32, with the LLM's tokenizer.json (and the Q-Former's). */
    Path export(Path dir) throws IOException {
        Files.createDirectories(dir);
        ObjectNode config = exportConfig();
        Files.writeString(dir.resolve(HfCheckpoint.CONFIG), config.toPrettyString());
        Map<String, Tensor> state = new LinkedHashMap<>();
        try (Scope s = Scope.open()) {
            model.checkpointState().forEach((k, v) -> state.put(k, v.dtype() == DType.F32 ? v : v.to(DType.F32)));
            SafeTensors.save(dir.resolve(HfCheckpoint.SINGLE), state, Map.of("format", "pt"));
        }
        Files.copy(llmTok.file(), dir.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
        if (model.embeddings != null && qformerTokFile != null) {
            Files.createDirectories(dir.resolve("qformer_tokenizer"));
            Files.copy(qformerTokFile, dir.resolve("qformer_tokenizer/tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
        }
        return dir;
    }

    /** The config the model was built from, with the stage's image size and r2, as XFormerForConditionalGeneration. */
    private ObjectNode exportConfig() {
        XFormerForConditionalGeneration.Config c = model.cfg;
        ObjectNode o = ((ObjectNode) c.json()).deepCopy();
        o.putArray("architectures").add("XFormerForConditionalGeneration");
        o.put("model_type", "blip-2");
        o.put("variant", c.variant());
        ((ObjectNode) o.get("vision_config")).put("image_size", c.vision().imageSize());
        if (c.hasMae()) ((ObjectNode) o.get("mae_config")).put("image_size", c.vision().imageSize());
        o.put("stage2_mae_mask_ratio", c.maeMaskRatio());
        return o;
    }

    @Override
    public void close() {
        model.close();
    }

    Device device() {
        return device;
    }

    Tokenizer llmTokenizer() {
        return llmTok;
    }

    Tokenizer qformerTokenizer() {
        return qformerTok;
    }

    TrainConfig.LmStage stage() {
        return stage;
    }
}
