package io.xformer.eval;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.nn.DType;
import io.xformer.nn.Guard;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Query diversity (supplementary §6), as this project reads it: for each image-text pair, the
 * Q x Q cosine similarity between the image queries (the queries-only pass, Z', projected by
 * {@code vision_projection}) and the text queries (the same queries after the joint image-text
 * pass, as ITM runs it, projected the same way). Marginalised by averaging the matrices over all
 * pairs; reported: the mean matrix, its overall mean, diagonal and off-diagonal means, and the
 * maximum of each row (how strongly each image query is echoed by its best text query).
 * Diverse queries show a strong diagonal and low off-diagonal values.
 */
public final class QueryDiversityTask {
    private QueryDiversityTask() {}

    public record Result(String model, int pairs, double[][] matrix, double mean, double diagonalMean, double offDiagonalMean,
                         double[] rowMax, double rowMaxMean) {
        public ObjectNode toJson() {
            ObjectNode o = JsonFiles.JSON.createObjectNode();
            o.put("model", model).put("pairs", pairs).put("queries", matrix.length);
            o.put("mean", mean).put("diagonal_mean", diagonalMean).put("off_diagonal_mean", offDiagonalMean).put("row_max_mean", rowMaxMean);
            ArrayNode rm = o.putArray("row_max");
            for (double v : rowMax) rm.add(v);
            ArrayNode m = o.putArray("matrix");
            for (double[] row : matrix) {
                ArrayNode r = m.addArray();
                for (double v : row) r.add(v);
            }
            return o;
        }
    }

    /** The mean Q x Q matrix over every (image, caption) pair of the data. */
    public static Result compute(Stage1Model m, RetrievalTask.Data d, Progress progress) {
        int[] pairImages = d.txt2img();
        int q = m.model.cfg.numQueryTokens(), bs = m.settings.batchSize();
        double[] sum = new double[q * q];
        try (Scope scope = Scope.open()) {
            Stage1Model.ImageFeatures f = m.images(d.images(), progress);
            for (int start = 0; start < pairImages.length; start += bs) {
                int n = Math.min(bs, pairImages.length - start);
                int[] idx = Arrays.copyOfRange(pairImages, start, start + n);
                try (Scope s = Scope.open(); Guard g = Guard.inferenceMode()) {
                    Tensor txt = m.model.heads.imageFeatures(m.joint(f, idx, d.texts().subList(start, start + n))); // (n, Q, E)
                    Tensor img = f.embeds().indexSelect(0, Torch.tensor(Arrays.stream(idx).asLongStream().toArray(), n)
                            .to(f.embeds().device())); // (n, Q, E)
                    double[] part = img.matmul(txt.transpose(1, 2)).sum(0).to(DType.F64).cpu().toDoubleArray(); // (Q, Q) summed over pairs
                    for (int k = 0; k < sum.length; k++) sum[k] += part[k];
                }
                progress.update("pairs", start + n, pairImages.length);
            }
        }
        int pairs = pairImages.length;
        double[][] mat = new double[q][q];
        double total = 0, diag = 0, rowMaxSum = 0;
        double[] rowMax = new double[q];
        for (int a = 0; a < q; a++) {
            rowMax[a] = Double.NEGATIVE_INFINITY;
            for (int b = 0; b < q; b++) {
                mat[a][b] = sum[a * q + b] / pairs;
                total += mat[a][b];
                if (a == b) diag += mat[a][b];
                rowMax[a] = Math.max(rowMax[a], mat[a][b]);
            }
            rowMaxSum += rowMax[a];
        }
        double off = q > 1 ? (total - diag) / (q * (q - 1.0)) : Double.NaN;
        return new Result(m.dir().toString(), pairs, mat, total / (q * q), diag / q, off, rowMax, rowMaxSum / q);
    }

    /** Writes query_diversity.json ({model, baseline?}) and scores.json; results in the order given (model first). */
    public static TaskOutput write(List<Result> results, ObjectNode settings, java.nio.file.Path outDir) {
        ObjectNode all = JsonFiles.JSON.createObjectNode();
        Map<String, Double> metrics = new LinkedHashMap<>();
        List<String> names = new ArrayList<>(List.of("model", "baseline"));
        for (int i = 0; i < results.size(); i++) {
            Result r = results.get(i);
            all.set(names.get(i), r.toJson());
            metrics.put(names.get(i) + "_mean", r.mean());
            metrics.put(names.get(i) + "_diagonal_mean", r.diagonalMean());
            metrics.put(names.get(i) + "_off_diagonal_mean", r.offDiagonalMean());
            metrics.put(names.get(i) + "_row_max_mean", r.rowMaxMean());
        }
        TaskOutput.writeJson(outDir.resolve("query_diversity.json"), all);
        settings.put("reading", "mean over image-text pairs of cos(vision_proj(image query a), vision_proj(text-conditioned query b)); "
                + "image queries from the queries-only pass, text queries from the joint (ITM) pass");
        return TaskOutput.write(outDir, "query-diversity", settings, metrics, null);
    }
}
