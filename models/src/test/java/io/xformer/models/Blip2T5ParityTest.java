package io.xformer.models;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.hf.HfCheckpoint;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.TorchException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** blip2-t5-tiny: transformers 5.12.1's Blip2ForConditionalGeneration with a Flan-T5-style LM, fp32 CPU. */
class Blip2T5ParityTest {
    static Blip2T5 load(HfCheckpoint ckpt) {
        Blip2T5 m = new Blip2T5(Blip2T5.Config.from(ckpt.config(), ckpt.names()));
        m.loadStateDict(ckpt.source(), Blip2T5::rename, DType.F32, Device.CPU, true);
        return m;
    }

    @Test
    void configReadsTheT5Conventions() {
        try (HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve("blip2-t5-tiny"))) {
            T5.Config t = Blip2T5.Config.from(ckpt.config(), ckpt.names()).text();
            assertEquals(24, t.innerDim(), "4 heads x d_kv 6");
            assertTrue(t.gated());
            assertEquals("gelu_new", t.activation());
            assertFalse(t.scaleDecoderOutputs(), "scale_decoder_outputs false wins over tie_word_embeddings true");
            assertTrue(t.ownLmHead(), "lm_head.weight is in the checkpoint");
            assertTrue(T5.Config.from(ckpt.config().get("text_config")).ownLmHead(), "config alone: no rescale, so untied");
            assertFalse(t.withOwnLmHead(java.util.List.of("language_model.shared.weight"), "language_model.").ownLmHead(),
                    "keys without lm_head: tied to shared");
        }
    }

    @Test
    void forwardMatchesTransformers() {
        try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve("blip2-t5-tiny"))) {
            Blip2T5 m = load(ckpt);
            Map<String, Tensor> g = Golden.load("blip2-t5-tiny");
            Blip2T5.Output o = m.forward(g.get("pixel_values"), g.get("input_ids"), g.get("attention_mask"),
                    g.get("decoder_input_ids"), g.get("labels"));
            Golden.assertClose("vision_last_hidden_state", g.get("vision_last_hidden_state"), o.vision().lastHiddenState(), 1e-4);
            Golden.assertClose("qformer_last_hidden_state", g.get("qformer_last_hidden_state"), o.qformerOutput(), 1e-4);
            Golden.assertClose("language_projection", g.get("language_projection"), o.languageProjection(), 1e-4);
            Golden.assertClose("encoder_last_hidden_state", g.get("encoder_last_hidden_state"), o.encoderLastHiddenState(), 1e-4);
            Golden.assertClose("logits", g.get("logits"), o.logits(), 1e-4);
            Golden.assertClose("loss", g.get("loss"), o.loss().view(1), 1e-4);
            m.close();
        }
    }

    @Test
    void labelsAloneGiveTheSameLossAsShiftedDecoderInputs() {
        try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve("blip2-t5-tiny"))) {
            Blip2T5 m = load(ckpt);
            Map<String, Tensor> g = Golden.load("blip2-t5-tiny");
            Golden.assertExact("shift_right(labels)", g.get("decoder_input_ids"), m.languageModel.shiftRight(g.get("labels")));
            Blip2T5.Output o = m.forward(g.get("pixel_values"), g.get("input_ids"), g.get("attention_mask"), null, g.get("labels"));
            Golden.assertClose("loss from labels", g.get("loss"), o.loss().view(1), 1e-4);
            m.close();
        }
    }

    @Test
    void greedyAndBeamSearchMatchTransformersTokenForToken() {
        try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve("blip2-t5-tiny"))) {
            Blip2T5 m = load(ckpt);
            Map<String, Tensor> g = Golden.load("blip2-t5-tiny");
            T5.Config t = m.cfg.text();
            Tensor greedy = m.generate(g.get("pixel_values"), g.get("input_ids"), g.get("attention_mask"),
                    Seq2SeqGenerate.options(t, 1, 8, 0, 0.0));
            Golden.assertExact("generate_greedy", g.get("generate_greedy"), greedy);
            Tensor beam = m.generate(g.get("pixel_values"), g.get("input_ids"), g.get("attention_mask"),
                    Seq2SeqGenerate.options(t, 3, 8, 0, 0.0));
            Golden.assertExact("generate_beam3_lp0", g.get("generate_beam3_lp0"), beam);
            m.close();
        }
    }

    /** LAVIS puts the query embeddings in front of the text; with the placeholders at the front that is the same input. */
    @Test
    void idsWithoutPlaceholdersGetTheQueriesInFront() {
        try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve("blip2-t5-tiny"))) {
            Blip2T5 m = load(ckpt);
            Map<String, Tensor> g = Golden.load("blip2-t5-tiny");
            long t = g.get("input_ids").size(1) - 4;
            Blip2T5.Output o = m.forward(g.get("pixel_values"), g.get("input_ids").narrow(1, 4, t),
                    g.get("attention_mask").narrow(1, 4, t), null, g.get("labels"));
            Golden.assertClose("prepended encoder_last_hidden_state", g.get("encoder_last_hidden_state"), o.encoderLastHiddenState(), 1e-4);
            Golden.assertClose("prepended logits", g.get("logits"), o.logits(), 1e-4);
            TorchException e = assertThrows(TorchException.class, () -> m.forward(g.get("pixel_values"),
                    g.get("input_ids").narrow(1, 1, t + 3), null, null, g.get("labels")));
            assertTrue(e.getMessage().contains("6 image tokens") || e.getMessage().contains("image tokens"), e.getMessage());
            m.close();
        }
    }

    /**
     * Stage 2 trains language_projection through a frozen T5: in float64 the gradient of the
     * loss for one bias element equals the central difference (loss(b + h) - loss(b - h)) / 2h,
     * and the frozen LM gets no gradient.
     */
    @Test
    void lossGradientReachesTheProjectionThroughTheFrozenLm() {
        try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve("blip2-t5-tiny"))) {
            Blip2T5 m = new Blip2T5(Blip2T5.Config.from(ckpt.config(), ckpt.names()));
            m.loadStateDict(ckpt.source(), Blip2T5::rename, DType.F64, Device.CPU, true);
            m.requiresGrad(false);
            m.languageProjection.requiresGrad(true);
            Map<String, Tensor> g = Golden.load("blip2-t5-tiny");
            Tensor pixels = g.get("pixel_values").to(DType.F64);
            Blip2T5.Output o = m.forward(pixels, g.get("input_ids"), g.get("attention_mask"), null, g.get("labels"));
            Golden.assertClose("float64 loss", g.get("loss"), o.loss().view(1), 1e-5);
            o.loss().backward();
            Tensor bias = m.languageProjection.bias.get();
            double analytic = bias.grad().select(0, 5).item();
            assertNull(m.languageModel.shared.weight.get().grad(), "the frozen LM gets no gradient");
            double h = 1e-5, base = bias.select(0, 5).item();
            double[] at = new double[2];
            for (int i = 0; i < 2; i++) {
                try (Scope st = Scope.open(); io.xformer.nn.Guard ng = io.xformer.nn.Guard.noGrad()) {
                    bias.select(0, 5).fill_(base + (i == 0 ? h : -h));
                    at[i] = m.forward(pixels, g.get("input_ids"), g.get("attention_mask"), null, g.get("labels")).loss().item();
                }
            }
            double numeric = (at[0] - at[1]) / (2 * h);
            System.out.printf("d loss / d language_projection.bias[5]: autograd %.9f, central difference %.9f%n", analytic, numeric);
            assertTrue(Math.abs(analytic) > 1e-6, "gradient " + analytic);
            assertEquals(numeric, analytic, 1e-6 + 1e-5 * Math.abs(numeric));
            m.close();
        }
    }

    /** bfloat16 weights (the frozen LLM on GPU) run end to end and stay near the fp32 golden. */
    @Test
    void bfloat16RunsNearTheGolden() {
        try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve("blip2-t5-tiny"))) {
            Blip2T5 m = new Blip2T5(Blip2T5.Config.from(ckpt.config(), ckpt.names()));
            m.loadStateDict(ckpt.source(), Blip2T5::rename, DType.BF16, Device.CPU, true);
            Map<String, Tensor> g = Golden.load("blip2-t5-tiny");
            Blip2T5.Output o = m.forward(g.get("pixel_values").to(DType.BF16), g.get("input_ids"), g.get("attention_mask"), null,
                    g.get("labels"));
            assertEquals(DType.BF16, o.logits().dtype());
            double d = Golden.maxAbsDiff(g.get("logits"), o.logits());
            System.out.printf("bf16 logits max |diff| %.3g, loss %.4f (fp32 %.4f)%n", d, o.loss().item(), g.get("loss").item());
            assertTrue(d < 0.25, "bf16 logits max |diff| " + d);
            assertEquals(g.get("loss").item(), o.loss().item(), 0.05);
            Tensor beam = m.generate(g.get("pixel_values").to(DType.BF16), g.get("input_ids"), g.get("attention_mask"),
                    Seq2SeqGenerate.options(m.cfg.text(), 3, 8, 0, 0.0));
            assertArrayEquals(new long[] {2, 9}, beam.shape());
            m.close();
        }
    }
}
