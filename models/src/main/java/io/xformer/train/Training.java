package io.xformer.train;

import io.xformer.data.Synthetic;
import io.xformer.nn.Scope;
import io.xformer.nn.TorchException;
import io.xformer.text.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** `xformer train`: the stage's objective and data on the one {@link TrainLoop}. */
public final class Training {
    /** modelDir is null when the session stopped before max_steps; evaluation may be empty. */
    public record Result(long steps, Path modelDir, Map<String, Double> evaluation, long skipped) {}

    public static final java.util.List<String> STAGES = java.util.List.of("1");

    private Training() {}

    /**
     * Runs stage ("1") of cfg into outDir. maxStepsOverride replaces train.max_steps; stopAfter ends
     * the session after that step with a checkpoint (the schedule still spans max_steps).
     */
    public static Result run(TrainConfig cfg, String stage, Path outDir, Long maxStepsOverride, Long stopAfter, boolean resume,
                             TrainListener listener) throws IOException {
        if (!STAGES.contains(stage))
            throw new TorchException("--stage " + stage + " is not implemented (stages: " + String.join(", ", STAGES) + ")");
        long maxSteps = maxStepsOverride != null ? maxStepsOverride : cfg.train().maxSteps();
        ensureSynthetic(cfg, listener);
        try (Scope root = Scope.open(); Tokenizer tok = Tokenizer.open(cfg.tokenizer());
             Stage1Objective obj = new Stage1Objective(cfg, tok)) {
            TrainLoop.Result r = TrainLoop.run(cfg.train(), outDir, maxSteps, stopAfter, resume, obj, Stage1Objective.data(cfg, tok), listener);
            return r.finished() == null ? new Result(r.steps(), null, Map.of(), r.skipped())
                    : new Result(r.steps(), r.finished().modelDir(), r.finished().evaluation(), r.skipped());
        }
    }

    /** Generates the synthetic set when the config asks for one and it is not there yet. */
    static void ensureSynthetic(TrainConfig cfg, TrainListener out) throws IOException {
        TrainConfig.SyntheticSpec s = cfg.data().synthetic();
        if (s == null || Files.isRegularFile(s.dir().resolve("captions_train.json"))) return;
        out.message("generating " + s.images() + " synthetic images in " + s.dir());
        Synthetic.generate(s.dir(), s.images(), s.seed(), s.size());
    }
}
