package io.xformer.train;

import io.xformer.data.Synthetic;
import io.xformer.nn.Scope;
import io.xformer.nn.TorchException;
import io.xformer.text.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** `xformer train`: the stage's objective and data on the one {@link TrainLoop}. */
public final class Training {
    /** modelDir is null when the session stopped before max_steps; evaluation may be empty. */
    public record Result(long steps, Path modelDir, Map<String, Double> evaluation, long skipped) {}

    /** "1": stage 1 (ITC, ITM, ITG, reconstruction); "2": LLM alignment on captions; "vqa": VQA fine-tuning. */
    public static final List<String> STAGES = List.of("1", "2", "vqa");

    private Training() {}

    /** Where a stage writes when the command line names no folder. */
    public static Path defaultOutput(TrainConfig cfg, String stage) {
        return switch (stage) {
            case "2" -> cfg.stage2() != null && cfg.stage2().output() != null ? cfg.stage2().output() : Path.of("runs/train-stage2");
            case "vqa" -> cfg.vqa() != null && cfg.vqa().output() != null ? cfg.vqa().output() : Path.of("runs/train-vqa");
            default -> Path.of("runs/train");
        };
    }

    public static Result run(TrainConfig cfg, String stage, Path outDir, Long maxStepsOverride, Long stopAfter, boolean resume,
                             TrainListener listener) throws IOException {
        return run(cfg, stage, outDir, maxStepsOverride, stopAfter, resume, null, listener);
    }

    /**
     * Runs stage of cfg into outDir. maxStepsOverride replaces train.max_steps; stopAfter ends the
     * session after that step with a checkpoint (the schedule still spans max_steps).
     * previousModel: the stage-2 model a VQA stage without its own init starts from (null: stage 2's default output).
     */
    public static Result run(TrainConfig cfg, String stage, Path outDir, Long maxStepsOverride, Long stopAfter, boolean resume,
                             Path previousModel, TrainListener listener) throws IOException {
        if (!STAGES.contains(stage))
            throw new TorchException("--stage " + stage + " is not implemented (stages: " + String.join(", ", STAGES) + ")");
        if (stage.equals("1")) {
            if (cfg.model() == null) throw new TorchException(cfg.file() + ": no stage-1 part (\"model\", \"data\", \"train\")");
            long maxSteps = maxStepsOverride != null ? maxStepsOverride : cfg.train().maxSteps();
            ensureSynthetic(cfg.data(), listener);
            try (Scope root = Scope.open(); Tokenizer tok = Tokenizer.open(cfg.tokenizer());
                 Stage1Objective obj = new Stage1Objective(cfg, tok)) {
                return result(TrainLoop.run(cfg.train(), outDir, maxSteps, stopAfter, resume, obj, Stage1Objective.data(cfg, tok), listener));
            }
        }
        TrainConfig.LmStage st = stage.equals("2") ? cfg.stage2() : cfg.vqa();
        if (st == null) throw new TorchException(cfg.file() + ": no \"" + (stage.equals("2") ? "stage2" : stage) + "\" section");
        long maxSteps = maxStepsOverride != null ? maxStepsOverride : st.train().maxSteps();
        ensureSynthetic(st.data(), listener);
        Path init = previousModel != null ? previousModel : defaultOutput(cfg, "2").resolve("model");
        try (Scope root = Scope.open(); Tokenizer qtok = Tokenizer.open(cfg.tokenizer()); Tokenizer llmTok = Tokenizer.open(st.llmTokenizer());
             LmObjective obj = new LmObjective(st, cfg.tokenizer(), qtok, llmTok, init)) {
            return result(TrainLoop.run(st.train(), outDir, maxSteps, stopAfter, resume, obj, LmObjective.data(st, qtok), listener));
        }
    }

    private static Result result(TrainLoop.Result r) {
        return r.finished() == null ? new Result(r.steps(), null, Map.of(), r.skipped())
                : new Result(r.steps(), r.finished().modelDir(), r.finished().evaluation(), r.skipped());
    }

    /** Generates the synthetic set when the config asks for one and it is not there yet. */
    static void ensureSynthetic(TrainConfig.Data data, TrainListener out) throws IOException {
        TrainConfig.SyntheticSpec s = data.synthetic();
        if (s == null || Files.isRegularFile(s.dir().resolve("captions_train.json"))) return;
        out.message("generating " + s.images() + " synthetic images in " + s.dir());
        Synthetic.generate(s.dir(), s.images(), s.seed(), s.size());
    }
}
