package io.xformer.models;

import io.xformer.hf.HfCheckpoint;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import java.util.Map;
import org.junit.jupiter.api.Test;

class Blip2GenerationParityTest {
    static XFormerForConditionalGeneration load(HfCheckpoint ckpt) {
        XFormerForConditionalGeneration m = new XFormerForConditionalGeneration(XFormerForConditionalGeneration.Config.from(ckpt.config()));
        m.loadStateDict(ckpt.source(), null, DType.F32, Device.CPU, true);
        return m;
    }

    static Tensor generate(XFormerForConditionalGeneration m, Map<String, Tensor> g, int beams) {
        XFormerForConditionalGeneration.Output o = m.forward(g.get("pixel_values"), null, null, g.get("input_ids"), null, null);
        Opt.Config t = m.opt().cfg;
        return Generate.generate(m.opt(), g.get("input_ids"), o.inputsEmbeds(), null,
                new Generate.Options(beams, 8, 0, 0.0, t.eosTokenId(), t.padTokenId(), false));
    }

    @Test
    void greedyAndBeamSearchMatchTransformersTokenForToken() {
        try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve("blip2-opt-tiny"))) {
            XFormerForConditionalGeneration m = load(ckpt);
            Map<String, Tensor> g = Golden.load("blip2-opt-tiny");
            Golden.assertExact("generate_greedy", g.get("generate_greedy"), generate(m, g, 1));
            Golden.assertExact("generate_beam3_lp0", g.get("generate_beam3_lp0"), generate(m, g, 3));
            m.close();
        }
    }

    @Test
    void forwardMatchesTransformers() {
        for (String folder : new String[] {"blip2-opt-tiny", "blip2-opt-tiny-sharded"}) {
            try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve(folder))) {
                XFormerForConditionalGeneration m = load(ckpt);
                Map<String, Tensor> g = Golden.load("blip2-opt-tiny");
                XFormerForConditionalGeneration.Output o = m.forward(g.get("pixel_values"), null, null, g.get("input_ids"), null, null);
                Golden.assertClose(folder + " vision_hidden_first", g.get("vision_hidden_first"), o.vision().afterFirstLayer(), 1e-4);
                Golden.assertClose(folder + " vision_last_hidden_state", g.get("vision_last_hidden_state"), o.vision().lastHiddenState(), 1e-4);
                Golden.assertClose(folder + " vision_pooler_output", g.get("vision_pooler_output"), o.vision().pooled(), 1e-4);
                Golden.assertClose(folder + " qformer_last_hidden_state", g.get("qformer_last_hidden_state"), o.qformerOutput(), 1e-4);
                Golden.assertClose(folder + " language_projection", g.get("language_projection"), o.languageInputs(), 1e-4);
                Golden.assertClose(folder + " logits", g.get("logits"), o.logits(), 1e-4);
                m.close();
            }
        }
    }

    @Test
    void lmLossFromLabelsMatchesTransformers() {
        try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve("blip2-opt-tiny"))) {
            XFormerForConditionalGeneration m = load(ckpt);
            Map<String, Tensor> g = Golden.load("blip2-opt-tiny-lm-loss");
            XFormerForConditionalGeneration.Output o = m.forward(g.get("pixel_values"), null, null, g.get("input_ids"),
                    g.get("attention_mask"), g.get("labels"));
            Golden.assertClose("lm-loss logits", g.get("logits"), o.logits(), 1e-4);
            Golden.assertClose("lm-loss loss", g.get("loss"), o.loss().reshape(1), 1e-4);
            // the same through the CLI's runner, labels as an input
            try (Pretrained p = Pretrained.load(Golden.HF.resolve("blip2-opt-tiny"), Device.CPU, DType.F32)) {
                Map<String, Tensor> out = p.forward(new Pretrained.Inputs(g, "golden"));
                Golden.assertClose("runner loss", g.get("loss"), out.get("loss"), 1e-4);
            }
            m.close();
        }
    }
}
