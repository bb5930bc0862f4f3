package io.xformer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.data.Loader;
import io.xformer.hf.HfCheckpoint;
import io.xformer.models.XFormer;
import io.xformer.nn.AdamW;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Generator;
import io.xformer.nn.Guard;
import io.xformer.nn.Profiler;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Times stage-1 training steps (frozen encoders, all four losses, backward, AdamW) at a config's
 * dimensions on fixed random data, as the trainer runs them: frozen weights in bf16 on CUDA,
 * trainable weights fp32 under bf16 autocast there; fp32 on CPU. Or, encoders only, the frozen
 * encoders' forward under inference mode. Step s draws from Generator(s + 1), s counted from 0
 * at the first warm-up step, as the PyTorch reference (../shared/bench/pytorch_stage1_cpu.py) does.
 *
 * <p>A session keeps model, optimiser and data, so timed blocks can be interleaved with another
 * process (the PyTorch reference) on a shared machine.
 */
public final class Stage1Bench implements AutoCloseable {
    private final XFormer m;
    private final AdamW opt;
    private final Loader.Batch batch;
    private final int patches;
    private final Device device;
    private final boolean amp, encodersOnly;
    private long step;

    public Stage1Bench(JsonNode modelConfig, TrainConfig.Init init, boolean randomWeights, int batch, int textLen, Device device,
                       boolean amp, boolean encodersOnly) {
        this.device = device;
        this.amp = amp;
        this.encodersOnly = encodersOnly;
        m = new XFormer(XFormer.Config.from(modelConfig));
        try (Scope s = Scope.open()) {
            if (randomWeights) {
                try (Generator g = new Generator(0)) {
                    m.initialize(g, DType.F32, device, 0.02);
                }
                m.temp.set(Torch.full(XFormer.TEMP_INIT, DType.F32, device));
            } else {
                Init.apply(m, init, device);
            }
        }
        Stage1Objective.freeze(m);
        Stage1Objective.frozenToComputeDtype(m, device, amp);
        int size = m.cfg.vision().imageSize();
        patches = m.cfg.hasMae() ? m.cfg.mae().numPatches() : 0;
        // the reference's --java-data reproduces this stream (java.util.Random(0)) bit for bit
        Random r = new Random(0);
        float[] px = new float[batch * 3 * size * size];
        for (int i = 0; i < px.length; i++) px[i] = (float) r.nextGaussian();
        long[] ids = new long[batch * textLen], mask = new long[batch * textLen];
        int vocab = m.cfg.qformer().vocabSize();
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i % textLen == 0 ? 2 : 6 + r.nextInt(vocab - 6);
            mask[i] = 1;
        }
        this.batch = new Loader.Batch(batch, size, textLen, px, px, ids, mask, 0, List.of());
        opt = encodersOnly ? null : new AdamW(Stage1Objective.trainable(m), 0.9, 0.98, AdamW.DEFAULT_EPS, 0.05);
    }

    /** Steps so far (warm-up included). */
    public long steps() {
        return step;
    }

    /**
     * One step; with readLosses its five losses (itc, itm, itg, rec, total) are read back (a
     * logging step), otherwise nothing is read from the device. Returns the losses or null.
     */
    public Map<String, Double> step(boolean readLosses) {
        try (Scope s = Scope.open(); Generator gen = new Generator(step + 1)) {
            step++;
            if (encodersOnly) {
                try (Guard g = Guard.inferenceMode()) {
                    long bs = batch.size(), sz = batch.imageSize();
                    Tensor a = Torch.upload(batch.clipPixels(), device, bs, 3, sz, sz);
                    Tensor b = m.cfg.hasMae() ? Torch.upload(batch.maePixels(), device, bs, 3, sz, sz) : null;
                    Tensor noise = m.mae == null ? null : Torch.rand(gen, DType.F32, device, bs, patches);
                    try (Guard ac = amp && device.isCuda() ? Guard.autocast(Device.Type.CUDA, DType.BF16) : null) {
                        m.encode(a, b, noise);
                    }
                }
                return null;
            }
            m.trainExceptFrozen();
            Stage1Objective.clampTemp(m);
            XFormer.Output o = Stage1Objective.step(m, batch, patches, gen, device, amp);
            o.loss().backward();
            opt.step(1e-4);
            opt.zeroGrad();
            if (!readLosses) return null;
            Map<String, Double> out = new LinkedHashMap<>();
            out.put("itc", o.lossItc().item());
            out.put("itm", o.lossItm().item());
            out.put("itg", o.lossItg().item());
            if (o.lossRec() != null) out.put("rec", o.lossRec().item());
            out.put("total", o.loss().item());
            return out;
        }
    }

    /** Times n steps one by one (device synchronised around each on CUDA); milliseconds each. */
    public double[] time(int n) {
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) {
            sync();
            long t0 = System.nanoTime();
            step(false);
            sync();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        return ms;
    }

    /** One step recorded op by op with libtorch's RecordFunction instrumentation. */
    public List<Profiler.Op> profile() {
        sync();
        Profiler.start();
        List<Profiler.Op> ops;
        try {
            step(false);
            sync();
        } finally {
            ops = Profiler.stop();
        }
        return ops;
    }

    private void sync() {
        if (device.isCuda()) Torch.cudaSynchronize(-1);
    }

    public void resetPeak() {
        if (device.isCuda()) Torch.cudaResetPeakMemory(-1);
    }

    public long peakBytes() throws IOException {
        return device.isCuda() ? Torch.cudaMemory(-1).peakAllocated() : peakRss();
    }

    public String peakKind() {
        return device.isCuda() ? "CUDA peak allocated" : "peak resident (VmHWM)";
    }

    /** The weights now, as an XFormerForPreTraining folder (what the reference's --init-checkpoint reads). */
    public Path exportWeights(JsonNode modelConfig, Path dir) throws IOException {
        Files.createDirectories(dir);
        ObjectNode config = modelConfig.deepCopy();
        config.putArray("architectures").add("XFormerForPreTraining");
        Files.writeString(dir.resolve(HfCheckpoint.CONFIG), config.toPrettyString());
        SafeTensors.save(dir.resolve(HfCheckpoint.SINGLE), m.checkpointState(), Map.of("format", "pt"));
        return dir;
    }

    /** Whether any dropout is active in training mode (then losses depend on the global generator's state). */
    public static boolean hasDropout(JsonNode modelConfig) {
        JsonNode q = modelConfig.path("qformer_config");
        return q.path("hidden_dropout_prob").asDouble(0.1) > 0 || q.path("attention_probs_dropout_prob").asDouble(0.1) > 0;
    }

    @Override
    public void close() {
        if (opt != null) opt.close();
        m.close();
    }

    /** Summary statistics of per-step times. */
    public record Stats(double median, double q1, double q3, double min, double max, double mean, int n) {
        public static Stats of(double[] ms) {
            double[] s = ms.clone();
            Arrays.sort(s);
            double mean = Arrays.stream(s).average().orElse(Double.NaN);
            return new Stats(quantile(s, 0.5), quantile(s, 0.25), quantile(s, 0.75), s[0], s[s.length - 1], mean, s.length);
        }

        /** Linear interpolation between order statistics (numpy's default). */
        static double quantile(double[] sorted, double q) {
            double pos = q * (sorted.length - 1);
            int lo = (int) Math.floor(pos), hi = (int) Math.ceil(pos);
            return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
        }
    }

    static long peakRss() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status")))
            if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        return -1;
    }
}
