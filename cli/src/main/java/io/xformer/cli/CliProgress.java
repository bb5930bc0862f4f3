package io.xformer.cli;

import io.xformer.eval.Progress;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A progress bar per phase on stderr when stderr is a terminal; silent otherwise. */
final class CliProgress implements Progress, AutoCloseable {
    private ProgressBar bar;
    private String phase;

    static Progress forTerminal() {
        return System.console() != null ? new CliProgress() : Progress.NONE;
    }

    @Override
    public void update(String p, long done, long total) {
        if (!p.equals(phase)) {
            close();
            phase = p;
            bar = new ProgressBarBuilder().setTaskName(p).setInitialMax(total).setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(300).build();
        }
        bar.stepTo(done);
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
        bar = null;
    }

    static void done(Progress p) {
        if (p instanceof CliProgress c) c.close();
    }
}
