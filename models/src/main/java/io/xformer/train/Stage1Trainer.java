package io.xformer.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.data.Loader;
import io.xformer.data.Sample;
import io.xformer.data.Source;
import io.xformer.data.Synthetic;
import io.xformer.data.Transform;
import io.xformer.hf.HfCheckpoint;
import io.xformer.models.XFormer;
import io.xformer.nn.AdamW;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Generator;
import io.xformer.nn.Guard;
import io.xformer.nn.LrSchedule;
import io.xformer.nn.Parameter;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;
import io.xformer.text.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stage-1 training: frozen encoders under inference mode, the Q-Former, heads and X-Former
 * block trained with ITC + ITM (negatives sampled from the ITC similarities) + ITG + MAE
 * reconstruction, AdamW with warmup + cosine, optional clipping, accumulation and bf16
 * autocast on CUDA. Every random draw of step s is seeded from (seed, s) and the data order
 * from (seed, cursor), so a run resumed from a checkpoint repeats the uninterrupted run.
 */
public final class Stage1Trainer {
    public record Result(long steps, Path modelDir, Map<String, Double> retrieval, long skipped) {}

    private Stage1Trainer() {}

    static long mix(long seed, long step) {
        long z = seed * 0x9E3779B97F4A7C15L + step * 0xBF58476D1CE4E5B9L + 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
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

    public static Map<String, Parameter> trainable(XFormer m) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        m.namedParameters().forEach((k, p) -> {
            if (p.trainable()) out.put(k, p);
        });
        return out;
    }

    /** Generates the synthetic set when the config asks for one and it is not there yet. */
    static void ensureSynthetic(TrainConfig cfg, Reporter out) throws IOException {
        TrainConfig.SyntheticSpec s = cfg.data().synthetic();
        if (s == null || Files.isRegularFile(s.dir().resolve("captions_train.json"))) return;
        out.message("generating " + s.images() + " synthetic images in " + s.dir());
        Synthetic.generate(s.dir(), s.images(), s.seed(), s.size());
    }

    public static Result run(TrainConfig cfg, Path outDir, Long maxStepsOverride, boolean resume, boolean terminal) throws IOException {
        return run(cfg, outDir, maxStepsOverride, null, resume, terminal);
    }

    /**
     * stopAfter: end the session after that many steps (checkpointing there) while the
     * schedule still spans max_steps: a time-sliced or preempted job resumes with --resume.
     */
    public static Result run(TrainConfig cfg, Path outDir, Long maxStepsOverride, Long stopAfter, boolean resume, boolean terminal)
            throws IOException {
        return run(cfg, outDir, maxStepsOverride, stopAfter, resume, false, false, terminal);
    }

    /**
     * overwrite: move a run already in outDir aside (refused otherwise without resume);
     * allowConfigChange: resume under a config whose fingerprint differs (recorded in metrics.jsonl).
     */
    public static Result run(TrainConfig cfg, Path outDir, Long maxStepsOverride, Long stopAfter, boolean resume, boolean overwrite,
                             boolean allowConfigChange, boolean terminal) throws IOException {
        long steps = maxStepsOverride != null ? maxStepsOverride : cfg.train().maxSteps();
        try (RunFolder folder = RunFolder.open(outDir, resume, overwrite, allowConfigChange, Fingerprint.of(cfg, steps), cfg.file())) {
            return train(cfg, folder, maxStepsOverride, stopAfter, resume, terminal);
        }
    }

