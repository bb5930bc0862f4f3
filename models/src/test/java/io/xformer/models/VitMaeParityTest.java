package io.xformer.models;

import io.xformer.hf.HfCheckpoint;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import java.util.Map;
import org.junit.jupiter.api.Test;

class VitMaeParityTest {
    @Test
    void matchesTransformers() {
        try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve("vit-mae-tiny"))) {
            VitMae.ForPreTraining m = new VitMae.ForPreTraining(VitMae.Config.from(ckpt.config()));
            m.loadStateDict(ckpt.source(), null, DType.F32, Device.CPU, true);
            Map<String, Tensor> g = Golden.load("vit-mae-tiny");
            VitMae.ForPreTraining.Output out = m.forward(g.get("pixel_values"), g.get("noise"));
            Golden.assertExact("mask", g.get("mask"), out.encoded().mask());
            Golden.assertExact("ids_restore", g.get("ids_restore"), out.encoded().idsRestore());
            Golden.assertClose("encoder_last_hidden_state", g.get("encoder_last_hidden_state"), out.encoded().lastHiddenState(), 1e-4);
            Golden.assertClose("logits", g.get("logits"), out.logits(), 1e-4);
            Golden.assertClose("loss", g.get("loss"), out.loss().reshape(1), 1e-4);
            m.close();
        }
    }
}
