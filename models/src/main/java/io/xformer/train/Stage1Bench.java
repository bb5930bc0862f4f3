package io.xformer.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.data.Loader;
import io.xformer.models.XFormer;
import io.xformer.nn.AdamW;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Generator;
import io.xformer.nn.Scope;
import io.xformer.nn.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * Times full stage-1 training steps (frozen encoders, all four losses, backward, AdamW) at a
 * config's dimensions on random data, as the trainer runs them: frozen weights in bf16 on CUDA,
 * trainable weights fp32 under bf16 autocast there; fp32 on CPU.
 */
public final class Stage1Bench {
    public record Result(double msPerStep, double imagesPerSecond, long peakBytes, String peakKind) {}

    private Stage1Bench() {}

    public static Result run(JsonNode modelConfig, TrainConfig.Init init, boolean randomWeights, int batch, int steps, int textLen,
                             Device device, boolean amp) throws IOException {
        XFormer m = new XFormer(XFormer.Config.from(modelConfig));
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
        int size = m.cfg.vision().imageSize(), patches = m.cfg.hasMae() ? m.cfg.mae().numPatches() : 0;
        Random r = new Random(0);
        float[] px = new float[batch * 3 * size * size];
        for (int i = 0; i < px.length; i++) px[i] = (float) r.nextGaussian();
        long[] ids = new long[batch * textLen], mask = new long[batch * textLen];
        int vocab = m.cfg.qformer().vocabSize();
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i % textLen == 0 ? 2 : 6 + r.nextInt(vocab - 6);
            mask[i] = 1;
        }
        Loader.Batch b = new Loader.Batch(batch, size, textLen, px, px, ids, mask, 0, List.of());
        try (AdamW opt = new AdamW(Stage1Objective.trainable(m), 0.9, 0.98, AdamW.DEFAULT_EPS, 0.05)) {
            long t0 = 0;
            for (int step = -1; step < steps; step++) { // step -1 warms up (allocator, kernels, JIT)
                if (step == 0) {
                    if (device.isCuda()) {
                        Torch.cudaSynchronize(-1);
                        Torch.cudaResetPeakMemory(-1);
                    }
                    t0 = System.nanoTime();
                }
                try (Scope s = Scope.open(); Generator gen = new Generator(step + 1)) {
                    m.trainExceptFrozen();
                    Stage1Objective.clampTemp(m);
                    Stage1Objective.step(m, b, patches, gen, device, amp).loss().backward();
                    opt.step(1e-4);
                    opt.zeroGrad();
                }
            }
            if (device.isCuda()) Torch.cudaSynchronize(-1);
            double ms = (System.nanoTime() - t0) / 1e6 / steps;
            long peak = device.isCuda() ? Torch.cudaMemory(-1).peakAllocated() : peakRss();
            m.close();
            return new Result(ms, batch * 1000.0 / ms, peak, device.isCuda() ? "CUDA peak allocated" : "peak resident (VmHWM)");
        }
    }

    static long peakRss() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status")))
            if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        return -1;
    }
}
