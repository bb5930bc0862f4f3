package io.xformer.train;

import io.xformer.data.Synthetic;
import io.xformer.nn.Scope;
import io.xformer.data.Source;
import io.xformer.nn.ConfigException;
import io.xformer.nn.Device;
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

    public static Result run(TrainConfig cfg, String stage, Path outDir, Long maxStepsOverride, Long stopAfter, boolean resume,
                             Path previousModel, TrainListener listener) throws IOException {
        return run(cfg, stage, outDir, maxStepsOverride, stopAfter, resume, false, false, previousModel, listener);
    }

    /**
     * Runs stage of cfg into outDir. maxStepsOverride replaces train.max_steps; stopAfter ends the
     * session after that step with a checkpoint (the schedule still spans max_steps).
     * overwrite: move a run already in outDir aside (refused otherwise without resume);
     * allowConfigChange: resume under a config whose fingerprint differs (recorded in metrics.jsonl).
     * previousModel: the stage-2 model a VQA stage without its own init starts from (null: stage 2's default output).
     */
    public static Result run(TrainConfig cfg, String stage, Path outDir, Long maxStepsOverride, Long stopAfter, boolean resume,
                             boolean overwrite, boolean allowConfigChange, Path previousModel, TrainListener listener) throws IOException {
        return run(cfg, stage, outDir, maxStepsOverride, stopAfter, resume, overwrite, allowConfigChange, previousModel, listener,
                World.SINGLE);
    }

    /** As above, as one rank of world (issue 10): rank 0 alone locks and checks the folder and prints the first line. */
    public static Result run(TrainConfig cfg, String stage, Path outDir, Long maxStepsOverride, Long stopAfter, boolean resume,
                             boolean overwrite, boolean allowConfigChange, Path previousModel, TrainListener listener, World world)
            throws IOException {
        if (!STAGES.contains(stage))
            throw new IllegalArgumentException("--stage " + stage + " is not implemented (stages: " + String.join(", ", STAGES) + ")");
        TrainConfig.Train t = trainOf(cfg, stage);
        long maxSteps = maxStepsOverride != null ? maxStepsOverride : t.maxSteps();
        // the folder is locked and checked (run already there, checkpoint, fingerprint) before anything is built or written
        try (RunFolder folder = RunFolder.open(outDir, resume, overwrite, allowConfigChange, Fingerprint.of(cfg, stage, maxSteps), cfg.file(),
                world)) {
            if (stage.equals("1")) {
                ensureSynthetic(cfg.data(), listener, world);
                try (Scope root = Scope.open(); Tokenizer tok = Tokenizer.open(cfg.tokenizer());
                     Stage1Objective obj = new Stage1Objective(cfg, tok, world)) {
                    Source train = Sources.of(cfg.data().train());
                    RunBanner.First banner = RunBanner.of(cfg.file(), stage, cfg.model().path("variant").asText("xformer"),
                            Device.parse(t.device()), obj.model.numTrainable(), obj.model.numParameters(), train.size(), t, outDir);
                    return result(TrainLoop.run(t, folder, maxSteps, stopAfter, obj, Stage1Objective.data(cfg, tok, train, world), listener,
                            banner, world));
                }
            }
            TrainConfig.LmStage st = stage.equals("2") ? cfg.stage2() : cfg.vqa();
            ensureSynthetic(st.data(), listener, world);
            Path init = previousModel != null ? previousModel : defaultOutput(cfg, "2").resolve("model");
            try (Scope root = Scope.open(); Tokenizer qtok = Tokenizer.open(cfg.tokenizer()); Tokenizer llmTok = Tokenizer.open(st.llmTokenizer());
                 LmObjective obj = new LmObjective(st, cfg.tokenizer(), qtok, llmTok, init)) {
                Source train = Sources.of(st.data().train());
                RunBanner.First banner = RunBanner.of(cfg.file(), stage, obj.model.cfg.variant() + " with " + obj.model.languageModel.getClass().getSimpleName(), Device.parse(t.device()),
                        obj.model.numTrainable(), obj.model.numParameters(), train.size(), t, outDir);
                return result(TrainLoop.run(t, folder, maxSteps, stopAfter, obj, LmObjective.data(st, qtok, train, world, cfg.file()), listener,
                        banner, world));
            }
        }
    }

    /** The resolved train section of a stage; a config without that stage's part is refused. */
    static TrainConfig.Train trainOf(TrainConfig cfg, String stage) {
        if (stage.equals("1")) {
            if (cfg.model() == null)
                throw new ConfigException(cfg.file() + ": no stage-1 part (\"model\", \"data\", \"train\"); this config runs stages "
                        + String.join(", ", cfg.stages()));
            return cfg.train();
        }
        TrainConfig.LmStage st = stage.equals("2") ? cfg.stage2() : cfg.vqa();
        if (st == null) throw new ConfigException(cfg.file() + ": no \"" + (stage.equals("2") ? "stage2" : stage) + "\" section");
        return st.train();
    }

    private static Result result(TrainLoop.Result r) {
        return r.finished() == null ? new Result(r.steps(), null, Map.of(), r.skipped())
                : new Result(r.steps(), r.finished().modelDir(), r.finished().evaluation(), r.skipped());
    }

    /** Rank 0 generates the synthetic set while the others wait. */
    static void ensureSynthetic(TrainConfig.Data data, TrainListener out, World world) throws IOException {
        if (world.isMain()) ensureSynthetic(data, out);
        world.barrier();
    }

    /** Generates the synthetic set when the config asks for one and it is not there yet. */
    static void ensureSynthetic(TrainConfig.Data data, TrainListener out) throws IOException {
        TrainConfig.SyntheticSpec s = data.synthetic();
        if (s == null || Files.isRegularFile(s.dir().resolve("captions_train.json"))) return;
        out.message("generating " + s.images() + " synthetic images in " + s.dir());
        Synthetic.generate(s.dir(), s.images(), s.seed(), s.size());
    }
}