    private static Result train(TrainConfig cfg, RunFolder folder, Long maxStepsOverride, Long stopAfter, boolean resume, boolean terminal)
            throws IOException {
        TrainConfig.Train t = cfg.train();
        long maxSteps = maxStepsOverride != null ? maxStepsOverride : t.maxSteps();
        Device device = Device.parse(t.device());
        Path outDir = folder.dir();
        Checkpoints ckpts = folder.checkpoints();
        Path metricsFile = outDir.resolve("metrics.jsonl");
        ObjectMapper json = new ObjectMapper();
        try (Reporter early = new Reporter(0, maxSteps, false)) {
            ensureSynthetic(cfg, early);
        }
        Source train = Sources.of(cfg.data().train());
        long startStep = 0, cursor = 0, skippedTotal = 0;
        try (Scope root = Scope.open(); Tokenizer tok = Tokenizer.open(cfg.tokenizer())) {
            XFormer model = build(cfg, device);
            Map<String, Parameter> params = trainable(model);
            AdamW opt = new AdamW(params, t.beta1(), t.beta2(), 1e-8, t.weightDecay());
            Path latest = resume ? ckpts.latest() : null;
            if (resume && latest == null) throw new io.xformer.nn.InputException(outDir + ": --resume given but no checkpoint under " + ckpts.dir());
            if (latest != null) {
                Checkpoints.State st = Checkpoints.readState(latest);
                try (SafeTensors f = SafeTensors.open(latest.resolve(Checkpoints.TRAINABLE))) {
                    var report = model.loadStateDict(f.source(), XFormer::fromCheckpointKey, DType.F32, device, false);
                    List<String> missing = report.missing().stream().filter(params::containsKey).toList();
                    if (!missing.isEmpty() || !report.unexpected().isEmpty() || !report.mismatched().isEmpty())
                        throw new io.xformer.nn.InputException(latest + ": checkpoint does not match the model: " + report);
                }
                try (Scope s = Scope.open()) {
                    opt.load(SafeTensors.load(latest.resolve(Checkpoints.OPTIMIZER)), st.optimizerStep());
                }
                startStep = st.step();
                cursor = st.cursor();
                MetricsFile.truncateAfter(metricsFile, startStep);
                folder.recordConfigChange(metricsFile, startStep);
            } else {
                Files.deleteIfExists(metricsFile);
            }
            LrSchedule schedule = new LrSchedule(t.lr(), t.minLr(), t.warmupLr(), t.warmupSteps(), maxSteps);
            Transform tf = new Transform(t.imageSize(), true);
            int n = model.cfg.hasMae() ? model.cfg.mae().numPatches() : 0;
            try (Loader loader = new Loader(train, tf, tok, t.batchSize(), t.maxTextLen(), t.maxWords(), t.seed(), cursor, t.workers(), 2);
                 Reporter rep = new Reporter(startStep, maxSteps, terminal)) {
                rep.message(RunBanner.first(cfg, device, model, train.size(), outDir, latest, startStep, maxSteps, folder.movedAside()));
                if (latest != null) rep.message("resumed from " + latest + " at step " + startStep);
                long lastLog = System.nanoTime(), imagesSinceLog = 0;
                long endStep = stopAfter == null ? maxSteps : Math.min(maxSteps, stopAfter);
                for (long step = startStep; step < endStep; step++) {
                    double lr = schedule.at(step);
                    Torch.manualSeed(mix(t.seed(), step));
                    Map<String, Double> metrics = new LinkedHashMap<>();
                    try (Scope s = Scope.open(); Generator gen = new Generator(mix(t.seed() + 1, step))) {
                        clampTemp(model);
                        model.train(true);
                        model.visionModel.train(false);
                        if (model.mae != null) model.mae.train(false);
                        Map<String, Tensor> sums = new LinkedHashMap<>();
                        for (int micro = 0; micro < t.accumSteps(); micro++) {
                            Loader.Batch b = loader.next();
                            cursor = b.cursorAfter();
                            skippedTotal += b.skipped().size();
                            for (String why : b.skipped()) rep.message("skipped: " + why);
                            imagesSinceLog += b.size();
                            XFormer.Output o = step(model, b, n, gen, device, t.amp());
                            o.loss().div(t.accumSteps()).backward();
                            accumulate(sums, o, t.accumSteps());
                        }
                        if ((step + 1) % t.logEvery() == 0 || (step + 1) % t.checkpointEvery() == 0 || step + 1 == endStep)
                            LossCheck.requireFinite(sums, step + 1, ckpts);
                        if (t.gradClip() > 0) opt.clipGradNorm(t.gradClip());
                        opt.step(lr);
                        opt.zeroGrad();
                        boolean log = (step + 1) % t.logEvery() == 0 || step + 1 == maxSteps;
                        if (log) {
                            double secs = (System.nanoTime() - lastLog) / 1e9;
                            metrics.put("step", (double) (step + 1));
                            metrics.put("lr", lr);
                            for (var e : sums.entrySet()) metrics.put(e.getKey(), e.getValue().item());
                            metrics.put("img_per_s", imagesSinceLog / Math.max(secs, 1e-9));
                            metrics.put("skipped", (double) skippedTotal);
                            appendMetrics(metricsFile, json, metrics);
                            rep.step(step + 1, metrics);
                            lastLog = System.nanoTime();
                            imagesSinceLog = 0;
                        }
                    } catch (TorchException e) {
                        throw LossCheck.explain(e, step + 1, ckpts);
                    }
                    boolean save = (step + 1) % t.checkpointEvery() == 0 || step + 1 == endStep;
                    if (save) ckpts.write(step + 1, checkpointNames(model, params), opt.state(),
                            new Checkpoints.State(step + 1, cursor, opt.step()));
                }
            }
            if (stopAfter != null && stopAfter < maxSteps) {
                opt.close();
                model.close();
                return new Result(Math.max(startStep, Math.min(maxSteps, stopAfter)), null, Map.of(), skippedTotal);
            }
            Path modelDir = export(model, cfg, outDir.resolve("model"));
            Map<String, Double> retrieval = cfg.data().val().isEmpty() ? Map.of()
                    : evaluateRetrieval(model, Sources.of(cfg.data().val()), tok, t, device);
            if (!retrieval.isEmpty())
                MetricsFile.writeEval(outDir.resolve("eval.json"), retrieval);
            opt.close();
            model.close();
            return new Result(maxSteps, modelDir, retrieval, skippedTotal);
        }
    }

