package io.xformer.models;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.InputException;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Issue 11, items 8 and 9: inputs checked on the host before they reach the model; non-finite values named. */
class HardeningInputsTest {
    static final Path XF = Golden.ROOT.resolve("test-data/xformer-tiny/xformer-tiny");

    static Map<String, Tensor> inputs(Path golden, String... names) {
        Map<String, Tensor> all = SafeTensors.load(golden), in = new HashMap<>();
        for (String n : names) if (all.containsKey(n)) in.put(n, all.get(n));
        return in;
    }

    @Test
    void item09_bf16OnCpuTakesTheFixturesF32Inputs() {
        try (Scope s = Scope.open()) {
            Path itm = Golden.HF.resolve("blip2-itm-tiny");
            Map<String, Tensor> golden = Golden.load("blip2-itm-tiny");
            try (Pretrained p = Pretrained.load(itm, Device.CPU, DType.BF16)) {
                Map<String, Tensor> out = p.forward(new Pretrained.Inputs(inputs(itm.resolve("golden.safetensors"), "pixel_values",
                        "input_ids", "attention_mask"), "golden"));
                assertEquals(DType.BF16, out.get("itm_logits").dtype());
                double d = Golden.maxAbsDiff(golden.get("itm_logits"), out.get("itm_logits"));
                System.out.println("bf16 itm_logits max |diff| " + d);
                assertTrue(d < 0.1, "bf16 close to the fp32 golden: " + d);
            }
            try (Pretrained p = Pretrained.load(XF, Device.CPU, DType.BF16)) {
                Map<String, Tensor> out = p.forward(new Pretrained.Inputs(inputs(XF.resolve("golden.safetensors"), "pixel_values",
                        "pixel_values_mae", "noise", "input_ids", "attention_mask"), "golden"));
                assertEquals(0, NonFinite.count(out.get("loss")));
            }
        }
    }

    @Test
    void item09_outOfVocabularyIdsAreRefusedNamingInputValueAndLimit() {
        try (Scope s = Scope.open(); Pretrained p = Pretrained.load(Golden.HF.resolve("blip2-itm-tiny"), Device.CPU, DType.F32)) {
            Map<String, Tensor> in = inputs(Golden.HF.resolve("blip2-itm-tiny/golden.safetensors"), "pixel_values", "input_ids", "attention_mask");
            long[] ids = in.get("input_ids").toLongArray();
            ids[13] = 160; // row 1, position 1; the Q-Former embeds ids 0..159
            in.put("input_ids", Torch.tensor(ids, 2, 12));
            InputException e = assertThrows(InputException.class, () -> p.forward(new Pretrained.Inputs(in, "in.safetensors")));
            assertTrue(e.getMessage().startsWith("in.safetensors: input 'input_ids' holds id 160 at [1, 1]")
                    && e.getMessage().contains("vocabulary of 160"), e.getMessage());
            ids[13] = -1;
            in.put("input_ids", Torch.tensor(ids, 2, 12));
            e = assertThrows(InputException.class, () -> p.forward(new Pretrained.Inputs(in, "in.safetensors")));
            assertTrue(e.getMessage().contains("holds id -1"), e.getMessage());
            in.put("input_ids", Torch.zeros(2, 12));
            e = assertThrows(InputException.class, () -> p.forward(new Pretrained.Inputs(in, "in.safetensors")));
            assertTrue(e.getMessage().contains("must hold integer token ids, got F32"), e.getMessage());
        }
    }

    @Test
    void item09_stage2WithAT5LanguageModelChecksIdsAgainstT5sVocabulary() {
        Path t5 = Golden.HF.resolve("blip2-t5-tiny");
        try (Scope s = Scope.open(); Pretrained p = Pretrained.load(t5, Device.CPU, DType.F32)) {
            assertInstanceOf(T5.class, ((XFormerForConditionalGeneration) p.module()).languageModel);
            Map<String, Tensor> in = inputs(t5.resolve("golden.safetensors"), "pixel_values", "input_ids", "attention_mask", "labels");
            // in-vocabulary ids of any length pass (T5's relative positions set no limit): the golden loss comes out
            Map<String, Tensor> out = p.forward(new Pretrained.Inputs(in, "golden"));
            assertEquals(Golden.load("blip2-t5-tiny").get("loss").item(), out.get("loss").item(), 1e-5);
            long[] ids = in.get("input_ids").toLongArray();
            ids[40] = 112; // row 1, position 8; blip2-t5-tiny's T5 embeds ids 0..111
            in.put("input_ids", Torch.tensor(ids, 2, 32));
            InputException e = assertThrows(InputException.class, () -> p.forward(new Pretrained.Inputs(in, "t5.safetensors")));
            assertTrue(e.getMessage().startsWith("t5.safetensors: input 'input_ids' holds id 112 at [1, 8]")
                    && e.getMessage().contains("vocabulary of 112"), e.getMessage());
        }
    }

    @Test
    void item09_overLongPromptsAreRefusedNamingLengthAndLimit() {
        try (Scope s = Scope.open(); Pretrained p = Pretrained.load(Golden.HF.resolve("blip2-itm-tiny"), Device.CPU, DType.F32)) {
            Map<String, Tensor> in = inputs(Golden.HF.resolve("blip2-itm-tiny/golden.safetensors"), "pixel_values");
            in.put("input_ids", Torch.ones(DType.I64, Device.CPU, 2, 65));
            InputException e = assertThrows(InputException.class, () -> p.forward(new Pretrained.Inputs(in, "long.safetensors")));
            assertTrue(e.getMessage().contains("'input_ids' has 65 positions, more than the 64"), e.getMessage());
        }
        try (Scope s = Scope.open(); Pretrained p = Pretrained.load(Golden.HF.resolve("blip2-opt-tiny"), Device.CPU, DType.F32)) {
            Map<String, Tensor> in = inputs(Golden.HF.resolve("blip2-opt-tiny/golden.safetensors"), "pixel_values", "input_ids");
            InputException e = assertThrows(InputException.class,
                    () -> p.generate(new Pretrained.Inputs(in, "prompt.safetensors"), p.options(1, 100, 0, 1.0)));
            assertTrue(e.getMessage().contains("'input_ids' has 34 positions + 100 new tokens, more than the 128"), e.getMessage());
        }
    }

    @Test
    void item08_nonFiniteValuesAreCountedAndNamed() {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> out = new java.util.LinkedHashMap<>();
            out.put("fine", Torch.ones(3));
            out.put("logits", Torch.tensor(new float[] {1, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}, 4));
            out.put("ids", Torch.tensor(new long[] {1, 2}, 2));
            assertEquals(List.of("logits: 3 of 4 values are NaN or infinite"), NonFinite.describe(out));
            assertEquals(3, NonFinite.count(out.get("logits").to(DType.BF16)));
        }
    }
}
