package io.xformer.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The retrieval scores file ({@code S.json}) that {@code eval retrieval} writes and
 * {@code score retrieval} reads: {@code n_images}, {@code n_texts}, {@code img2txt} (texts of
 * each image), {@code txt2img} (the image of each text), {@code itc_sim} and {@code itm_logit}
 * (image x text). ITM is only computed where a top-k re-rank needs it; other entries are
 * {@code null} (NaN here). {@code k_test}: the k the ITM entries were computed for (0: unknown).
 */
public record RetrievalScores(int nImages, int nTexts, int[][] img2txt, int[] txt2img, double[][] itcSim, double[][] itmLogit, int kTest) {
    public RetrievalScores {
        if (img2txt.length != nImages || txt2img.length != nTexts || itcSim.length != nImages || itmLogit.length != nImages)
            throw new IllegalArgumentException("retrieval scores: sizes disagree with n_images = " + nImages + ", n_texts = " + nTexts);
        for (int t = 0; t < nTexts; t++)
            if (txt2img[t] < 0 || txt2img[t] >= nImages) throw new IllegalArgumentException("txt2img[" + t + "] = " + txt2img[t] + " is out of range");
        for (int i = 0; i < nImages; i++) {
            if (itcSim[i].length != nTexts || itmLogit[i].length != nTexts)
                throw new IllegalArgumentException("retrieval scores: row " + i + " of itc_sim / itm_logit does not have n_texts = " + nTexts + " entries");
            if (img2txt[i].length == 0) throw new IllegalArgumentException("img2txt[" + i + "] is empty");
            for (int t : img2txt[i])
                if (t < 0 || t >= nTexts) throw new IllegalArgumentException("img2txt[" + i + "] holds " + t + ", out of range");
        }
    }

    public static RetrievalScores read(Path file) {
        JsonNode n = JsonFiles.read(file, "retrieval scores");
        String w = file.toString();
        int ni = JsonFiles.field(n, "n_images", w).asInt(), nt = JsonFiles.field(n, "n_texts", w).asInt();
        JsonNode i2t = JsonFiles.array(JsonFiles.field(n, "img2txt", w), w + ": img2txt");
        int[][] img2txt = new int[i2t.size()][];
        for (int i = 0; i < i2t.size(); i++) {
            JsonNode row = JsonFiles.array(i2t.get(i), w + ": img2txt[" + i + "]");
            img2txt[i] = new int[row.size()];
            for (int k = 0; k < row.size(); k++) img2txt[i][k] = row.get(k).asInt();
        }
        JsonNode t2i = JsonFiles.array(JsonFiles.field(n, "txt2img", w), w + ": txt2img");
        int[] txt2img = new int[t2i.size()];
        for (int t = 0; t < t2i.size(); t++) txt2img[t] = t2i.get(t).asInt();
        try {
            return new RetrievalScores(ni, nt, img2txt, txt2img, matrix(n, "itc_sim", w, false), matrix(n, "itm_logit", w, true),
                    n.path("k_test").asInt(0));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(w + ": " + e.getMessage(), e);
        }
    }

    private static double[][] matrix(JsonNode n, String name, String w, boolean nullable) {
        JsonNode m = JsonFiles.array(JsonFiles.field(n, name, w), w + ": " + name);
        double[][] out = new double[m.size()][];
        for (int i = 0; i < m.size(); i++) {
            JsonNode row = JsonFiles.array(m.get(i), w + ": " + name + "[" + i + "]");
            out[i] = new double[row.size()];
            for (int k = 0; k < row.size(); k++) {
                JsonNode v = row.get(k);
                if (v.isNull() && nullable) out[i][k] = Double.NaN;
                else if (v.isNumber()) out[i][k] = v.asDouble();
                else throw new IllegalArgumentException(w + ": " + name + "[" + i + "][" + k + "] is not a number");
            }
        }
        return out;
    }

    public ObjectNode toJson() {
        ObjectNode o = JsonFiles.JSON.createObjectNode();
        o.put("n_images", nImages);
        o.put("n_texts", nTexts);
        if (kTest > 0) o.put("k_test", kTest);
        ArrayNode i2t = o.putArray("img2txt");
        for (int[] row : img2txt) {
            ArrayNode a = i2t.addArray();
            for (int t : row) a.add(t);
        }
        ArrayNode t2i = o.putArray("txt2img");
        for (int i : txt2img) t2i.add(i);
        put(o.putArray("itc_sim"), itcSim);
        put(o.putArray("itm_logit"), itmLogit);
        return o;
    }

    private static void put(ArrayNode a, double[][] m) {
        for (double[] row : m) {
            ArrayNode r = a.addArray();
            for (double v : row) {
                if (Double.isNaN(v)) r.addNull();
                else r.add(v);
            }
        }
    }

    public void write(Path file) throws IOException {
        JsonFiles.JSON.writeValue(file.toFile(), toJson());
    }
}