    /** One micro-batch forward: frozen encoders under inference mode, the rest with autograd (bf16 autocast on CUDA). */
    public static XFormer.Output step(XFormer model, Loader.Batch b, int patches, Generator gen, Device device, boolean amp) {
        try (Scope s = Scope.open()) {
            long bs = b.size(), sz = b.imageSize();
            Tensor pixels = host(Torch.tensor(b.clipPixels(), bs, 3, sz, sz), device);
            Tensor pixelsMae = model.mae == null ? null : host(Torch.tensor(b.maePixels(), bs, 3, sz, sz), device);
            Tensor ids = host(Torch.tensor(b.ids(), bs, b.textLen()), device), mask = host(Torch.tensor(b.mask(), bs, b.textLen()), device);
            Tensor noise = model.mae == null ? null : Torch.rand(gen, DType.F32, device, bs, patches);
            XFormer.Encoded enc;
            boolean autocast = amp && device.isCuda();
            try (Guard g = Guard.inferenceMode(); Guard ac = autocast ? Guard.autocast(Device.Type.CUDA, DType.BF16) : null;
                 Scope inner = Scope.open()) {
                XFormer.Encoded e = model.encode(pixels, pixelsMae, noise);
                enc = e;
                inner.keep(e.clip());
                if (e.mae() != null) {
                    inner.keep(e.mae().lastHiddenState());
                    inner.keep(e.mae().mask());
                    inner.keep(e.mae().idsRestore());
                }
            }
            // inference tensors cannot be saved for backward: plain copies for the trainable side
            XFormer.Encoded plain = new XFormer.Encoded(enc.clip().clone(), enc.mae() == null ? null
                    : new io.xformer.models.VitMae.Encoded(enc.mae().lastHiddenState().clone(), enc.mae().mask().clone(),
                    enc.mae().idsRestore().clone()));
            try (Guard ac = autocast ? Guard.autocast(Device.Type.CUDA, DType.BF16) : null) {
                XFormer.Output o = model.losses(model.queries(plain), pixelsMae, ids, mask, sim -> XFormer.sampleNegatives(sim, gen));
                return keep(s, o);
            }
        }
    }

    private static XFormer.Output keep(Scope s, XFormer.Output o) {
        return new XFormer.Output(null, null, null, null, null, null, null, s.keep(o.lossItc()), s.keep(o.lossItm()),
                s.keep(o.lossItg()), o.lossRec() == null ? null : s.keep(o.lossRec()), s.keep(o.loss()));
    }

    static Tensor host(Tensor cpu, Device device) {
        if (!device.isCuda()) return cpu;
        return cpu.pinMemory().to(device, null, true);
    }

    public static void clampTemp(XFormer m) {
        try (Guard g = Guard.noGrad(); Scope s = Scope.open()) {
            Tensor temp = m.temp.get();
            temp.copy_(temp.clamp(0.001, 0.5));
        }
    }

    private static void accumulate(Map<String, Tensor> sums, XFormer.Output o, int accum) {
        Map<String, Tensor> parts = new LinkedHashMap<>();
        parts.put("loss", o.loss());
        parts.put("loss_itc", o.lossItc());
        parts.put("loss_itm", o.lossItm());
        parts.put("loss_itg", o.lossItg());
        if (o.lossRec() != null) parts.put("loss_rec", o.lossRec());
        for (var e : parts.entrySet()) {
            Tensor v = e.getValue().detach().div(accum);
            Tensor prev = sums.get(e.getKey());
            sums.put(e.getKey(), prev == null ? v : prev.add(v));
        }
    }

    static Map<String, Tensor> checkpointNames(XFormer m, Map<String, Parameter> params) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        params.forEach((k, p) -> out.put(XFormer.toCheckpointKey(k), p.get()));
        return out;
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

    private static void appendMetrics(Path file, ObjectMapper json, Map<String, Double> m) throws IOException {
        ObjectNode o = json.createObjectNode();
        m.forEach((k, v) -> {
            if (k.equals("step") || k.equals("skipped")) o.put(k, v.longValue());
            else o.put(k, v);
        });
        Files.writeString(file, json.writeValueAsString(o) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
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
                images.add(tf.apply(s.image(), new java.util.Random(0)));
                captions.add(io.xformer.data.Captions.clean(s.caption(), t.maxWords()));
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
            Tensor noise = model.mae == null ? null : Torch.rand(gen, DType.F32, device, m, model.cfg.mae().numPatches());
            XFormer.Vision v = model.queries(model.encode(px, model.mae == null ? null : pm, noise));
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
