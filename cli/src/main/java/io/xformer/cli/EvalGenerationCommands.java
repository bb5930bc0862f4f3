package io.xformer.cli;

import io.xformer.eval.Answerer;
import io.xformer.eval.CaptionTask;
import io.xformer.eval.CountingTask;
import io.xformer.eval.GqaTask;
import io.xformer.eval.Lemmatizer;
import io.xformer.eval.Progress;
import io.xformer.eval.TaskOutput;
import io.xformer.eval.VisualLmAnswerer;
import io.xformer.eval.VqaTask;
import io.xformer.models.VisualLm;
import io.xformer.nn.Scope;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** `xformer eval vqav2|gqa|coco-caption|nocaps|oc|mci`: generation tasks on a stage-2 folder through the Answerer seam. */
final class EvalGenerationCommands {
    private EvalGenerationCommands() {}

    /** What every generation task takes. */
    static final class Options {
        @Mixin
        VisualLmOptions lm;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "folder for the predictions (official result format), scores.json and figures")
        Path out;

        @Option(names = "--images", paramLabel = "ROOT", description = "image root (default: the folder of the data file)")
        Path images;

        @Option(names = "--batch-size", defaultValue = "64", description = "prompts handed to the model at a time (default ${DEFAULT-VALUE})")
        int batchSize;

        @Option(names = "--prompt", paramLabel = "TEXT",
                description = "override the prompt (VQA tasks: must hold {} for the question; captions: the text generation starts from)")
        String prompt;

        /** The task's decoding settings with --prompt applied. */
        VisualLm.Settings settings(VisualLm.Settings defaults) {
            if (prompt == null) return defaults;
            if (defaults.prompt().contains("{}") && !prompt.contains("{}"))
                throw new IllegalArgumentException("--prompt must contain {} for the question (got '" + prompt + "')");
            return new VisualLm.Settings(prompt, defaults.numBeams(), defaults.maxNewTokens(), defaults.minNewTokens(), defaults.lengthPenalty());
        }

        Path root(Path data) {
            return images != null ? images : data.toAbsolutePath().getParent();
        }

