package io.xformer.cli;

import io.xformer.train.TrainConfig;
import io.xformer.train.Training;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Stage-1 training (ITC + ITM + ITG + MAE reconstruction); writes DIR/metrics.jsonl, DIR/checkpoints/, DIR/model/.")
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE")
    Path config;

    @Option(names = "--stage", defaultValue = "1", description = "training stage (stage 1 is implemented)")
    String stage;

    @Option(names = "--output", defaultValue = "runs/train", paramLabel = "DIR", description = "run folder (default ${DEFAULT-VALUE})")
    Path output;

    @Option(names = "--max-steps", paramLabel = "N", description = "override train.max_steps")
    Long maxSteps;

    @Option(names = "--resume", description = "continue from DIR/checkpoints/latest")
    boolean resume;

    @Option(names = "--stop-after", paramLabel = "N",
            description = "stop after step N with a checkpoint (the schedule still spans max_steps); continue with --resume")
    Long stopAfter;

    @Override
    public Integer call() throws Exception {
        if (!Training.STAGES.contains(stage))
            throw new IllegalArgumentException("--stage " + stage + " is not implemented yet (stages: " + String.join(", ", Training.STAGES) + ")");
        TrainConfig cfg = TrainConfig.load(config);
        Training.Result r;
        try (ProgressReporter progress = new ProgressReporter(System.console() != null)) {
            r = Training.run(cfg, stage, output, maxSteps, stopAfter, resume, progress);
        }
        if (r.modelDir() == null) {
            System.out.println("stopped after step " + r.steps() + "; continue with --resume; skipped images: " + r.skipped());
            return 0;
        }
        System.out.println("trained " + r.steps() + " steps; model saved to " + r.modelDir() + "; skipped images: " + r.skipped());
        if (r.evaluation().containsKey("i2t_r1"))
            System.out.printf("held-out retrieval over %.0f pairs: image->text R@1 %.3f, text->image R@1 %.3f (chance %.3f)%n",
                    r.evaluation().get("pairs"), r.evaluation().get("i2t_r1"), r.evaluation().get("t2i_r1"), r.evaluation().get("chance_r1"));
        return 0;
    }
}
