package io.xformer.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.data.Captions;
import io.xformer.data.Loader;
import io.xformer.data.Sample;
import io.xformer.data.Source;
import io.xformer.data.Transform;
import io.xformer.hf.HfCheckpoint;
import io.xformer.models.WorldLosses;
import io.xformer.models.XFormer;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Stage 1: frozen encoders under inference mode, the Q-Former, heads and X-Former block trained
 * with ITC + ITM (negatives sampled from the ITC similarities) + ITG + MAE reconstruction,
 * bf16 autocast on CUDA.
 */
public final class Stage1Objective implements Objective<Loader.Batch> {
    private final TrainConfig cfg;
    private final Device device;
    private final Tokenizer tok;
    public final XFormer model;
    private final Map<String, Parameter> params;
    private final int patches;
    private final World world;
    private WorldLosses.NegativeRule fixedNegatives;

    public Stage1Objective(TrainConfig cfg, Tokenizer tok) {
        this(cfg, tok, World.SINGLE);
    }

    /** Over several ranks, each computing its slice of every global batch with {@link WorldLosses}. */
    public Stage1Objective(TrainConfig cfg, Tokenizer tok, World world) {
        this.world = world;
        this.cfg = cfg;
        this.tok = tok;
        this.device = Device.parse(cfg.train().device());
        this.model = build(cfg, device);
        this.params = trainable(model);
        this.patches = model.cfg.hasMae() ? model.cfg.mae().numPatches() : 0;
    }

    /** The stage's data: image-caption pairs through the prefetching loader, captions tokenized for the Q-Former. */
    public static DataStream.Opener<Loader.Batch> data(TrainConfig cfg, Tokenizer tok) {
        return data(cfg, tok, Sources.of(cfg.data().train()), World.SINGLE);
    }

    /** This rank's slice of every global batch of train.batch_size. */
    public static DataStream.Opener<Loader.Batch> data(TrainConfig cfg, Tokenizer tok, World world) {
        return data(cfg, tok, Sources.of(cfg.data().train()), world);
    }

    /** This rank's slice of every global batch, over an already opened training source. */
    public static DataStream.Opener<Loader.Batch> data(TrainConfig cfg, Tokenizer tok, Source train, World world) {
        TrainConfig.Train t = cfg.train();
        Transform tf = new Transform(t.imageSize(), true);
        int b = world.localBatch(t.batchSize(), cfg.file());
        return cursor -> {
            Loader loader = new Loader(train, tf, tok, b, t.maxTextLen(), t.maxWords(), t.seed(), cursor, t.workers(), 2,
                    world.rank(), world.size());
            return new DataStream<>() {
                public Fetched<Loader.Batch> next() {
                    Loader.Batch b = loader.next();
                    return new Fetched<>(b, b.size(), b.cursorAfter(), b.skipped());
                }

                public void close() {
                    loader.close();
                }
            };
        };
    }

    /** The model of a config with its initial weights, encoders frozen, on device. */
    public static XFormer build(TrainConfig cfg, Device device) {
        XFormer m = new XFormer(XFormer.Config.from(cfg.model()));
        Init.apply(m, cfg.init(), device);
        freeze(m);
        frozenToComputeDtype(m, device, cfg.train().amp());
        return m;
    }

    /**
     * With bf16 autocast on CUDA, the frozen encoders are converted to bf16 once (their matmuls
     * run in bf16 anyway); trainable weights stay fp32. Without autocast everything stays fp32.
     */
    public static void frozenToComputeDtype(XFormer m, Device device, boolean amp) {
        if (!device.isCuda() || !amp) return;
        m.visionModel.to(device, DType.BF16);
        if (m.mae != null) m.mae.to(device, DType.BF16);
    }

    public static void freeze(XFormer m) {
        m.visionModel.requiresGrad(false);
        if (m.mae != null) m.mae.requiresGrad(false);
    }

