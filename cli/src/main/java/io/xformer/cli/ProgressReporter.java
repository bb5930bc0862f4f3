package io.xformer.cli;

import io.xformer.train.TrainListener;
import java.nio.file.Path;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** Training progress: a progress bar with ETA, loss and img/s on a terminal; one plain line per logged step otherwise. */
final class ProgressReporter implements TrainListener {
    private final boolean terminal;
    private ProgressBar bar;
    private long startStep;
    private long started = System.nanoTime();

    ProgressReporter(boolean terminal) {
        this.terminal = terminal;
    }

    @Override
    public void started(long startStep, long maxSteps, Path resumedFrom) {
        this.startStep = startStep;
        this.started = System.nanoTime();
        if (terminal) bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(maxSteps).startsFrom(startStep,
                java.time.Duration.ZERO).setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).build();
        if (resumedFrom != null) message("resumed from " + resumedFrom + " at step " + startStep);
    }

    @Override
    public void logged(long step, long total, Map<String, Double> m) {
        if (bar != null) {
            bar.stepTo(step);
            bar.setExtraMessage(String.format(" loss %.4f  %.1f img/s", m.get("loss"), m.get("img_per_s")));
            return;
        }
        double elapsed = (System.nanoTime() - started) / 1e9;
        double eta = step > startStep ? elapsed / (step - startStep) * (total - step) : 0;
        StringBuilder b = new StringBuilder(String.format("step %d/%d", step, total));
        for (var e : m.entrySet())
            if (e.getKey().startsWith("loss")) b.append(String.format("  %s %.4f", e.getKey(), e.getValue()));
        b.append(String.format("  lr %.3g  %.1f img/s  eta %ds", m.get("lr"), m.get("img_per_s"), Math.round(eta)));
        System.out.println(b);
    }

    @Override
    public void message(String s) {
        if (bar != null) System.out.println();
        System.out.println(s);
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
        bar = null;
    }
}
