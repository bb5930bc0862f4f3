package io.xformer.models;

import io.xformer.hf.HfCheckpoint;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import java.util.Map;
import org.junit.jupiter.api.Test;

class T5WiringTest {
    @Test
    void blip2T5ThroughXFormerForConditionalGeneration() {
        try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve("blip2-t5-tiny"))) {
            XFormerForConditionalGeneration m = new XFormerForConditionalGeneration(XFormerForConditionalGeneration.Config.from(ckpt.config()));
            m.loadStateDict(ckpt.source(), XFormer::fromCheckpointKey, DType.F32, Device.CPU, true);
            Map<String, Tensor> g = Golden.load("blip2-t5-tiny");
            XFormerForConditionalGeneration.Output o = m.forward(g.get("pixel_values"), null, null, g.get("input_ids"),
                    g.get("attention_mask"), g.get("labels"));
            Golden.assertClose("wired language_projection", g.get("language_projection"), o.languageInputs(), 1e-4);
            Golden.assertClose("wired logits", g.get("logits"), o.logits(), 1e-4);
            Golden.assertClose("wired loss", g.get("loss"), o.loss().view(1), 1e-4);
            T5 t5 = (T5) m.languageModel;
            for (int beams : new int[] {1, 3}) {
                XFormerForConditionalGeneration.Encoded e = m.encode(g.get("pixel_values"), null, null);
                Tensor seq = m.generate(e, null, null, g.get("input_ids"), g.get("attention_mask"),
                        Seq2SeqGenerate.options(t5.cfg, beams, 8, 0, 0.0));
                Golden.assertExact("wired beams " + beams, g.get(beams == 1 ? "generate_greedy" : "generate_beam3_lp0"), seq);
            }
            m.close();
        }
    }
}