        /** Opens the model, runs the task with it as the Answerer, prints the table or scores.json. */
        int run(VisualLm.Settings settings, java.util.function.BiFunction<Answerer, Progress, TaskOutput> task) throws Exception {
            Progress p = CliProgress.forTerminal();
            TaskOutput o;
            try (Scope s = Scope.open(); VisualLmOptions.Session session = lm.open()) {
                o = task.apply(new VisualLmAnswerer(session.lm(), settings), p);
            }
            CliProgress.done(p);
            EvalCommand.printScores(o, lm.model.model, lm.json);
            return 0;
        }
    }

    @Command(name = "vqav2", mixinStandardHelpOptions = true,
            description = "VQAv2 (official question / annotation JSON): answers in the official result format, VQA accuracy.")
    static final class Vqav2 implements Callable<Integer> {
        @Mixin Options o;
        @Option(names = "--questions", required = true, paramLabel = "Q.json", description = "questions JSON (official VQA / GQA format)") Path questions;
        @Option(names = "--annotations", paramLabel = "A.json", description = "scores the answers when given") Path annotations;
        @Option(names = "--variant", defaultValue = "lavis", description = "lavis or official (default ${DEFAULT-VALUE})") String variant;

        @Override
        public Integer call() throws Exception {
            VisualLm.Settings s = o.settings(VisualLm.Settings.VQA);
            return o.run(s, (a, p) -> VqaTask.run(a, questions, annotations, o.root(questions), s.prompt(), ScoreCommand.variant(variant),
                    o.batchSize, o.out, p));
        }
    }

    @Command(name = "okvqa", mixinStandardHelpOptions = true,
            description = "OK-VQA (official format): as vqav2, answers lemmatised (CoreNLP instead of LAVIS's spaCy); both accuracies.")
    static final class OkVqa implements Callable<Integer> {
        @Mixin Options o;
        @Option(names = "--questions", required = true, paramLabel = "Q.json", description = "questions JSON (official VQA / GQA format)") Path questions;
        @Option(names = "--annotations", paramLabel = "A.json", description = "annotations JSON (official VQA format)") Path annotations;
        @Option(names = "--variant", defaultValue = "lavis", description = "lavis or official (default ${DEFAULT-VALUE})") String variant;

        @Override
        public Integer call() throws Exception {
            VisualLm.Settings s = o.settings(VisualLm.Settings.VQA);
            Lemmatizer lemmatizer = Lemmatizer.get();
            return o.run(s, (a, p) -> VqaTask.run("okvqa", a, questions, annotations, o.root(questions), s.prompt(),
                    ScoreCommand.variant(variant), lemmatizer, o.batchSize, o.out, p));
        }
    }

    @Command(name = "gqa", mixinStandardHelpOptions = true, description = "GQA (testdev balanced questions JSON): LAVIS HEAD's accuracy with the type breakdown.")
    static final class Gqa implements Callable<Integer> {
        @Mixin Options o;
        @Option(names = "--questions", required = true, paramLabel = "Q.json", description = "questions JSON (official VQA / GQA format)") Path questions;

        @Override
        public Integer call() throws Exception {
            VisualLm.Settings s = o.settings(VisualLm.Settings.VQA);
            return o.run(s, (a, p) -> GqaTask.run(a, questions, o.root(questions), s.prompt(), o.batchSize, o.out, p));
        }
    }

    @Command(name = "coco-caption", mixinStandardHelpOptions = true,
            description = "Captioning on a COCO-format GT file: prompt \"a photo of\", beam 5, 8-30 tokens; BLEU, CIDEr, ROUGE-L.")
    static final class CocoCaption implements Callable<Integer> {
        @Mixin Options o;
        @Option(names = "--annotations", required = true, paramLabel = "COCO_GT.json", description = "ground-truth captions in COCO format (images, annotations)") Path annotations;

        @Override
        public Integer call() throws Exception {
            VisualLm.Settings s = o.settings(VisualLm.Settings.CAPTION);
            return o.run(s, (a, p) -> CaptionTask.run(a, annotations, o.root(annotations), s.prompt(), o.batchSize, o.out, p));
        }
    }

    @Command(name = "nocaps", mixinStandardHelpOptions = true,
            description = "NoCaps val in COCO format: LAVIS's NoCaps settings (beam 5, 10-80 tokens, length penalty 1).")
    static final class NoCaps implements Callable<Integer> {
        static final VisualLm.Settings NOCAPS = new VisualLm.Settings("a photo of", 5, 80, 10, 1.0);
        @Mixin Options o;
        @Option(names = "--annotations", required = true, paramLabel = "NOCAPS_GT.json", description = "NoCaps ground-truth captions in COCO format") Path annotations;

        @Override
        public Integer call() throws Exception {
            VisualLm.Settings s = o.settings(NOCAPS);
            return o.run(s, (a, p) -> CaptionTask.run(a, annotations, o.root(annotations), s.prompt(), o.batchSize, o.out, p));
        }
    }

    @Command(name = "oc", mixinStandardHelpOptions = true,
            description = "Object counting: [{image, question | object, answer}], accuracy and the majority baseline.")
    static final class Oc implements Callable<Integer> {
        @Mixin Options o;
        @Option(names = "--data", required = true, paramLabel = "FILE", description = "questions file in the documented OC / MCI JSON format (see README)") Path data;

        @Override
        public Integer call() throws Exception {
            VisualLm.Settings s = o.settings(VisualLm.Settings.VQA);
            return o.run(s, (a, p) -> CountingTask.run(a, CountingTask.Kind.OC, data, o.root(data), s.prompt(), o.batchSize, o.out, p));
        }
    }

    @Command(name = "mci", mixinStandardHelpOptions = true,
            description = "Multi-class identification: [{image, question | object, answer}], accuracy and the majority baseline.")
    static final class Mci implements Callable<Integer> {
        @Mixin Options o;
        @Option(names = "--data", required = true, paramLabel = "FILE", description = "questions file in the documented OC / MCI JSON format (see README)") Path data;

        @Override
        public Integer call() throws Exception {
            VisualLm.Settings s = o.settings(VisualLm.Settings.VQA);
            return o.run(s, (a, p) -> CountingTask.run(a, CountingTask.Kind.MCI, data, o.root(data), s.prompt(), o.batchSize, o.out, p));
        }
    }
}
