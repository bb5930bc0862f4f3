package io.xformer.models;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Generator;
import io.xformer.nn.Module;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Models of other sizes than the fixtures', built from config, saved as HF folders and loaded back. */
class OtherShapesRoundTripTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    static ObjectNode blip2Config(String arch, boolean textInput) {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add(arch);
        c.put("num_query_tokens", 3).put("image_token_index", 5).put("image_text_hidden_size", 12);
        c.putObject("vision_config").put("hidden_size", 48).put("num_hidden_layers", 3).put("num_attention_heads", 6)
                .put("intermediate_size", 96).put("image_size", 16).put("patch_size", 4).put("layer_norm_eps", 1e-5);
        c.putObject("qformer_config").put("hidden_size", 24).put("num_hidden_layers", 3).put("num_attention_heads", 3)
                .put("intermediate_size", 40).put("cross_attention_frequency", 2).put("encoder_hidden_size", 48)
                .put("vocab_size", 50).put("max_position_embeddings", 20).put("use_qformer_text_input", textInput);
        c.putObject("text_config").put("model_type", "opt").put("vocab_size", 70).put("hidden_size", 40)
                .put("word_embed_proj_dim", 24).put("num_hidden_layers", 3).put("num_attention_heads", 5).put("ffn_dim", 64)
                .put("max_position_embeddings", 40).put("bos_token_id", 1).put("eos_token_id", 2).put("pad_token_id", 0)
                .put("tie_word_embeddings", false);
        return c;
    }

    Path save(Module m, ObjectNode config, String name) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), config.toPrettyString());
        SafeTensors.save(dir.resolve("model.safetensors"), m.stateDict(), Map.of("format", "pt"));
        return dir;
    }

    static void assertSame(Map<String, Tensor> a, Map<String, Tensor> b) {
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) assertArrayEquals(a.get(k).toByteArray(), b.get(k).toByteArray(), k);
    }

    @Test
    void blip2GenerationOfAnotherShape() throws IOException {
        try (Scope s = Scope.open(); Generator gen = new Generator(1)) {
            ObjectNode cfg = blip2Config("Blip2ForConditionalGeneration", false);
            XFormerForConditionalGeneration m = new XFormerForConditionalGeneration(XFormerForConditionalGeneration.Config.from(cfg));
            m.initialize(gen, DType.F32, Device.CPU);
            assertTrue(m.namedParameters().containsKey("language_model.lm_head.weight"), "untied head");
            assertTrue(m.namedParameters().containsKey("language_model.model.decoder.project_in.weight"));
            assertFalse(m.namedParameters().containsKey("qformer.encoder.layer.1.crossattention.attention.query.weight"),
                    "cross-attention every 2nd layer only");
            Path dir = save(m, cfg, "blip2");
            Tensor pixels = Torch.randn(gen, DType.F32, Device.CPU, 2, 3, 16, 16);
            Tensor ids = Torch.tensor(new long[] {5, 5, 5, 1, 9, 12, 5, 5, 5, 1, 30, 31}, 2, 6);
            Map<String, Tensor> in = Map.of("pixel_values", pixels, "input_ids", ids);
            XFormerForConditionalGeneration.Output direct = m.forward(pixels, null, null, ids, null, null);
            assertArrayEquals(new long[] {2, 6, 70}, direct.logits().shape());
            try (Pretrained p = Pretrained.load(dir, Device.CPU, DType.F32)) {
                Map<String, Tensor> out = p.forward(new Pretrained.Inputs(in, "test"));
                assertArrayEquals(direct.logits().toFloatArray(), out.get("logits").toFloatArray());
                assertSame(m.stateDict(), p.module().stateDict());
                Tensor seq = p.generate(new Pretrained.Inputs(in, "test"), p.options(2, 4, 0, 1.0));
                assertArrayEquals(new long[] {2, 10}, seq.shape());
                assertArrayEquals(new long[] {5, 5, 5, 1, 9, 12}, java.util.Arrays.copyOf(seq.toLongArray(), 6));
            }
            m.close();
        }
    }

    @Test
    void retrievalOfAnotherShape() throws IOException {
        try (Scope s = Scope.open(); Generator gen = new Generator(2)) {
            ObjectNode cfg = blip2Config("Blip2ForImageTextRetrieval", true);
            Blip2Retrieval m = new Blip2Retrieval(Blip2Retrieval.Config.from(cfg));
            m.initialize(gen, DType.F32, Device.CPU);
            Path dir = save(m, cfg, "itm");
            Tensor pixels = Torch.randn(gen, DType.F32, Device.CPU, 2, 3, 16, 16);
            Tensor ids = Torch.tensor(new long[] {2, 7, 8, 3, 0, 2, 9, 10, 11, 3}, 2, 5);
            Tensor mask = Torch.tensor(new long[] {1, 1, 1, 1, 0, 1, 1, 1, 1, 1}, 2, 5);
            try (Pretrained p = Pretrained.load(dir, Device.CPU, DType.F32)) {
                Map<String, Tensor> out = p.forward(new Pretrained.Inputs(Map.of("pixel_values", pixels, "input_ids", ids,
                        "attention_mask", mask), "test"));
                assertArrayEquals(new long[] {2, 2}, out.get("itm_logits").shape());
                assertArrayEquals(new long[] {2, 3, 12}, out.get("itc_image_embeds").shape());
                Tensor image = m.visionModel.forward(pixels).lastHiddenState();
                assertArrayEquals(m.itm(image, ids, mask).toFloatArray(), out.get("itm_logits").toFloatArray());
            }
            m.close();
        }
    }

    @Test
    void vitMaeOfAnotherShapeWithNormPixLoss() throws IOException {
        try (Scope s = Scope.open(); Generator gen = new Generator(3)) {
            ObjectNode cfg = JSON.createObjectNode();
            cfg.putArray("architectures").add("ViTMAEForPreTraining");
            cfg.put("hidden_size", 24).put("num_hidden_layers", 3).put("num_attention_heads", 2).put("intermediate_size", 48)
                    .put("image_size", 24).put("patch_size", 4).put("mask_ratio", 0.75).put("norm_pix_loss", true)
                    .put("decoder_hidden_size", 12).put("decoder_num_hidden_layers", 2).put("decoder_num_attention_heads", 3)
                    .put("decoder_intermediate_size", 20);
            VitMae.ForPreTraining m = new VitMae.ForPreTraining(VitMae.Config.from(cfg));
            m.initialize(gen, DType.F32, Device.CPU);
            Path dir = save(m, cfg, "mae");
            Tensor pixels = Torch.randn(gen, DType.F32, Device.CPU, 2, 3, 24, 24);
            Tensor noise = Torch.rand(gen, DType.F32, Device.CPU, 2, 36);
            try (Pretrained p = Pretrained.load(dir, Device.CPU, DType.F32)) {
                Map<String, Tensor> out = p.forward(new Pretrained.Inputs(Map.of("pixel_values", pixels, "noise", noise), "test"));
                assertArrayEquals(new long[] {2, 1 + 9, 24}, out.get("encoder_last_hidden_state").shape());
                assertEquals(27.0 * 2, out.get("mask").sum().item(), 1e-6, "75% of 36 patches masked per image");
                assertArrayEquals(m.forward(pixels, noise).loss().toFloatArray(), out.get("loss").toFloatArray());
            }
            m.close();
        }
    }

    @Test
    void standaloneArchitecturesAndHalfPrecisionCheckpoints() throws IOException {
        try (Scope s = Scope.open(); Generator gen = new Generator(5)) {
            // OPTForCausalLM (tied head) stored in bf16, loaded as fp32
            ObjectNode opt = blip2Config("x", false).with("text_config").deepCopy();
            opt.putArray("architectures").add("OPTForCausalLM");
            opt.put("tie_word_embeddings", true).put("word_embed_proj_dim", 40);
            Opt lm = new Opt(Opt.Config.from(opt));
            lm.initialize(gen, DType.BF16, Device.CPU);
            assertFalse(lm.namedParameters().containsKey("lm_head.weight"), "tied head has no weight of its own");
            Path dir = save(lm, opt, "opt-bf16");
            Tensor ids = Torch.tensor(new long[] {1, 7, 9, 11}, 1, 4);
            try (Pretrained p = Pretrained.load(dir, Device.CPU, DType.F32)) {
                assertEquals(DType.F32, p.module().stateDict().get("model.decoder.embed_tokens.weight").dtype());
                Map<String, Tensor> out = p.forward(new Pretrained.Inputs(Map.of("input_ids", ids), "test"));
                Tensor expected = lm.forward(lm.embed(ids), null, null).to(DType.F32);
                assertTrue(Golden.maxAbsDiff(expected, out.get("logits")) < 0.1, "bf16 model vs its fp32 load");
                Tensor greedy = p.generate(new Pretrained.Inputs(Map.of("input_ids", ids), "test"), p.options(1, 5, 5, 1.0));
                assertArrayEquals(new long[] {1, 9}, greedy.shape(), "min_new_tokens keeps EOS away for 5 steps");
            }
            // ViTMAEModel (encoder only, keys without the vit. prefix) stored in fp16
            ObjectNode mae = JSON.createObjectNode();
            mae.putArray("architectures").add("ViTMAEModel");
            mae.put("hidden_size", 16).put("num_hidden_layers", 1).put("num_attention_heads", 2).put("intermediate_size", 32)
                    .put("image_size", 16).put("patch_size", 8).put("mask_ratio", 0.5);
            VitMae.Encoder enc = new VitMae.Encoder(VitMae.Config.from(mae));
            enc.initialize(gen, DType.F16, Device.CPU);
            assertTrue(enc.namedParameters().containsKey("embeddings.cls_token"));
            Path encDir = save(enc, mae, "mae-f16");
            try (Pretrained p = Pretrained.load(encDir, Device.CPU, null)) {
                assertEquals(DType.F16, p.module().stateDict().get("layernorm.weight").dtype(), "null dtype keeps the file's");
            }
            // (CPU libtorch 1.13 has no fp16 matmul: compute in fp32)
            try (Pretrained p = Pretrained.load(encDir, Device.CPU, DType.F32)) {
                Map<String, Tensor> out = p.forward(new Pretrained.Inputs(Map.of(
                        "pixel_values", Torch.randn(gen, DType.F32, Device.CPU, 1, 3, 16, 16)), "test"));
                assertArrayEquals(new long[] {1, 3, 16}, out.get("encoder_last_hidden_state").shape());
            }
            lm.close();
            enc.close();
        }
    }

    @Test
    void strictLoadReportsEveryBadKey() throws IOException {
        try (Scope s = Scope.open(); Generator gen = new Generator(4)) {
            ObjectNode cfg = blip2Config("Blip2ForConditionalGeneration", false);
            XFormerForConditionalGeneration m = new XFormerForConditionalGeneration(XFormerForConditionalGeneration.Config.from(cfg));
            m.initialize(gen, DType.F32, Device.CPU);
            Map<String, Tensor> sd = new java.util.LinkedHashMap<>(m.stateDict());
            sd.remove("query_tokens");
            sd.put("extra.weight", Torch.zeros(2));
            sd.put("language_projection.bias", Torch.zeros(7));
            Module.LoadReport r = new XFormerForConditionalGeneration(XFormerForConditionalGeneration.Config.from(cfg))
                    .loadStateDict(Module.TensorSource.of(sd), null, DType.F32, Device.CPU, false);
            assertEquals(java.util.List.of("query_tokens"), r.missing(), "a mis-shaped key is reported once, as a mismatch");
            assertEquals(java.util.List.of("extra.weight"), r.unexpected());
            assertEquals(1, r.mismatched().size());
            assertTrue(r.mismatched().get(0).contains("language_projection.bias") && r.mismatched().get(0).contains("[7]"));
            io.xformer.nn.InputException e = assertThrows(io.xformer.nn.InputException.class, () -> new XFormerForConditionalGeneration(
                    XFormerForConditionalGeneration.Config.from(cfg)).loadStateDict(Module.TensorSource.of(sd), null, DType.F32, Device.CPU, true));
            assertTrue(e.getMessage().contains("query_tokens") && e.getMessage().contains("extra.weight"), e.getMessage());
            // bf16 on load: floating weights converted, the parameter count unchanged
            XFormerForConditionalGeneration half = new XFormerForConditionalGeneration(XFormerForConditionalGeneration.Config.from(cfg));
            half.loadStateDict(Module.TensorSource.of(m.stateDict()), null, DType.BF16, Device.CPU, true);
            assertEquals(DType.BF16, half.queryTokens.get().dtype());
            assertEquals(m.numParameters(), half.numParameters());
            half.requiresGrad(false);
            assertEquals(0, half.numTrainable());
            m.close();
            half.close();
        }
    }
}
