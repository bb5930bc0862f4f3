package io.xformer.train;

import java.util.Map;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** Progress: a progress bar with ETA, loss and img/s on a terminal; one plain line per logged step otherwise. */
public final class Reporter implements AutoCloseable {
    private final ProgressBar bar;
    private final long total;
    private final long started = System.nanoTime();
    private final long startStep;

    public Reporter(long startStep, long total, boolean terminal) {
        this.total = total;
        this.startStep = startStep;
        this.bar = terminal ? new ProgressBarBuilder().setTaskName("train").setInitialMax(total).startsFrom(startStep,
                java.time.Duration.ZERO).setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).build() : null;
    }

    public void step(long step, Map<String, Double> m) {
        if (bar != null) {
            bar.stepTo(step);
            bar.setExtraMessage(String.format(" loss %.4f  %.1f img/s", m.get("loss"), m.get("img_per_s")));
            return;
        }
        double elapsed = (System.nanoTime() - started) / 1e9;
        double eta = step > startStep ? elapsed / (step - startStep) * (total - step) : 0;
        StringBuilder b = new StringBuilder(String.format("step %d/%d", step, total));
        for (String k : new String[] {"loss", "loss_itc", "loss_itm", "loss_itg", "loss_rec"})
            if (m.containsKey(k)) b.append(String.format("  %s %.4f", k, m.get(k)));
        b.append(String.format("  lr %.3g  %.1f img/s  eta %ds", m.get("lr"), m.get("img_per_s"), Math.round(eta)));
        System.out.println(b);
    }

    public void message(String s) {
        if (bar != null) System.out.println();
        System.out.println(s);
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
