package io.xformer.cli;

import io.xformer.train.TrainConfig;
import io.xformer.train.Training;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Training: stage 1 (ITC + ITM + ITG + MAE reconstruction), stage 2 (LM loss through a frozen LLM) or VQA "
                + "fine-tuning; writes DIR/metrics.jsonl, DIR/checkpoints/, DIR/model/.")
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE")
    Path config;

    @Option(names = "--stage", paramLabel = "1|2|vqa", description = "the stage to run (default: the config's \"stages\", else 1)")
    String stage;

    @Option(names = "--output", paramLabel = "DIR",
            description = "run folder (default: runs/train, runs/train-stage2, runs/train-vqa or the stage's \"output\"; "
                    + "a config running several stages writes DIR/stage1, DIR/stage2, DIR/vqa)")
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
        if (stage != null && !Training.STAGES.contains(stage))
            throw new IllegalArgumentException("--stage " + stage + " is not implemented yet (stages: " + String.join(", ", Training.STAGES) + ")");
        TrainConfig cfg = TrainConfig.load(config);
        List<String> stages = stage != null ? List.of(stage) : cfg.stages();
        Path previous = null;
        for (String st : stages) {
            Path out = output == null ? Training.defaultOutput(cfg, st)
                    : stages.size() == 1 ? output : output.resolve(st.equals("vqa") ? "vqa" : "stage" + st);
            if (stages.size() > 1) System.out.println("== stage " + st + " -> " + out);
            Training.Result r;
            try (ProgressReporter progress = new ProgressReporter(System.console() != null)) {
                r = Training.run(cfg, st, out, maxSteps, stopAfter, resume, previous, progress);
            }
            if (r.modelDir() == null) {
                System.out.println("stopped after step " + r.steps() + "; continue with --resume; skipped images: " + r.skipped());
                return 0;
            }
            System.out.println("trained " + r.steps() + " steps; model saved to " + r.modelDir() + "; skipped images: " + r.skipped());
            print(r.evaluation());
            previous = r.modelDir();
        }
        return 0;
    }

    private static void print(Map<String, Double> e) {
        if (e.containsKey("i2t_r1"))
            System.out.printf("held-out retrieval over %.0f pairs: image->text R@1 %.3f, text->image R@1 %.3f (chance %.3f)%n",
                    e.get("pairs"), e.get("i2t_r1"), e.get("t2i_r1"), e.get("chance_r1"));
        if (e.containsKey("val_loss_lm"))
            System.out.printf("held-out LM loss over %.0f captions: %.4f%n", e.get("pairs"), e.get("val_loss_lm"));
        if (e.containsKey("vqa_accuracy"))
            System.out.printf("held-out VQA accuracy over %.0f questions: %.3f (majority answer %.3f, per-question majority %.3f)%n",
                    e.get("questions"), e.get("vqa_accuracy"), e.get("majority_answer_accuracy"), e.get("per_question_majority_accuracy"));
    }
}
