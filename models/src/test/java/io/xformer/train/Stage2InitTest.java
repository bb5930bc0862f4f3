package io.xformer.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.models.XFormerForConditionalGeneration;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Guard;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A stage-2 X-Former built from the stage-1 fixture and the OPT of blip2-opt-tiny. */
class Stage2InitTest {
    static final Path ROOT = Stage1TrainerTest.ROOT;
    static final Path STAGE1 = ROOT.resolve("test-data/xformer-tiny/xformer-tiny");
    static final Path BLIP2 = ROOT.resolve("test-data/hf-tiny/blip2-opt-tiny");

    static double maxDiff(Tensor a, Tensor b) {
        try (Scope s = Scope.open()) {
            return a.to(DType.F64).sub(b.to(DType.F64)).abs().amax().item();
        }
    }

    @Test
    void theTensorFedToLanguageProjectionIsTheStage1QueryOutput() {
        var overrides = new ObjectMapper().createObjectNode().put("stage2_mae_mask_ratio", 0.5);
        try (Scope s = Scope.open(); Guard ng = Guard.noGrad()) {
            XFormerForConditionalGeneration m = Stage2Init.fromParts(STAGE1, BLIP2, overrides, 0, 0.02, Device.CPU);
            m.train(false);
            assertEquals("xformer", m.cfg.variant());
            assertEquals(3, m.cfg.imageTokenIndex(), "image_token_index comes from the BLIP-2 folder");
            Map<String, Tensor> g = SafeTensors.load(STAGE1.resolve("golden.safetensors"));
            long b = g.get("pixel_values").size(0), q = m.cfg.numQueryTokens();
            long[] ids = new long[(int) (b * (q + 3))];
            for (int i = 0; i < b; i++)
                for (int j = 0; j < q + 3; j++) ids[(int) (i * (q + 3) + j)] = j < q ? 3 : j == q ? 2 : 10 + i + j;
            XFormerForConditionalGeneration.Output o = m.forward(g.get("pixel_values"), g.get("pixel_values_mae"), g.get("noise"),
                    Torch.tensor(ids, b, q + 3), null, null);
            double d = maxDiff(g.get("query_output"), o.qformerOutput());
            System.out.printf("stage-2 query_output vs stage-1 golden: max |diff| %.3g%n", d);
            assertTrue(d <= 1e-4, "max |diff| " + d);
            assertArrayEquals(new long[] {b, q + 3, 300}, o.logits().shape());
            // with r2 = 0 the MAE sees every patch, so the queries differ
            XFormerForConditionalGeneration full = Stage2Init.fromParts(STAGE1, BLIP2, null, 0, 0.02, Device.CPU);
            full.train(false);
            Tensor z0 = full.forward(g.get("pixel_values"), g.get("pixel_values_mae"), null, Torch.tensor(ids, b, q + 3), null, null)
                    .qformerOutput();
            assertTrue(maxDiff(g.get("query_output"), z0) > 1e-3);
            m.close();
            full.close();
        }
    }

    @Test
    void aStage1FolderIsRequired() {
        var e = assertThrows(io.xformer.nn.TorchException.class, () -> Stage2Init.fromParts(BLIP2, BLIP2, null, 0, 0.02, Device.CPU));
        assertTrue(e.getMessage().contains("XFormerForPreTraining"), e.getMessage());
    }
}
