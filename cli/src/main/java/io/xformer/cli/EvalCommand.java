package io.xformer.cli;

import io.xformer.eval.ClassifyTask;
import io.xformer.eval.Progress;
import io.xformer.eval.QueryDiversityTask;
import io.xformer.eval.RetrievalTask;
import io.xformer.eval.Stage1Model;
import io.xformer.eval.SugarCrepeTask;
import io.xformer.eval.TaskOutput;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code xformer eval TASK}: zero-shot evaluation of a checkpoint; predictions, scores.json and a table in --out. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Zero-shot evaluation (stage-1 folder: retrieval, sugarcrepe, classify, query-diversity; stage-2 folder: "
                + "vqav2, okvqa, gqa, coco-caption, nocaps, oc, mci): predictions and scores.json in --out, a table on stdout.",
        subcommands = {EvalCommand.Retrieval.class, EvalCommand.SugarCrepe.class, EvalCommand.Classify.class,
            EvalCommand.QueryDiversity.class, EvalGenerationCommands.Vqav2.class, EvalGenerationCommands.OkVqa.class, EvalGenerationCommands.Gqa.class,
            EvalGenerationCommands.CocoCaption.class, EvalGenerationCommands.NoCaps.class, EvalGenerationCommands.Oc.class,
            EvalGenerationCommands.Mci.class})
final class EvalCommand {
    /** What every stage-1 task takes. */
    static final class Stage1Options {
        @Mixin
        ModelOptions model;

        @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json (default: DIR/tokenizer.json)")
        Path tokenizer;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "folder for the predictions (official result format), scores.json and figures")
        Path out;

        @Option(names = "--batch-size", defaultValue = "32", description = "images per forward pass (default: ${DEFAULT-VALUE})")
        int batchSize;

        @Option(names = "--max-text-len", defaultValue = "35", description = "tokens per text (LAVIS retrieval: ${DEFAULT-VALUE})")
        int maxTextLen;

        @Option(names = "--max-words", defaultValue = "50", description = "words kept by blip_caption cleaning (default ${DEFAULT-VALUE})")
        int maxWords;

        @Option(names = "--seed", defaultValue = "0", description = "seed of the MAE masking noise (xformer variant)")
        long seed;

        @Option(names = "--json", description = "print scores.json instead of a table")
        boolean json;

        Stage1Model load(Path dir) {
            if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1");
            return Stage1Model.load(dir, tokenizer, new Stage1Model.Settings(batchSize, maxTextLen, maxWords, seed), model.device(), model.dtype);
        }

        void report(TaskOutput o) throws Exception {
            printScores(o, model.model, json);
        }

