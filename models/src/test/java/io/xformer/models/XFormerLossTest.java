package io.xformer.models;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Generator;
import io.xformer.nn.Guard;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class XFormerLossTest {
    /** The xformer-tiny config with other dimensions: nothing may be tied to the fixture's sizes. */
    static JsonNode config(String variant) throws IOException {
        return new ObjectMapper().readTree("""
            {"variant": "%s", "num_query_tokens": 3, "image_text_hidden_size": 6, "dec_token_id": 5, "label_smoothing": 0.1,
             "vision_config": {"hidden_size": 12, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 20,
                               "image_size": 16, "patch_size": 8},
             "qformer_config": {"hidden_size": 8, "num_hidden_layers": 3, "num_attention_heads": 2, "intermediate_size": 16,
                                "cross_attention_frequency": 2, "encoder_hidden_size": 12, "vocab_size": 30,
                                "max_position_embeddings": 16, "use_qformer_text_input": true},
             "mae_config": {"hidden_size": 10, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 12,
                            "image_size": 16, "patch_size": 8, "decoder_hidden_size": 6, "decoder_num_hidden_layers": 1,
                            "decoder_num_attention_heads": 2, "decoder_intermediate_size": 8, "mask_ratio": 0.5,
                            "norm_pix_loss": true}}""".formatted(variant));
    }

    static XFormer model(String variant, DType dtype) throws IOException {
        XFormer m = new XFormer(XFormer.Config.from(config(variant)));
        try (Generator g = new Generator(7); Scope s = Scope.open()) {
            m.initialize(g, dtype, Device.CPU);
            m.temp.set(Torch.full(0.07, dtype, Device.CPU));
        }
        return m;
    }

    @Test
    void itcIsTheMaxOverQueriesOfCosineSimilarityOverTemp() throws IOException {
        try (Scope s = Scope.open()) {
            XFormer m = model("xformer", DType.F64);
            Tensor zp = Torch.randn(null, DType.F64, Device.CPU, 2, 3, 8), cls = Torch.randn(null, DType.F64, Device.CPU, 2, 8);
            double[] sim = m.itcSimilarity(zp, cls).toDoubleArray();
            double[] img = m.visionProjection.forward(zp).toDoubleArray(), txt = m.textProjection.forward(cls).toDoubleArray();
            int e = 6;
            for (int i = 0; i < 2; i++)
                for (int t = 0; t < 2; t++) {
                    double best = Double.NEGATIVE_INFINITY;
                    for (int q = 0; q < 3; q++) {
                        double dot = 0, ni = 0, nt = 0;
                        for (int k = 0; k < e; k++) {
                            double a = img[(i * 3 + q) * e + k], b = txt[t * e + k];
                            dot += a * b;
                            ni += a * a;
                            nt += b * b;
                        }
                        best = Math.max(best, dot / Math.sqrt(ni) / Math.sqrt(nt));
                    }
                    assertEquals(best / 0.07, sim[i * 2 + t], 1e-9, "sim[" + i + "," + t + "]");
                }
            // loss: mean of the two label-smoothed cross-entropies
            Tensor simT = Torch.tensor(sim, 2, 2);
            double expected = 0;
            for (boolean cols : new boolean[] {false, true})
                for (int r = 0; r < 2; r++) {
                    double[] row = {sim[cols ? r : r * 2], sim[cols ? 2 + r : r * 2 + 1]};
                    double lse = Math.log(Math.exp(row[0]) + Math.exp(row[1]));
                    double nll = -(row[r] - lse), uniform = -((row[0] - lse) + (row[1] - lse)) / 2;
                    expected += (0.9 * nll + 0.1 * uniform) / 4;
                }
            assertEquals(expected, m.itcLoss(simT).item(), 1e-9);
            m.close();
        }
    }

    @Test
    void itmNeverDrawsThePositiveAsANegative() {
        try (Scope s = Scope.open()) {
            // the positives dominate, which is exactly when a careless sampler would pick them
            Tensor sim = Torch.tensor(new float[] {50, 1, 2, 3, 0, 60, 1, 1, 4, 2, 70, 1, 1, 1, 1, 80}, 4, 4);
            int[] seen = new int[4];
            for (int k = 0; k < 500; k++) {
                try (Scope inner = Scope.open(); Generator g = new Generator(k)) {
                    XFormer.Negatives neg = XFormer.sampleNegatives(sim, g);
                    long[] text = neg.text().toLongArray(), image = neg.image().toLongArray();
                    for (int i = 0; i < 4; i++) {
                        assertNotEquals(i, text[i], "text negative of image " + i);
                        assertNotEquals(i, image[i], "image negative of text " + i);
                        seen[(int) text[i]]++;
                    }
                }
            }
            for (int c : seen) assertTrue(c > 0, "every other index gets drawn sometimes");
        }
    }

    @Test
    void itgMaskHidesTextFromQueriesAndTheFutureFromText() {
        try (Scope s = Scope.open()) {
            Tensor keep = Torch.tensor(new long[] {1, 1, 1, 0}, 1, 4);
            double[] m = Masks.unilm(keep, 2, DType.F32).toDoubleArray(); // (1, 1, 6, 6)
            for (int r = 0; r < 6; r++)
                for (int c = 0; c < 6; c++) {
                    boolean allowed = r < 2 ? c < 2 : c < 2 || (c - 2 <= r - 2 && c != 5);
                    assertEquals(allowed, m[r * 6 + c] == 0, "row " + r + " col " + c);
                }
        }
    }

    @Test
    void itgOutputsDependOnlyOnEarlierTokens() throws IOException {
        try (Scope s = Scope.open(); Guard g = Guard.noGrad()) {
            XFormer m = model("xformer", DType.F32);
            Tensor px = Torch.randn(2, 3, 16, 16);
            Tensor noise = Torch.rand(2, 4);
            XFormer.Vision v = m.vision(px, px, noise);
            Tensor mask = Torch.ones(DType.I64, Device.CPU, 2, 5);
            Tensor a = m.itgLogits(v, Torch.tensor(new long[] {2, 7, 8, 9, 3, 2, 10, 11, 12, 3}, 2, 5), mask);
            Tensor b = m.itgLogits(v, Torch.tensor(new long[] {2, 7, 8, 19, 3, 2, 10, 11, 12, 3}, 2, 5), mask);
            // changing token 3 of row 0 leaves positions 0..2 untouched, moves 3.. (and never row 1)
            assertTrue(Golden.maxAbsDiff(a.narrow(1, 0, 3), b.narrow(1, 0, 3)) < 1e-6);
            assertTrue(Golden.maxAbsDiff(a.select(0, 0).narrow(0, 3, 2), b.select(0, 0).narrow(0, 3, 2)) > 1e-4);
            assertTrue(Golden.maxAbsDiff(a.select(0, 1), b.select(0, 1)) < 1e-6);
            m.close();
        }
    }

    @Test
    void reconstructionCountsMaskedPatchesOnly() throws IOException {
        try (Scope s = Scope.open()) {
            XFormer m = model("xformer", DType.F64);
            Tensor px = Torch.randn(null, DType.F64, Device.CPU, 1, 3, 16, 16);
            Tensor mask = Torch.tensor(new double[] {1, 0, 1, 0}, 1, 4);
            Tensor pred = Torch.randn(null, DType.F64, Device.CPU, 1, 4, 192);
            double base = m.mae.loss(px, pred, mask).item();
            Tensor visibleChanged = pred.clone();
            visibleChanged.select(1, 1).add_(5.0);
            assertEquals(base, m.mae.loss(px, visibleChanged, mask).item(), 1e-12, "a visible patch does not count");
            Tensor maskedChanged = pred.clone();
            maskedChanged.select(1, 2).add_(5.0);
            assertNotEquals(base, m.mae.loss(px, maskedChanged, mask).item(), 1e-6);
            // by hand: per-patch MSE against the per-patch normalised target, averaged over the 2 masked patches
            double[] target = VitMae.patchify(px, 8).toDoubleArray(), p = pred.toDoubleArray();
            double sum = 0;
            for (int patch : new int[] {0, 2}) {
                double mean = 0, var = 0;
                for (int k = 0; k < 192; k++) mean += target[patch * 192 + k] / 192;
                for (int k = 0; k < 192; k++) var += Math.pow(target[patch * 192 + k] - mean, 2) / 191;
                double mse = 0;
                for (int k = 0; k < 192; k++) mse += Math.pow(p[patch * 192 + k] - (target[patch * 192 + k] - mean) / Math.sqrt(var + 1e-6), 2) / 192;
                sum += mse;
            }
            assertEquals(sum / 2, base, 1e-9);
            m.close();
        }
    }

    @Test
    void xformerBlockGradientsMatchFiniteDifferences() throws IOException {
        try (Scope s = Scope.open()) {
            XFormer m = model("xformer", DType.F64);
            double[] mae = new double[2 * 3 * 10], z = new double[2 * 3 * 8];
            java.util.Random r = new java.util.Random(3);
            for (int i = 0; i < mae.length; i++) mae[i] = r.nextGaussian();
            for (int i = 0; i < z.length; i++) z[i] = r.nextGaussian();
            Tensor w = Torch.randn(null, DType.F64, Device.CPU, 2 * 3 * 10 + 2 * 3 * 8);
            java.util.function.BiFunction<Tensor, Tensor, Tensor> f = (maeIn, zIn) -> {
                Tensor m2 = m.block.enrich(maeIn, zIn);
                Tensor mPrime = m.block.projOut.forward(m2);
                Tensor zPrime = m.block.layer.forward(zIn, null, 3, m2, null);
                return Torch.cat(0, mPrime.reshape(-1), zPrime.reshape(-1)).mul(w).sum();
            };
            Tensor maeT = Torch.tensor(mae, 2, 3, 10).requiresGrad_(true), zT = Torch.tensor(z, 2, 3, 8).requiresGrad_(true);
            f.apply(maeT, zT).backward();
            double[] gm = maeT.grad().toDoubleArray(), gz = zT.grad().toDoubleArray();
            // and one weight of block 1
            Tensor pw = m.block.projIn.weight.get();
            double[] gw = pw.grad().toDoubleArray();
            double eps = 1e-6;
            try (Guard g = Guard.noGrad()) {
                for (int i = 0; i < mae.length; i += 7) {
                    double[] up = mae.clone(), dn = mae.clone();
                    up[i] += eps;
                    dn[i] -= eps;
                    double num = (f.apply(Torch.tensor(up, 2, 3, 10), Torch.tensor(z, 2, 3, 8)).item()
                            - f.apply(Torch.tensor(dn, 2, 3, 10), Torch.tensor(z, 2, 3, 8)).item()) / (2 * eps);
                    assertEquals(num, gm[i], 1e-6 * Math.max(1, Math.abs(num)), "dM[" + i + "]");
                }
                for (int i = 0; i < z.length; i += 5) {
                    double[] up = z.clone(), dn = z.clone();
                    up[i] += eps;
                    dn[i] -= eps;
                    double num = (f.apply(Torch.tensor(mae, 2, 3, 10), Torch.tensor(up, 2, 3, 8)).item()
                            - f.apply(Torch.tensor(mae, 2, 3, 10), Torch.tensor(dn, 2, 3, 8)).item()) / (2 * eps);
                    assertEquals(num, gz[i], 1e-6 * Math.max(1, Math.abs(num)), "dZ[" + i + "]");
                }
                double[] wv = pw.toDoubleArray();
                for (int i = 0; i < wv.length; i += 11) {
                    double orig = wv[i];
                    double[] vals = new double[2];
                    for (int sgn = 0; sgn < 2; sgn++) {
                        wv[i] = orig + (sgn == 0 ? eps : -eps);
                        pw.copy_(Torch.tensor(wv, pw.shape()));
                        vals[sgn] = f.apply(Torch.tensor(mae, 2, 3, 10), Torch.tensor(z, 2, 3, 8)).item();
                    }
                    wv[i] = orig;
                    pw.copy_(Torch.tensor(wv, pw.shape()));
                    double num = (vals[0] - vals[1]) / (2 * eps);
                    assertEquals(num, gw[i], 1e-6 * Math.max(1, Math.abs(num)), "dW_in[" + i + "]");
                }
            }
            m.close();
        }
    }

    @Test
    void ablationVariantsFuseWithoutBlockOrReconstruction() throws IOException {
        long xformerParams = model("xformer", DType.F32).numTrainable();
        for (String variant : new String[] {"concat", "early-ca"}) {
            try (Scope s = Scope.open()) {
                XFormer m = model(variant, DType.F32);
                assertNull(m.block);
                assertNotNull(m.fusion);
                assertNotNull(m.mae, variant + " keeps the MAE branch");
                Tensor px = Torch.randn(2, 3, 16, 16);
                Tensor ids = Torch.tensor(new long[] {2, 7, 3, 2, 8, 3}, 2, 3), mask = Torch.ones(DType.I64, Device.CPU, 2, 3);
                XFormer.Output o = m.forward(px, px, Torch.rand(2, 4), ids, mask, Torch.tensor(new long[] {1, 0}, 2),
                        Torch.tensor(new long[] {1, 0}, 2));
                assertNull(o.lossRec());
                assertTrue(Double.isFinite(o.loss().item()));
                // the Q-Former memory: [C; W M] (5 + 3 tokens) for concat, the fused C (5 tokens) for early-ca
                assertEquals(variant.equals("concat") ? 5 + 3 : 5, o.vision().clip().size(1));
                // the MAE reaches the queries: changing the MAE image changes Z'
                Tensor other = m.forward(px, Torch.randn(2, 3, 16, 16), Torch.rand(2, 4), ids, mask, Torch.tensor(new long[] {1, 0}, 2),
                        Torch.tensor(new long[] {1, 0}, 2)).vision().zPrime();
                assertTrue(Golden.maxAbsDiff(o.vision().zPrime(), other) > 1e-6, variant);
                o.loss().backward();
                assertNotNull(m.fusion.proj.weight.get().grad(), "the fusion trains");
                if (variant.equals("early-ca")) assertTrue(m.numTrainable() > xformerParams, "early-ca is the heavier fusion");
                m.close();
            }
        }
    }

    @Test
    void blip2VariantHasNoMaeAndNoReconstruction() throws IOException {
        try (Scope s = Scope.open()) {
            XFormer m = model("blip2", DType.F32);
            assertNull(m.mae);
            assertNull(m.block);
            assertTrue(m.namedParameters().keySet().stream().noneMatch(k -> k.startsWith("mae.") || k.startsWith("xformer.")));
            Tensor px = Torch.randn(2, 3, 16, 16);
            XFormer.Output o = m.forward(px, null, null, Torch.tensor(new long[] {2, 7, 3, 2, 8, 3}, 2, 3),
                    Torch.ones(DType.I64, Device.CPU, 2, 3), Torch.tensor(new long[] {1, 0}, 2), Torch.tensor(new long[] {1, 0}, 2));
            assertNull(o.lossRec());
            assertEquals(o.lossItc().add(o.lossItm()).add(o.lossItg()).item(), o.loss().item(), 1e-6);
            m.close();
        }
    }
}
