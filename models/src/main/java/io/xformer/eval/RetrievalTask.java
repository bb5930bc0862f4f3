package io.xformer.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.nn.Scope;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Zero-shot image-text retrieval as LAVIS's {@code compute_sim_matrix} (EVAL.md §5): ITC over
 * every image x text, ITM re-rank of each query's ITC top-{@code k_test}, recalls as
 * {@code RetrievalTask._report_metrics}. Input: LAVIS's test JSON
 * {@code [{"image": "rel/path", "caption": ["...", ...]}]} (texts numbered image by image).
 * Writes {@code retrieval_scores.json} (the file {@code score retrieval} reads) and {@code scores.json}.
 */
public final class RetrievalTask {
    public static final int K_TEST = 128;

    private RetrievalTask() {}

    /** The test set: images, texts, and which texts belong to which image. */
    public record Data(List<Path> images, List<String> texts, int[][] img2txt, int[] txt2img) {
        public static Data read(Path annotations, Path imageRoot) {
            JsonNode root = JsonFiles.array(JsonFiles.read(annotations, "annotations"), annotations.toString());
            List<Path> images = new ArrayList<>();
            List<String> texts = new ArrayList<>();
            List<int[]> i2t = new ArrayList<>();
            List<Integer> t2i = new ArrayList<>();
            for (int i = 0; i < root.size(); i++) {
                String where = annotations + ": [" + i + "]";
                images.add(imageRoot.resolve(JsonFiles.text(root.get(i), "image", where)));
                JsonNode cap = JsonFiles.field(root.get(i), "caption", where);
                List<String> caps = new ArrayList<>();
                if (cap.isArray()) for (JsonNode c : cap) caps.add(c.asText());
                else caps.add(cap.asText());
                if (caps.isEmpty()) throw new IllegalArgumentException(where + ": no caption");
                int[] ids = new int[caps.size()];
                for (int k = 0; k < caps.size(); k++) {
                    ids[k] = texts.size();
                    texts.add(caps.get(k));
                    t2i.add(i);
                }
                i2t.add(ids);
            }
            if (images.size() < 2) throw new IllegalArgumentException(annotations + ": retrieval needs at least 2 images");
            return new Data(images, texts, i2t.toArray(int[][]::new), t2i.stream().mapToInt(Integer::intValue).toArray());
        }
    }

    /** Runs the protocol; kTest larger than the candidates is clamped (LAVIS would fail) and said so in scores.json. */
    public static TaskOutput run(Stage1Model m, Data d, int kTest, Path outDir, Progress progress) {
        int k = Math.min(kTest, Math.min(d.images().size(), d.texts().size()));
        RetrievalScores s;
        try (Scope scope = Scope.open()) {
            Stage1Model.ImageFeatures f = m.images(d.images(), progress);
            double[][] itc = m.itc(f, m.texts(d.texts(), progress));
            // ITM on the union of both directions' top-k pairs (the same pair scores the same both ways)
            double[][] itm = new double[d.images().size()][d.texts().size()];
            for (double[] row : itm) Arrays.fill(row, Double.NaN);
            boolean[][] need = new boolean[itm.length][itm[0].length];
            for (int i = 0; i < itc.length; i++) for (int t : RetrievalEval.topk(itc[i], k)) need[i][t] = true;
            for (int t = 0; t < d.texts().size(); t++) {
                double[] col = new double[itc.length];
                for (int i = 0; i < itc.length; i++) col[i] = itc[i][t];
                for (int i : RetrievalEval.topk(col, k)) need[i][t] = true;
            }
            List<Integer> pi = new ArrayList<>();
            List<String> pt = new ArrayList<>();
            List<Integer> ptIdx = new ArrayList<>();
            for (int i = 0; i < need.length; i++)
                for (int t = 0; t < need[i].length; t++)
                    if (need[i][t]) {
                        pi.add(i);
                        pt.add(d.texts().get(t));
                        ptIdx.add(t);
                    }
            double[][] logits = m.itm(f, pi.stream().mapToInt(Integer::intValue).toArray(), pt, progress);
            for (int p = 0; p < logits.length; p++) itm[pi.get(p)][ptIdx.get(p)] = logits[p][1];
            s = new RetrievalScores(d.images().size(), d.texts().size(), d.img2txt(), d.txt2img(), itc, itm, k);
        }
        Map<String, Double> metrics = new LinkedHashMap<>(RetrievalEval.score(s, k));
        int nI = d.images().size(), nT = d.texts().size();
        // chance: a random ranking puts one of the image's g texts first with probability about g / n_texts
        metrics.put("chance_txt_r1", 100.0 * Arrays.stream(d.img2txt()).mapToDouble(a -> (double) a.length / nT).average().orElse(0));
        metrics.put("chance_img_r1", 100.0 / nI);
        Path scoresFile = outDir.resolve("retrieval_scores.json");
        TaskOutput.writeJson(scoresFile, s.toJson());
        ObjectNode settings = m.describe();
        settings.put("k_test", kTest).put("k_used", k);
        if (k < kTest) settings.put("note", "k_test " + kTest + " clamped to " + k + " (the number of candidates); LAVIS has no clamping");
        settings.put("itc", "max over queries of cosine(normalize(vision_proj(q)), normalize(text_proj(cls))), no temperature");
        settings.put("itm", "itm_head logit of class 1 averaged over queries, added to ITC on the top-k, -100 elsewhere");
        settings.put("scores_file", scoresFile.getFileName().toString());
        settings.put("images", nI).put("texts", nT);
        return TaskOutput.write(outDir, "retrieval", settings, metrics, null);
    }
}
