package io.xformer.cli;

import io.xformer.train.Stage1Trainer;
import io.xformer.train.TrainConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Stage-1 training (ITC + ITM + ITG + MAE reconstruction); writes DIR/metrics.jsonl, DIR/checkpoints/, DIR/model/.")
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "training config (JSON), e.g. configs/tiny.json")
    Path config;

    @Option(names = "--stage", defaultValue = "1", description = "training stage (stage 1 is implemented)")
    int stage;

    @Option(names = "--output", defaultValue = "runs/train", paramLabel = "DIR", description = "run folder")
    Path output;

    @Option(names = "--max-steps", paramLabel = "N", description = "override train.max_steps (>= 1); default: the config's")
    Long maxSteps;

    @Option(names = "--resume", description = "continue the run in DIR from DIR/checkpoints/latest")
    boolean resume;

    @Option(names = "--overwrite", description = "start over in a DIR that holds a run: the old run is moved to DIR.replaced-TIME/")
    boolean overwrite;

    @Option(names = "--allow-config-change",
            description = "with --resume: continue although the config differs from the checkpoint's (recorded in metrics.jsonl)")
    boolean allowConfigChange;

    @Option(names = "--stop-after", paramLabel = "N",
            description = "stop after step N (>= 1) with a checkpoint (the schedule still spans max_steps); continue with --resume")
    Long stopAfter;

    @Override
    public Integer call() throws Exception {
        if (stage != 1) throw new CommandLine.ParameterException(spec.commandLine(), "--stage " + stage + " is not implemented yet (stage 1 is)");
        if (maxSteps != null && maxSteps < 1)
            throw new CommandLine.ParameterException(spec.commandLine(), "--max-steps must be >= 1, got " + maxSteps);
        if (stopAfter != null && stopAfter < 1)
            throw new CommandLine.ParameterException(spec.commandLine(), "--stop-after must be >= 1, got " + stopAfter);
        if (resume && overwrite)
            throw new CommandLine.ParameterException(spec.commandLine(), "--resume and --overwrite exclude each other");
        if (allowConfigChange && !resume)
            throw new CommandLine.ParameterException(spec.commandLine(), "--allow-config-change only applies with --resume");
        long started = System.nanoTime();
        TrainConfig cfg = TrainConfig.load(config);
        Stage1Trainer.Result r = Stage1Trainer.run(cfg, output, maxSteps, stopAfter, resume, overwrite, allowConfigChange,
                System.console() != null);
        System.out.println(lastLine(r, output, (System.nanoTime() - started) / 1e9));
        Double bad = r.retrieval().get("non_finite_similarities");
        if (bad != null && bad > 0)
            System.err.println("xformer: warning: held-out evaluation: " + bad.longValue() + " ITC similarities are NaN or infinite; "
                    + "the retrieval figures are not meaningful");
        return 0;
    }

    /** The last line: time, where everything went, the held-out result. */
    static String lastLine(Stage1Trainer.Result r, Path out, double seconds) {
        Path dir = out.toAbsolutePath().normalize();
        StringBuilder b = new StringBuilder();
        if (r.modelDir() == null) b.append("stopped after step ").append(r.steps()).append(" (continue with --resume)");
        else b.append("trained ").append(r.steps()).append(r.steps() == 1 ? " step" : " steps");
        b.append(String.format(" in %.1f s; skipped images: %d; metrics %s, checkpoints %s", seconds, r.skipped(),
                dir.resolve("metrics.jsonl"), dir.resolve("checkpoints")));
        if (r.modelDir() != null) b.append(", model ").append(r.modelDir().toAbsolutePath().normalize());
        Map<String, Double> e = r.retrieval();
        if (!e.isEmpty() && Files.isRegularFile(dir.resolve("eval.json")))
            b.append(String.format(", eval %s; held-out retrieval over %d pairs: image->text R@1 %.3f, text->image R@1 %.3f (chance %.3f)",
                    dir.resolve("eval.json"), e.get("pairs").longValue(), e.get("i2t_r1"), e.get("t2i_r1"), e.get("chance_r1")));
        else if (r.modelDir() != null) b.append("; no held-out evaluation (data.val is empty)");
        return b.toString();
    }
}
