package io.xformer.models;

import io.xformer.hf.HfCheckpoint;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import java.util.Map;
import org.junit.jupiter.api.Test;

class Blip2RetrievalParityTest {
    @Test
    void itmAndItcMatchTransformers() {
        try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve("blip2-itm-tiny"))) {
            Blip2Retrieval m = new Blip2Retrieval(Blip2Retrieval.Config.from(ckpt.config()));
            m.loadStateDict(ckpt.source(), null, DType.F32, Device.CPU, true);
            Map<String, Tensor> g = Golden.load("blip2-itm-tiny");
            Tensor image = m.visionModel.forward(g.get("pixel_values")).lastHiddenState();
            Golden.assertClose("itm_logits", g.get("itm_logits"), m.itm(image, g.get("input_ids"), g.get("attention_mask")), 1e-4);
            Tensor img = m.imageFeatures(image), txt = m.textFeatures(g.get("input_ids"), g.get("attention_mask"));
            Golden.assertClose("itc_image_embeds", g.get("itc_image_embeds"), img, 1e-4);
            Golden.assertClose("itc_text_embeds", g.get("itc_text_embeds"), txt, 1e-4);
            Golden.assertClose("itc_logits_per_image", g.get("itc_logits_per_image"), Blip2Retrieval.itcLogits(img, txt), 1e-4);
            m.close();
        }
    }
}
