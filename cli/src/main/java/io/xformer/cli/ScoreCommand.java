package io.xformer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.eval.CaptionEval;
import io.xformer.eval.GqaEval;
import io.xformer.eval.RetrievalEval;
import io.xformer.eval.RetrievalScores;
import io.xformer.eval.VqaEval;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code xformer score TASK}: the official scorers on result files, no model needed (EVAL.md). */
@Command(name = "score", mixinStandardHelpOptions = true,
        description = "Score result files with the official metrics (no model needed).",
        subcommands = {ScoreCommand.Vqa.class, ScoreCommand.Gqa.class, ScoreCommand.Caption.class, ScoreCommand.Retrieval.class})
final class ScoreCommand {
    static final ObjectMapper JSON = new ObjectMapper();

    static void print(ObjectNode json, boolean asJson, Map<String, Double> table, String title) throws Exception {
        if (asJson) {
            System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json));
            return;
        }
        System.out.println(title);
        Tables.print(table);
    }

    @Command(name = "vqa", mixinStandardHelpOptions = true,
            description = "VQA accuracy (VQAv2, OK-VQA) of a result file [{question_id, answer}].")
    static final class Vqa implements Callable<Integer> {
        @Option(names = "--questions", required = true, paramLabel = "Q.json", description = "questions JSON (official VQA / GQA format)") Path questions;
        @Option(names = "--annotations", required = true, paramLabel = "A.json", description = "annotations JSON (official VQA format)") Path annotations;
        @Option(names = "--results", required = true, paramLabel = "R.json", description = "results JSON in the official format") Path results;
        @Option(names = "--variant", defaultValue = "lavis",
                description = "lavis (VQA-17 / LAVIS, behind the BLIP-2 numbers) or official (GT-Vision-Lab/VQA 2021); default ${DEFAULT-VALUE}")
        String variant;
        @Option(names = "--json", description = "print the official tool's accuracy dict") boolean json;

        @Override
        public Integer call() throws Exception {
            VqaEval.Result r = VqaEval.evaluate(questions, annotations, results, variant(variant));
            Map<String, Double> t = new LinkedHashMap<>();
            t.put("overall", r.overall());
            r.perAnswerType().forEach((k, v) -> t.put("answer type: " + k, v));
            print(r.toJson(), json, t, "VQA accuracy (" + r.variant().label() + " variant), " + r.perQuestion().size() + " questions");
            return 0;
        }
    }

    static VqaEval.Variant variant(String s) {
        return switch (s) {
            case "lavis" -> VqaEval.Variant.LAVIS;
            case "official" -> VqaEval.Variant.OFFICIAL;
            default -> throw new IllegalArgumentException("--variant must be lavis or official (got '" + s + "')");
        };
    }

    @Command(name = "gqa", mixinStandardHelpOptions = true,
            description = "GQA accuracy (LAVIS HEAD's rule) of a result file [{question_id, pred_ans, gt_ans}].")
    static final class Gqa implements Callable<Integer> {
        @Option(names = "--results", required = true, paramLabel = "R.json", description = "results JSON in the official format") Path results;
        @Option(names = "--questions", paramLabel = "testdev_balanced_questions.json",
                description = "adds the accuracy per types.structural and types.semantic") Path questions;
        @Option(names = "--json", description = "print JSON instead of a table") boolean json;

        @Override
        public Integer call() throws Exception {
            GqaEval.Result r = GqaEval.evaluate(results, questions);
            Map<String, Double> t = new LinkedHashMap<>();
            t.put("acc", r.acc());
            r.structural().forEach((k, v) -> t.put("structural: " + k, v));
            r.semantic().forEach((k, v) -> t.put("semantic: " + k, v));
            print(r.toJson(), json, t, "GQA accuracy, " + r.questions() + " questions");
            return 0;
        }
    }

    @Command(name = "caption", mixinStandardHelpOptions = true,
            description = "BLEU-1..4, CIDEr, ROUGE-L as pycocoevalcap (CoreNLP 3.4.1 PTBTokenizer, GPL, fetched separately).")
    static final class Caption implements Callable<Integer> {
        @Option(names = "--annotations", required = true, paramLabel = "COCO_GT.json", description = "COCO format: images, annotations")
        Path annotations;
        @Option(names = "--results", required = true, paramLabel = "R.json", description = "[{image_id, caption}]") Path results;
        @Option(names = "--json", description = "print JSON instead of a table") boolean json;

        @Override
        public Integer call() throws Exception {
            CaptionEval.Result r = CaptionEval.evaluate(annotations, results);
            print(r.toJson(), json, r.metrics(), "caption metrics, " + r.perImage().size() + " images");
            return 0;
        }
    }

    @Command(name = "retrieval", mixinStandardHelpOptions = true,
            description = "LAVIS retrieval recalls: ITM + ITC on the ITC top-k, -100 elsewhere.")
    static final class Retrieval implements Callable<Integer> {
        @Option(names = "--scores", required = true, paramLabel = "S.json",
                description = "n_images, n_texts, img2txt, txt2img, itc_sim and itm_logit (image x text)") Path scores;
        @Option(names = "--k", paramLabel = "K", description = "re-rank depth (default: the file's k_test, else 128)") Integer k;
        @Option(names = "--json", description = "print JSON instead of a table") boolean json;

        @Override
        public Integer call() throws Exception {
            RetrievalScores s = RetrievalScores.read(scores);
            int kk = k != null ? k : s.kTest() > 0 ? s.kTest() : 128;
            Map<String, Double> m = RetrievalEval.score(s, kk);
            print(RetrievalEval.toJson(m), json, m, "retrieval, " + s.nImages() + " images x " + s.nTexts() + " texts, k = " + kk);
            return 0;
        }
    }
}
