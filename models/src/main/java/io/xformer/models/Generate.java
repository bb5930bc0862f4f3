package io.xformer.models;

import io.xformer.nn.DType;
import io.xformer.nn.Guard;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import java.util.Arrays;

/**
 * Greedy and beam-search decoding with the semantics of transformers' {@code generate}
 * (5.x): the prompt is given as ids plus its embeddings (so image queries can stand at
 * placeholder positions), sequences come back as prompt + new tokens, finished rows are
 * padded, and beam search follows the vectorised {@code _beam_search} step by step (top 2K
 * continuations, running beams without the ones that just finished, finished beams merged by
 * score / len^length_penalty, the same early-stop heuristic, cache reordering). Beam
 * bookkeeping runs on the host in float32, as HF's does on the device.
 */
public final class Generate {
    private Generate() {}

    public record Options(int numBeams, int maxNewTokens, int minNewTokens, double lengthPenalty, long eosTokenId,
                          long padTokenId, boolean earlyStopping) {
        public Options {
            if (numBeams < 1) throw new IllegalArgumentException("num_beams must be >= 1");
            if (maxNewTokens < 1) throw new IllegalArgumentException("max_new_tokens must be >= 1");
        }
    }

    /**
     * What greedy and beam search drive: a first pass over the inputs, then one token per
     * decoding row and step, with a cache that beam search reorders. Decoding rows are batch
     * rows, or batch rows repeated num_beams times (row r*K+j is beam j of input r).
     */
    public interface Decoder extends AutoCloseable {
        /** Logits (N, T, V) of the first pass; rows (N) int64 picks the input of each decoding row, null = one each. */
        Tensor start(Tensor rows);

        /** Logits (N, 1, V) after one more token per decoding row; ids (N, 1). */
        Tensor step(Tensor ids);

        /** Keeps decoding rows {@code index} (N) of the cache, in that order. */
        void reorder(Tensor index);

        @Override
        void close();
    }

    /** OPT on prompt embeddings (B, T, D) with an attention mask (B, T) or null. */
    private static final class OptDecoder implements Decoder {
        private final Opt lm;
        private final Tensor embeds, mask;
        private final Opt.Cache cache = new Opt.Cache();

        OptDecoder(Opt lm, Tensor embeds, Tensor mask) {
            this.lm = lm;
            this.embeds = embeds;
            this.mask = mask;
        }

        public Tensor start(Tensor rows) {
            if (rows == null) return lm.forward(embeds, mask, cache);
            return lm.forward(embeds.indexSelect(0, rows), mask == null ? null : mask.indexSelect(0, rows), cache);
        }

        public Tensor step(Tensor ids) {
            return lm.forward(lm.embed(ids), Torch.ones(DType.I64, ids.device(), ids.size(0), 1), cache);
        }

        public void reorder(Tensor index) {
            cache.select(index);
        }

        public void close() {
            cache.close();
        }
    }

    /** Returns (B, prompt + generated) int64 sequences. promptEmbeds (B, T, D) must embed promptIds. */
    public static Tensor generate(Opt lm, Tensor promptIds, Tensor promptEmbeds, Tensor attentionMask, Options o) {
        try (Guard g = Guard.inferenceMode(); Decoder d = new OptDecoder(lm, promptEmbeds, attentionMask)) {
            return generate(d, promptIds, o, o.padTokenId);
        }
    }

    /**
     * Greedy (num_beams 1) or beam search over any decoder. promptIds (B, T): the tokens the
     * output starts with (the decoder start token for an encoder-decoder); beamFill: the token
     * after a finished beam's end in the returned sequences (greedy pads with pad_token_id).
     * Call inside inference mode.
     */
    public static Tensor generate(Decoder d, Tensor promptIds, Options o, long beamFill) {
        return o.numBeams == 1 ? greedy(d, promptIds, o) : beam(d, promptIds, o, beamFill);
    }

    private static float[] lastLogProbs(Tensor logits, boolean logSoftmax, int step, Options o) {
        try (Scope s = Scope.open()) {
            Tensor last = logits.select(1, logits.size(1) - 1).to(DType.F32);
            if (logSoftmax) last = last.logSoftmax(-1);
            float[] v = last.toFloatArray();
            if (step < o.minNewTokens && o.eosTokenId >= 0) {
                // MinNewTokensLengthLogitsProcessor
                int vocab = (int) last.size(1);
                for (int r = 0; r < v.length / vocab; r++) v[r * vocab + (int) o.eosTokenId] = Float.NEGATIVE_INFINITY;
            }
            return v;
        }
    }