        /** Loads the model, runs one task on it with a progress bar, prints its scores. */
        int run(Stage1Task task) throws Exception {
            Progress p = CliProgress.forTerminal();
            try (Stage1Model m = load(model.model)) {
                TaskOutput out = task.run(m, p);
                CliProgress.done(p);
                report(out);
            }
            return 0;
        }
    }

    interface Stage1Task {
        TaskOutput run(Stage1Model m, Progress p) throws Exception;
    }

    /** A task's scores.json as is (json), or a line naming the task and model and a table. */
    static void printScores(TaskOutput o, Path model, boolean json) throws Exception {
        if (json) {
            System.out.println(Files.readString(o.scoresFile()));
            return;
        }
        System.out.println(o.task() + " (" + model + "), scores in " + o.scoresFile());
        Tables.print(o.metrics());
    }

    static Path imagesRoot(Path images, Path data) {
        return images != null ? images : data.toAbsolutePath().getParent();
    }

    @Command(name = "retrieval", mixinStandardHelpOptions = true,
            description = "Image-text retrieval (LAVIS protocol): ITC over everything, ITM re-rank of each query's top k_test.")
    static final class Retrieval implements Callable<Integer> {
        @Mixin Stage1Options o;
        @Option(names = "--data", required = true, paramLabel = "TEST.json", description = "LAVIS test JSON [{image, caption: [...]}]") Path data;
        @Option(names = "--images", paramLabel = "ROOT", description = "image root (default: the folder of --data)") Path images;
        @Option(names = "--k-test", defaultValue = "128", description = "re-rank depth (default ${DEFAULT-VALUE}; clamped to the candidates)") int kTest;

        @Override
        public Integer call() throws Exception {
            return o.run((m, p) -> RetrievalTask.run(m, RetrievalTask.Data.read(data, imagesRoot(images, data)), kTest, o.out, p));
        }
    }

    @Command(name = "sugarcrepe", mixinStandardHelpOptions = true,
            description = "SugarCrepe: positive vs negative caption by ITM match probability, accuracy per category.")
    static final class SugarCrepe implements Callable<Integer> {
        @Mixin Stage1Options o;
        @Option(names = "--data", required = true, paramLabel = "FILE|DIR",
                description = "SugarCrepe category file(s) {id: {filename, caption, negative_caption}}") Path data;
        @Option(names = "--images", required = true, paramLabel = "ROOT", description = "where the filenames live (COCO val2017)") Path images;

        @Override
        public Integer call() throws Exception {
            return o.run((m, p) -> SugarCrepeTask.run(m, data, images, o.out, p));
        }
    }

    @Command(name = "classify", mixinStandardHelpOptions = true,
            description = "Zero-shot classification of DIR/<class>/*.png|jpg by ITC against a prompt per class; top-1 / top-5.")
    static final class Classify implements Callable<Integer> {
        @Mixin Stage1Options o;
        @Option(names = "--data", required = true, paramLabel = "DIR", description = "image folder with one sub-folder per class") Path data;
        @Option(names = "--prompt", defaultValue = ClassifyTask.PROMPT, description = "{} = class name (default \"${DEFAULT-VALUE}\")") String prompt;

        @Override
        public Integer call() throws Exception {
            return o.run((m, p) -> ClassifyTask.run(m, data, prompt, o.out, p));
        }
    }

    @Command(name = "query-diversity", mixinStandardHelpOptions = true,
            description = "Supplementary §6: QxQ image-query / text-query cosine similarity averaged over image-text pairs, "
                    + "numbers and a heatmap PNG per model.")
    static final class QueryDiversity implements Callable<Integer> {
        @Mixin Stage1Options o;
        @Option(names = "--baseline", paramLabel = "DIR", description = "a second stage-1 folder (e.g. BLIP-2) drawn beside it") Path baseline;
        @Option(names = "--data", required = true, paramLabel = "ANN.json", description = "LAVIS JSON [{image, caption}]") Path data;
        @Option(names = "--images", paramLabel = "ROOT", description = "folder the data file's image paths are relative to (default: beside the data file)") Path images;

        @Override
        public Integer call() throws Exception {
            RetrievalTask.Data d = RetrievalTask.Data.read(data, imagesRoot(images, data));
            List<QueryDiversityTask.Result> results = new ArrayList<>();
            Progress p = CliProgress.forTerminal();
            com.fasterxml.jackson.databind.node.ObjectNode settings = null;
            List<Path> models = baseline == null ? List.of(o.model.model) : List.of(o.model.model, baseline);
            for (Path dir : models)
                try (Stage1Model m = o.load(dir)) {
                    results.add(QueryDiversityTask.compute(m, d, p));
                    if (settings == null) settings = m.describe();
                }
            CliProgress.done(p);
            Files.createDirectories(o.out);
            if (baseline != null) settings.put("baseline", baseline.toString());
            String[] names = {"model", "baseline"};
            for (int i = 0; i < results.size(); i++) {
                Path png = o.out.resolve("query_diversity_" + names[i] + ".png");
                Heatmap.write(results.get(i).matrix(), "query similarity: " + models.get(i).getFileName() + " (" + results.get(i).pairs()
                        + " pairs)", "text-conditioned query", "image query", png);
                settings.put(names[i] + "_png", png.getFileName().toString());
            }
            o.report(QueryDiversityTask.write(results, settings, o.out));
            return 0;
        }
    }
}
