package io.xformer.cli;

import io.xformer.nn.Device;
import io.xformer.nn.dist.ProcessGroup;
import io.xformer.train.TrainConfig;
import io.xformer.train.Training;
import io.xformer.train.World;
import java.nio.file.Files;
import java.time.Duration;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Training: stage 1 (ITC + ITM + ITG + MAE reconstruction), stage 2 (LM loss through a frozen LLM) or VQA "
                + "fine-tuning; writes DIR/metrics.jsonl, DIR/checkpoints/, DIR/model/.")
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "training config (JSON), e.g. configs/tiny.json")
    Path config;

    @Option(names = "--stage", paramLabel = "1|2|vqa", description = "the stage to run (default: the config's \"stages\", else 1)")
    String stage;

    @Option(names = "--output", paramLabel = "DIR",
            description = "run folder (default: runs/train, runs/train-stage2, runs/train-vqa or the stage's \"output\"; "
                    + "a config running several stages writes DIR/stage1, DIR/stage2, DIR/vqa)")
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

    // ---- distributed (issue 10): --nproc spawns local workers; see Launcher ----
    @Option(names = "--nproc", paramLabel = "N", description = "run N local worker processes, one rank each (Gloo on CPU, NCCL on CUDA)")
    Integer nproc;

    @Option(names = "--nnodes", defaultValue = "1", paramLabel = "M", description = "machines in the job, each running --nproc workers (default 1)")
    int nnodes;

    @Option(names = "--node-rank", defaultValue = "0", paramLabel = "K", description = "this machine's index, 0..nnodes-1 (node 0 hosts the rendezvous)")
    int nodeRank;

    @Option(names = "--master-addr", defaultValue = "127.0.0.1", paramLabel = "HOST", description = "node 0's address (default ${DEFAULT-VALUE})")
    String masterAddr;

    @Option(names = "--master-port", paramLabel = "PORT", description = "rendezvous port on node 0 (default: a free port; required with --nnodes > 1)")
    Integer masterPort;

    @Option(names = "--dist-timeout", defaultValue = "600", paramLabel = "SECONDS",
            description = "how long a collective may wait for the other ranks before failing (default ${DEFAULT-VALUE})")
    long distTimeout;

    @Override
    public Integer call() throws Exception {
        if (stage != null && !Training.STAGES.contains(stage))
            throw new CommandLine.ParameterException(spec.commandLine(), "--stage " + stage + " is not implemented (stages: "
                    + String.join(", ", Training.STAGES) + ")");
        if (maxSteps != null && maxSteps < 1)
            throw new CommandLine.ParameterException(spec.commandLine(), "--max-steps must be >= 1, got " + maxSteps);
        if (stopAfter != null && stopAfter < 1)
            throw new CommandLine.ParameterException(spec.commandLine(), "--stop-after must be >= 1, got " + stopAfter);
        if (resume && overwrite)
            throw new CommandLine.ParameterException(spec.commandLine(), "--resume and --overwrite exclude each other");
        if (allowConfigChange && !resume)
            throw new CommandLine.ParameterException(spec.commandLine(), "--allow-config-change only applies with --resume");
        // usage errors are caught above, once, before any worker starts
        if (nproc != null) {
            var launch = new Launcher.Spec(nproc, nnodes, nodeRank, masterAddr, masterPort);
            return Launcher.launch(launch, Launcher.sameJavaCommand(spec.commandLine().getParseResult().originalArgs()), System.out);
        }
        TrainConfig cfg = TrainConfig.load(config);
        // torchrun's variables (set by --nproc, torchrun, a Slurm script) make this process one rank of a job
        Device device = Device.parse(cfg.train().device());
        try (ProcessGroup group = ProcessGroup.fromEnvironment(device, Duration.ofSeconds(distTimeout)).orElse(null)) {
            return train(cfg, World.of(group));
        }
    }

    private int train(TrainConfig cfg, World world) throws Exception {
        List<String> stages = stage != null ? List.of(stage) : cfg.stages();
        Path previous = null;
        for (String st : stages) {
            long started = System.nanoTime();
            Path out = output == null ? Training.defaultOutput(cfg, st)
                    : stages.size() == 1 ? output : output.resolve(st.equals("vqa") ? "vqa" : "stage" + st);
            if (stages.size() > 1 && world.isMain()) System.out.println("== stage " + st + " -> " + out);
            Training.Result r;
            try (ProgressReporter progress = new ProgressReporter(System.console() != null)) {
                r = Training.run(cfg, st, out, maxSteps, stopAfter, resume, overwrite, allowConfigChange, previous, progress, world);
            }
            if (!world.isMain()) {
                previous = r.modelDir();
                if (previous == null) return 0;
                continue;
            }
            System.out.println(lastLine(r, out, (System.nanoTime() - started) / 1e9));
            Double bad = r.evaluation().get("non_finite_similarities");
            if (bad != null && bad > 0)
                System.err.println("xformer: warning: held-out evaluation: " + bad.longValue() + " ITC similarities are NaN or infinite; "
                        + "the retrieval figures are not meaningful");
            if (r.modelDir() == null) return 0;
            previous = r.modelDir();
        }
        return 0;
    }

    /** The last line: time, where everything went, the held-out result. */
    static String lastLine(Training.Result r, Path out, double seconds) {
        Path dir = out.toAbsolutePath().normalize();
        StringBuilder b = new StringBuilder();
        if (r.modelDir() == null) b.append("stopped after step ").append(r.steps()).append(" (continue with --resume)");
        else b.append("trained ").append(r.steps()).append(r.steps() == 1 ? " step" : " steps");
        b.append(String.format(" in %.1f s; skipped images: %d; metrics %s, checkpoints %s", seconds, r.skipped(),
                dir.resolve("metrics.jsonl"), dir.resolve("checkpoints")));
        if (r.modelDir() != null) b.append(", model ").append(r.modelDir().toAbsolutePath().normalize());
        Map<String, Double> e = r.evaluation();
        if (!e.isEmpty() && Files.isRegularFile(dir.resolve("eval.json")))
            b.append(", eval ").append(dir.resolve("eval.json")).append("; ").append(heldOut(e));
        else if (r.modelDir() != null) b.append("; no held-out evaluation (data.val is empty)");
        return b.toString();
    }

    /** The held-out result of a stage: retrieval (stage 1), LM loss (stage 2) or VQA accuracy. */
    static String heldOut(Map<String, Double> e) {
        List<String> parts = new java.util.ArrayList<>();
        if (e.containsKey("i2t_r1"))
            parts.add(String.format("held-out retrieval over %d pairs: image->text R@1 %.3f, text->image R@1 %.3f (chance %.3f)",
                    e.get("pairs").longValue(), e.get("i2t_r1"), e.get("t2i_r1"), e.get("chance_r1")));
        if (e.containsKey("val_loss_lm"))
            parts.add(String.format("held-out LM loss over %d captions: %.4f", e.get("pairs").longValue(), e.get("val_loss_lm")));
        if (e.containsKey("vqa_accuracy"))
            parts.add(String.format("held-out VQA accuracy over %d questions: %.3f (majority answer %.3f, per-question majority %.3f)",
                    e.get("questions").longValue(), e.get("vqa_accuracy"), e.get("majority_answer_accuracy"),
                    e.get("per_question_majority_accuracy")));
        return String.join("; ", parts);
    }
}