    private static Tensor greedy(Decoder d, Tensor promptIds, Options o) {
        int b = (int) promptIds.size(0), t = (int) promptIds.size(1);
        long[] prompt = promptIds.toLongArray();
        long[][] out = new long[b][];
        for (int i = 0; i < b; i++) out[i] = Arrays.copyOfRange(prompt, i * t, (i + 1) * t);
        boolean[] unfinished = new boolean[b];
        Arrays.fill(unfinished, true);
        int generated = 0;
        try (Scope s = Scope.open()) {
            Tensor logits = d.start(null);
            for (int step = 0; step < o.maxNewTokens; step++) {
                float[] scores = lastLogProbs(logits, false, step, o);
                int vocab = scores.length / b;
                long[] next = new long[b];
                boolean any = false;
                for (int i = 0; i < b; i++) {
                    int best = 0;
                    for (int v = 1; v < vocab; v++) if (scores[i * vocab + v] > scores[i * vocab + best]) best = v;
                    next[i] = unfinished[i] ? best : o.padTokenId;
                    out[i] = append(out[i], next[i]);
                    if (next[i] == o.eosTokenId) unfinished[i] = false;
                    any |= unfinished[i];
                }
                generated++;
                if (!any || step == o.maxNewTokens - 1) break;
                try (Scope st = Scope.open()) {
                    Tensor ids = Torch.tensor(next, b, 1).to(promptIds.device());
                    logits = st.keep(d.step(ids));
                }
            }
        }
        return pack(out, b, t + generated, promptIds);
    }

    private static long[] append(long[] a, long v) {
        long[] r = Arrays.copyOf(a, a.length + 1);
        r[a.length] = v;
        return r;
    }

    private static Tensor pack(long[][] rows, int b, int len, Tensor like) {
        long[] flat = new long[b * len];
        for (int i = 0; i < b; i++) System.arraycopy(rows[i], 0, flat, i * len, len);
        return Torch.tensor(flat, b, len).to(like.device());
    }

    private static final float NEG = -1.0e9f;

