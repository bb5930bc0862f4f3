package io.xformer.train;

import io.xformer.nn.Device;
import io.xformer.nn.Threads;
import io.xformer.nn.Torch;
import java.nio.file.Path;

/** The first line of a training run: what runs, where, on what, with how much. */
public final class RunBanner {
    private RunBanner() {}

    /** The line, once the loop knows where it starts: resumedFrom / movedAside null when not so. */
    @FunctionalInterface
    public interface First {
        String line(Path resumedFrom, long startStep, long maxSteps, Path movedAside);
    }

    /**
     * stage: "1", "2" or "vqa"; model: what is trained (the variant); trainable / total: parameter
     * counts; datasetSize: training samples; t: the stage's resolved train section.
     */
    public static First of(Path configFile, String stage, String model, Device device, long trainable, long total, int datasetSize,
                           TrainConfig.Train t, Path outDir) {
        return (resumedFrom, startStep, maxSteps, movedAside) -> String.format(
                "train: config %s (stage %s, %s), %s, %s, %s + %d data workers, params %s trainable / %s frozen, "
                        + "%d training samples, batch %d x %d, steps %d-%d, output %s%s",
                configFile, stage, model, device, Torch.version(), Threads.budget(), t.workers(), human(trainable),
                human(total - trainable), datasetSize, t.batchSize(), t.accumSteps(), startStep, maxSteps,
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
