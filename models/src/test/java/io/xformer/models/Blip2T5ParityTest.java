package io.xformer.models;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.hf.HfCheckpoint;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
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
            assertFalse(T5.Config.from(ckpt.config().get("text_config")).ownLmHead(), "config alone says tied");
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
}