    public static Map<String, Parameter> trainable(Module m) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        m.namedParameters().forEach((k, p) -> {
            if (p.trainable()) out.put(k, p);
        });
        return out;
    }

    /** Tests: ITM negatives from a rule instead of sampling (indices into the world batch), so runs can be compared. */
    void useNegatives(WorldLosses.NegativeRule rule) {
        this.fixedNegatives = rule;
    }

    @Override
    public Map<String, Parameter> trainable() {
        return params;
    }

    @Override
    public void beginStep() {
        clampTemp(model);
        model.trainExceptFrozen();
    }

    @Override
    public Map<String, Tensor> losses(Loader.Batch b, Generator gen) {
        XFormer.Output o = world.size() == 1 && fixedNegatives == null ? step(model, b, patches, gen, device, cfg.train().amp())
                : worldStep(model, b, patches, gen, device, cfg.train().amp(), world, cfg.train().itcGatherGrad(), fixedNegatives);
        Map<String, Tensor> parts = new LinkedHashMap<>();
        parts.put("loss", o.loss());
        parts.put("loss_itc", o.lossItc());
        parts.put("loss_itm", o.lossItm());
        parts.put("loss_itg", o.lossItg());
        if (o.lossRec() != null) parts.put("loss_rec", o.lossRec());
        return parts;
    }

    @Override
    public void loadCheckpoint(Path file) {
        Checkpoints.loadTrainable(model, params, file, device);
    }

    @Override
    public Finished finish(Path runDir) throws IOException {
        Path modelDir = export(model, cfg, runDir.resolve("model"));
        Map<String, Double> retrieval = cfg.data().val().isEmpty() ? Map.of()
                : evaluateRetrieval(model, Sources.of(cfg.data().val()), tok, cfg.train(), device);
        return new Finished(modelDir, retrieval);
    }

    @Override
    public void close() {
        model.close();
    }

    /** One micro-batch forward: frozen encoders under inference mode, the rest with autograd (bf16 autocast on CUDA). */
    public static XFormer.Output step(XFormer model, Loader.Batch b, int patches, Generator gen, Device device, boolean amp) {
        try (Scope s = Scope.open()) {
            long bs = b.size(), sz = b.imageSize();
            // ids checked here, on the host, so the embeddings need no device-side check (a host sync on CUDA)
            BatchChecks.ids(b.ids(), model.cfg.qformer().vocabSize(), "batch input_ids");
            // one host copy per array (pinned + asynchronous upload on CUDA)
            Tensor pixels = Torch.upload(b.clipPixels(), device, bs, 3, sz, sz);
            Tensor pixelsMae = model.cfg.hasMae() ? Torch.upload(b.maePixels(), device, bs, 3, sz, sz) : null;
            Tensor ids = Torch.upload(b.ids(), device, bs, b.textLen()), mask = Torch.upload(b.mask(), device, bs, b.textLen());
            Tensor noise = model.mae == null ? null : Torch.rand(gen, DType.F32, device, bs, patches);
            boolean autocast = amp && device.isCuda();
            XFormer.Encoded plain = encodeFrozen(model, pixels, pixelsMae, noise, autocast);
            try (Guard checked = Guard.idsCheckedOnHost(); Guard ac = autocast ? Guard.autocast(Device.Type.CUDA, DType.BF16) : null) {
                XFormer.Output o = model.losses(model.queries(plain), pixelsMae, ids, mask, sim -> XFormer.sampleNegatives(sim, gen));
                return s.keepAll(o.lossesOnly());
            }
        }
    }

    /**
     * One rank's micro-batch of a global batch: the MAE noise is this rank's rows of the global
     * batch's draw (as one process would draw it); ITM negatives come from a per-rank generator
     * seeded from the step's shared one.
     */
    static XFormer.Output worldStep(XFormer model, Loader.Batch b, int patches, Generator gen, Device device, boolean amp, World world,
                                    boolean itcGatherGrad, WorldLosses.NegativeRule fixed) {
        try (Scope s = Scope.open()) {
            long bs = b.size(), sz = b.imageSize();
            // ids checked here, on the host, so the embeddings need no device-side check (a host sync on CUDA)
            BatchChecks.ids(b.ids(), model.cfg.qformer().vocabSize(), "batch input_ids");
            // one host copy per array (pinned + asynchronous upload on CUDA)
            Tensor pixels = Torch.upload(b.clipPixels(), device, bs, 3, sz, sz);
            Tensor pixelsMae = model.cfg.hasMae() ? Torch.upload(b.maePixels(), device, bs, 3, sz, sz) : null;
            Tensor ids = Torch.upload(b.ids(), device, bs, b.textLen()), mask = Torch.upload(b.mask(), device, bs, b.textLen());
            Tensor noise = model.mae == null ? null
                    : Torch.rand(gen, DType.F32, device, bs * world.size(), patches).narrow(0, bs * world.rank(), bs);
            long negSeed = Torch.randint(0, Long.MAX_VALUE, gen, Device.CPU, 1).itemLong() + world.rank();
            boolean autocast = amp && device.isCuda();
            XFormer.Encoded plain = encodeFrozen(model, pixels, pixelsMae, noise, autocast);
            try (Generator negGen = new Generator(negSeed, device.type()); Guard checked = Guard.idsCheckedOnHost();
                 Guard ac = autocast ? Guard.autocast(Device.Type.CUDA, DType.BF16) : null) {
                WorldLosses.NegativeRule negatives = fixed != null ? fixed : (i2t, t2i, off) -> WorldLosses.sampleNegatives(i2t, t2i, off, negGen);
                XFormer.Output o = WorldLosses.losses(model, model.queries(plain), pixelsMae, ids, mask, negatives, world.collectives(),
                        itcGatherGrad);
                return s.keepAll(o.lossesOnly());
            }
        }
    }

    /**
     * Frozen encoders under no-grad: their weights take no gradient, so no graph is recorded, and
     * the outputs are plain tensors the trainable side can save for backward (inference-mode
     * outputs would have to be cloned first: four copies per step).
     */
    public static XFormer.Encoded encodeFrozen(XFormer model, Tensor pixels, Tensor pixelsMae, Tensor noise, boolean autocast) {
        try (Scope s = Scope.open(); Guard g = Guard.noGrad(); Guard ac = autocast ? Guard.autocast(Device.Type.CUDA, DType.BF16) : null) {
            XFormer.Encoded e = model.encode(pixels, pixelsMae, noise);
            s.keep(e.clip());
            if (e.mae() != null) {
                s.keep(e.mae().lastHiddenState());
                s.keep(e.mae().mask());
                s.keep(e.mae().idsRestore());
            }
            return e;
        }
    }

    public static void clampTemp(XFormer m) {
        try (Guard g = Guard.noGrad(); Scope s = Scope.open()) {
            Tensor temp = m.temp.get();
            temp.copy_(temp.clamp(XFormer.TEMP_MIN, XFormer.TEMP_MAX));
        }
    }

    /** The whole model as an XFormerForPreTraining folder (loadable by `xformer forward`). */
    static Path export(XFormer m, TrainConfig cfg, Path dir) throws IOException {
        Files.createDirectories(dir);
        ObjectNode config = cfg.model().deepCopy();
        config.putArray("architectures").add("XFormerForPreTraining");
        Files.writeString(dir.resolve(HfCheckpoint.CONFIG), config.toPrettyString());
        SafeTensors.save(dir.resolve(HfCheckpoint.SINGLE), m.checkpointState(), Map.of("format", "pt"));
        return dir;
    }

    /** Image-to-text and text-to-image R@1 (and chance) on held-out pairs, ITC similarities only. */
    public static Map<String, Double> evaluateRetrieval(XFormer model, Source val, Tokenizer tok, TrainConfig.Train t, Device device) {
        model.train(false);
        int n = val.size();
        List<float[]> images = new ArrayList<>();
        List<String> captions = new ArrayList<>();
        Transform tf = new Transform(t.imageSize(), false);
        for (int i = 0; i < n; i++) {
            try {
                Sample s = val.load(i);
                images.add(tf.apply(s.image(), new Random(0)));
                captions.add(Captions.clean(s.caption(), t.maxWords()));
            } catch (IOException e) {
                // a broken held-out image is left out of the evaluation
            }
        }
        int m = images.size();
        if (m < 2) return Map.of();
        int sz = t.imageSize(), plane = 3 * sz * sz;
        float[] clip = new float[m * plane], mae = new float[m * plane];
        for (int i = 0; i < m; i++) {
            System.arraycopy(Transform.normalize(images.get(i), Transform.CLIP_MEAN, Transform.CLIP_STD), 0, clip, i * plane, plane);
            System.arraycopy(Transform.normalize(images.get(i), Transform.IMAGENET_MEAN, Transform.IMAGENET_STD), 0, mae, i * plane, plane);
        }
        Tokenizer.Batch tb = tok.encode(captions, 0);
        int len = tb.ids()[0].length;
        long[] ids = new long[m * len], mask = new long[m * len];
        for (int i = 0; i < m; i++) {
            System.arraycopy(tb.ids()[i], 0, ids, i * len, len);
            System.arraycopy(tb.attentionMask()[i], 0, mask, i * len, len);
        }
        try (Scope s = Scope.open(); Guard g = Guard.inferenceMode(); Generator gen = new Generator(t.seed());
             Guard ac = t.amp() && device.isCuda() ? Guard.autocast(Device.Type.CUDA, DType.BF16) : null) {
            Tensor px = Torch.tensor(clip, m, 3, sz, sz).to(device), pm = Torch.tensor(mae, m, 3, sz, sz).to(device);
            Tensor noise = model.cfg.hasMae() ? Torch.rand(gen, DType.F32, device, m, model.cfg.mae().numPatches()) : null;
            XFormer.Vision v = model.queries(model.encode(px, model.cfg.hasMae() ? pm : null, noise));
            Tensor sim = model.itcSimilarity(v.zPrime(), model.textCls(Torch.tensor(ids, m, len).to(device), Torch.tensor(mask, m, len).to(device)));
            Tensor target = Torch.arange(0, m, 1, DType.I64, device);
            double i2t = sim.argmax(1, false).eq(target).to(DType.F64).mean().item();
            double t2i = sim.transpose(0, 1).argmax(1, false).eq(target).to(DType.F64).mean().item();
            Map<String, Double> r = new LinkedHashMap<>();
            r.put("pairs", (double) m);
            long bad = io.xformer.models.NonFinite.count(sim);
            if (bad > 0) r.put("non_finite_similarities", (double) bad);
            r.put("i2t_r1", i2t);
            r.put("t2i_r1", t2i);
            r.put("chance_r1", 1.0 / m);
            return r;
        }
    }
}
