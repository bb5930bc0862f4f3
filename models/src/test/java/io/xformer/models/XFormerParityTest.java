package io.xformer.models;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.hf.HfCheckpoint;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Guard;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class XFormerParityTest {
    static final Path XF = Golden.ROOT.resolve("test-data/xformer-tiny");

    static XFormer load(HfCheckpoint ckpt) {
        XFormer m = new XFormer(XFormer.Config.from(ckpt.config()));
        m.loadStateDict(ckpt.source(), XFormer::fromCheckpointKey, DType.F32, Device.CPU, true);
        return m;
    }

    static XFormer.Output run(XFormer m, Map<String, Tensor> g) {
        return m.forward(g.get("pixel_values"), g.get("pixel_values_mae"), g.get("noise"), g.get("input_ids"),
                g.get("attention_mask"), g.get("itm_neg_text_idx"), g.get("itm_neg_image_idx"));
    }

    @Test
    void xformerMatchesTheReference() {
        try (Scope s = Scope.open(); Guard ng = Guard.noGrad(); HfCheckpoint ckpt = HfCheckpoint.open(XF.resolve("xformer-tiny"))) {
            XFormer m = load(ckpt);
            Map<String, Tensor> g = SafeTensors.load(XF.resolve("xformer-tiny/golden.safetensors"));
            XFormer.Output o = run(m, g);
            Golden.assertExact("mae_mask", g.get("mae_mask"), o.vision().mae().mask());
            Golden.assertClose("qformer_query_output", g.get("qformer_query_output"), o.vision().z(), 1e-4);
            Golden.assertClose("mae_enriched", g.get("mae_enriched"), o.maeProjected(), 1e-4);
            Golden.assertClose("query_output", g.get("query_output"), o.vision().zPrime(), 1e-4);
            Golden.assertClose("text_cls", g.get("text_cls"), o.textCls(), 1e-4);
            Golden.assertClose("itc_sim_i2t", g.get("itc_sim_i2t"), o.itcSim(), 1e-4);
            Golden.assertClose("itm_logits", g.get("itm_logits"), o.itmLogits(), 1e-4);
            Golden.assertClose("itg_logits", g.get("itg_logits"), o.itgLogits(), 1e-4);
            Golden.assertClose("rec_logits", g.get("rec_logits"), o.recLogits(), 1e-4);
            Golden.assertClose("loss_itc", g.get("loss_itc"), o.lossItc().reshape(1), 1e-4);
            Golden.assertClose("loss_itm", g.get("loss_itm"), o.lossItm().reshape(1), 1e-4);
            Golden.assertClose("loss_itg", g.get("loss_itg"), o.lossItg().reshape(1), 1e-4);
            Golden.assertClose("loss_rec", g.get("loss_rec"), o.lossRec().reshape(1), 1e-4);
            Golden.assertClose("loss", g.get("loss"), o.loss().reshape(1), 1e-4);
            // saving uses the checkpoint's own names again
            assertEquals(new java.util.TreeSet<>(ckpt.names()), new java.util.TreeSet<>(m.checkpointState().keySet()));
            m.close();
        }
    }

    @Test
    void blip2VariantMatchesTheReference() {
        try (Scope s = Scope.open(); Guard ng = Guard.noGrad(); HfCheckpoint ckpt = HfCheckpoint.open(XF.resolve("blip2-stage1-tiny"))) {
            XFormer m = load(ckpt);
            assertNull(m.mae);
            assertFalse(m.namedParameters().keySet().stream().anyMatch(k -> k.startsWith("mae.") || k.startsWith("xformer.")));
            Map<String, Tensor> g = SafeTensors.load(XF.resolve("blip2-stage1-tiny/golden.safetensors"));
            XFormer.Output o = run(m, g);
            assertNull(o.lossRec());
            Golden.assertClose("blip2 query_output", g.get("query_output"), o.vision().zPrime(), 1e-4);
            Golden.assertClose("blip2 text_cls", g.get("text_cls"), o.textCls(), 1e-4);
            Golden.assertClose("blip2 itc_sim_i2t", g.get("itc_sim_i2t"), o.itcSim(), 1e-4);
            Golden.assertClose("blip2 itm_logits", g.get("itm_logits"), o.itmLogits(), 1e-4);
            Golden.assertClose("blip2 itg_logits", g.get("itg_logits"), o.itgLogits(), 1e-4);
            Golden.assertClose("blip2 loss", g.get("loss"), o.loss().reshape(1), 1e-4);
            m.close();
        }
    }
}
