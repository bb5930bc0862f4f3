package io.xformer.train;

import io.xformer.models.XFormer;
import io.xformer.nn.Device;
import io.xformer.nn.Torch;
import java.nio.file.Path;

/** The first line of a training run: what runs, where, on what, with how much. */
public final class RunBanner {
    private RunBanner() {}

    /** libtorch's intra-op threads as the Java layer sets them (XFT_NUM_THREADS, OMP_NUM_THREADS, else every core). */
    static int torchThreads() {
        for (String v : new String[] {System.getenv("XFT_NUM_THREADS"), System.getenv("OMP_NUM_THREADS")}) {
            if (v == null || v.isBlank()) continue;
            try {
                return Integer.parseInt(v.strip());
            } catch (NumberFormatException ignored) {
                // Native reports a bad value itself
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }

    public static String first(TrainConfig cfg, Device device, XFormer model, int datasetSize, Path outDir, Path resumedFrom,
                               long startStep, long maxSteps, Path movedAside) {
        long trainable = model.numTrainable(), all = model.numParameters();
        TrainConfig.Train t = cfg.train();
        return String.format("train: config %s (%s), %s, %s, threads %d libtorch + %d data workers, params %s trainable / %s frozen, "
                        + "%d training samples, batch %d x %d, steps %d-%d, output %s%s",
                cfg.file(), cfg.model().path("variant").asText("xformer"), device, Torch.version(), torchThreads(), t.workers(),
                human(trainable), human(all - trainable), datasetSize, t.batchSize(), t.accumSteps(), startStep, maxSteps,
                outDir.toAbsolutePath().normalize(),
                (resumedFrom == null ? "" : " (resuming " + resumedFrom.getFileName() + ")")
                        + (movedAside == null ? "" : " (previous run moved to " + movedAside + ")"));
    }

    static String human(long n) {
        if (n >= 1_000_000_000) return String.format("%.2fB", n / 1e9);
        if (n >= 1_000_000) return String.format("%.2fM", n / 1e6);
        if (n >= 1_000) return String.format("%.1fK", n / 1e3);
        return Long.toString(n);
    }
}