    private static Tensor beam(Decoder dec, Tensor promptIds, Options o, long fill) {
        final int b = (int) promptIds.size(0), k = o.numBeams, t = (int) promptIds.size(1);
        final int maxLen = t + o.maxNewTokens, keep = 2 * k; // max(2, 1 + n_eos) * num_beams with one EOS id
        long[] prompt = promptIds.toLongArray();
        long[][][] running = new long[b][k][], finished = new long[b][k][];
        float[][] runScore = new float[b][k], finScore = new float[b][k];
        int[][] finGen = new int[b][k]; // generated length of each finished slot (for the final crop)
        boolean[][] finDone = new boolean[b][k];
        boolean[] unsatisfied = new boolean[b];
        for (int i = 0; i < b; i++) {
            long[] p = Arrays.copyOfRange(prompt, i * t, (i + 1) * t);
            for (int j = 0; j < k; j++) {
                running[i][j] = p;
                finished[i][j] = p;
                runScore[i][j] = j == 0 ? 0 : NEG;
                finScore[i][j] = NEG;
            }
            unsatisfied[i] = true;
        }
        try (Scope s = Scope.open()) {
            // every prompt row repeated num_beams times
            long[] rep = new long[b * k];
            for (int i = 0; i < b * k; i++) rep[i] = i / k;
            Tensor logits = dec.start(Torch.tensor(rep, b * k).to(promptIds.device()));
            int cur = t;
            while (true) {
                float[] lp = lastLogProbs(logits, true, cur - t, o);
                int vocab = lp.length / (b * k);
                long[] reorder = new long[b * k], nextTok = new long[b * k];
                boolean allHit = true;
                for (int i = 0; i < b; i++) {
                    // 1. top 2K continuations of (beam score + log p) over beams x vocab
                    float[] flat = new float[k * vocab];
                    for (int j = 0; j < k; j++)
                        for (int v = 0; v < vocab; v++) flat[j * vocab + v] = lp[(i * k + j) * vocab + v] + runScore[i][j];
                    int[] top = topk(flat, keep);
                    float[] cScore = new float[keep];
                    long[][] cSeq = new long[keep][];
                    int[] cBeam = new int[keep];
                    boolean[] hit = new boolean[keep];
                    for (int c = 0; c < keep; c++) {
                        cScore[c] = flat[top[c]];
                        cBeam[c] = top[c] / vocab;
                        long tok = top[c] % vocab;
                        cSeq[c] = append(running[i][cBeam[c]], tok);
                        hit[c] = tok == o.eosTokenId || cur + 1 >= maxLen;
                        if (c < k) allHit &= hit[c];
                    }
                    // 2. running beams for the next step: the best K that did not just finish
                    float[] runCand = new float[keep];
                    for (int c = 0; c < keep; c++) runCand[c] = cScore[c] + (hit[c] ? NEG : 0f);
                    int[] nextRun = topk(runCand, k);
                    long[][] newRunning = new long[k][];
                    float[] newRunScore = new float[k];
                    for (int j = 0; j < k; j++) {
                        int c = nextRun[j];
                        newRunning[j] = cSeq[c];
                        newRunScore[j] = runCand[c];
                        reorder[i * k + j] = (long) i * k + cBeam[c];
                        nextTok[i * k + j] = cSeq[c][cSeq[c].length - 1];
                    }
                    // 3. finished beams: merge the old K with the top-K candidates that just finished
                    boolean full = true;
                    for (boolean d : finDone[i]) full &= d;
                    float[] merged = new float[k + keep];
                    for (int j = 0; j < k; j++) merged[j] = finScore[i][j];
                    float norm = (float) Math.pow(cur + 1 - t, o.lengthPenalty);
                    for (int c = 0; c < keep; c++) {
                        boolean just = hit[c] && c < k;
                        float sc = cScore[c] / norm;
                        if (full && o.earlyStopping) sc += NEG;
                        if (!unsatisfied[i]) sc += NEG;
                        if (!just) sc += NEG;
                        merged[k + c] = sc;
                    }
                    int[] best = topk(merged, k);
                    long[][] nf = new long[k][];
                    float[] ns = new float[k];
                    boolean[] nd = new boolean[k];
                    int[] ng = new int[k];
                    for (int j = 0; j < k; j++) {
                        int x = best[j];
                        ns[j] = merged[x];
                        if (x < k) {
                            nf[j] = finished[i][x];
                            nd[j] = finDone[i][x];
                            ng[j] = finGen[i][x];
                        } else {
                            nf[j] = cSeq[x - k];
                            nd[j] = hit[x - k] && x - k < k;
                            ng[j] = cur + 1 - t;
                        }
                    }
                    finished[i] = nf;
                    finScore[i] = ns;
                    finDone[i] = nd;
                    finGen[i] = ng;
                    running[i] = newRunning;
                    runScore[i] = newRunScore;
                }
                cur++;
                // 4. early-stop heuristic and the stopping conditions
                boolean anyUnsatisfied = false, allDone = true;
                for (int i = 0; i < b; i++) {
                    float bestRunning = runScore[i][0] / (float) Math.pow(cur - t, o.lengthPenalty);
                    float minFin = Float.POSITIVE_INFINITY;
                    for (float f : finScore[i]) minFin = Math.min(minFin, f);
                    boolean improvable = false;
                    for (int j = 0; j < k; j++) improvable |= bestRunning > (finDone[i][j] ? minFin : NEG);
                    unsatisfied[i] &= improvable;
                    anyUnsatisfied |= unsatisfied[i];
                    for (boolean d : finDone[i]) allDone &= d;
                }
                boolean openBeam = !(allDone && o.earlyStopping);
                if (!(anyUnsatisfied && openBeam && !allHit) || cur >= maxLen) break;
                // 5. reorder the cache to the surviving beams and feed their new tokens
                try (Scope st = Scope.open()) {
                    dec.reorder(Torch.tensor(reorder, b * k).to(promptIds.device()));
                    logits = st.keep(dec.step(Torch.tensor(nextTok, b * k, 1).to(promptIds.device())));
                }
            }
        }
        // best finished beam per row, padded, cropped to the longest generated length
        int gen = 0;
        for (int i = 0; i < b; i++) gen = Math.max(gen, finGen[i][0]);
        long[][] out = new long[b][t + gen];
        for (int i = 0; i < b; i++) {
            Arrays.fill(out[i], fill);
            System.arraycopy(finished[i][0], 0, out[i], 0, Math.min(finished[i][0].length, t + gen));
        }
        return pack(out, b, t + gen, promptIds);
    }

    /** Indices of the n largest values, largest first; ties keep the lower index first. */
    static int[] topk(float[] v, int n) {
        Integer[] idx = new Integer[v.length];
        for (int i = 0; i < v.length; i++) idx[i] = i;
        Arrays.sort(idx, (a, c) -> Float.compare(v[c], v[a]));
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = idx[i];
        return out;
    }
}
