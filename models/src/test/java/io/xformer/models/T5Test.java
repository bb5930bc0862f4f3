package io.xformer.models;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.hf.HfCheckpoint;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Generator;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class T5Test {
    static long[] buckets(long[] relative, boolean bidirectional, int numBuckets, int maxDistance) {
        try (Scope s = Scope.open()) {
            return T5.bucket(Torch.tensor(relative, relative.length), bidirectional, numBuckets, maxDistance).toLongArray();
        }
    }

    /**
     * 8 buckets, max distance 16. Bidirectional: 4 per sign (keys after the query get +4),
     * exact below 2, then 2 + trunc(ln(d/2) / ln(16/2) * 2) capped at 3: d=4 -> 2 + trunc(0.667) = 2,
     * d=8 -> 2 + trunc(1.333) = 3, d=16 -> 2 + 2 = 4 -> 3. Causal: 8 buckets for the past only,
     * exact below 4, then 4 + trunc(ln(d/4) / ln(16/4) * 4) capped at 7: d=5 -> 4 + trunc(0.644) = 4,
     * d=9 -> 4 + trunc(2.34) = 6, d=30 -> 4 + trunc(5.81) = 9 -> 7; future keys -> 0.
     */
    @Test
    void relativePositionBucketsFollowTransformers() {
        long[] rel = {0, -1, 1, -4, 4, -8, 8, -16, 16};
        assertArrayEquals(new long[] {0, 1, 5, 2, 6, 3, 7, 3, 7}, buckets(rel, true, 8, 16));
        long[] past = {0, -3, 3, -5, -9, -30, 7};
        assertArrayEquals(new long[] {0, 3, 0, 4, 6, 7, 0}, buckets(past, false, 8, 16));
    }

    @Test
    void incrementalDecodingEqualsTheFullPass() {
        try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve("blip2-t5-tiny"))) {
            Blip2T5 m = Blip2T5ParityTest.load(ckpt);
            Map<String, Tensor> g = Golden.load("blip2-t5-tiny");
            T5 lm = m.languageModel;
            Tensor memory = g.get("encoder_last_hidden_state"), mask = g.get("attention_mask"), dec = g.get("decoder_input_ids");
            Tensor full = lm.decode(dec, memory, mask, null);
            try (T5.Cache cache = new T5.Cache()) {
                long l = dec.size(1);
                Tensor first = lm.decode(dec.narrow(1, 0, 3), memory, mask, cache);
                Golden.assertClose("cached prefix", full.narrow(1, 0, 3), first, 1e-5);
                for (long t = 3; t < l; t++) {
                    Tensor step = lm.decode(dec.narrow(1, t, 1), memory, mask, cache);
                    Golden.assertClose("cached step " + t, full.narrow(1, t, 1), step, 1e-5);
                }
                assertEquals(l, cache.length());
            }
            m.close();
        }
    }

    @Test
    void paddedEncoderPositionsDoNotChangeTheOthers() {
        try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve("blip2-t5-tiny"))) {
            Blip2T5 m = Blip2T5ParityTest.load(ckpt);
            T5 lm = m.languageModel;
            Tensor x = Torch.randn(new Generator(3), DType.F32, Device.CPU, 1, 5, 32);
            Tensor alone = lm.encode(x.narrow(1, 0, 3), null);
            Tensor padded = lm.encode(x, Torch.tensor(new long[] {1, 1, 1, 0, 0}, 1, 5));
            Golden.assertClose("unpadded rows", alone, padded.narrow(1, 0, 3), 1e-5);
            m.close();
        }
    }

    @Test
    void badConfigsAreNamed() {
        ObjectMapper om = new ObjectMapper();
        ObjectNode c = om.createObjectNode().put("model_type", "t5").put("feed_forward_proj", "gated-gelu-x");
        TorchException e = assertThrows(TorchException.class, () -> T5.Config.from(c));
        assertTrue(e.getMessage().contains("feed_forward_proj"), e.getMessage());
        ObjectNode opt = om.createObjectNode().put("model_type", "opt");
        assertTrue(assertThrows(TorchException.class, () -> T5.Config.from(opt)).getMessage().contains("'opt'"));
        ObjectNode act = om.createObjectNode().put("feed_forward_proj", "gated-mish");
        assertTrue(assertThrows(TorchException.class, () -> new T5(T5.Config.from(act))).getMessage().contains("mish"));
    }

    @Test
    void flanT5ConfigKeepsTheHeadUntiedAndUnscaled() {
        ObjectNode c = new ObjectMapper().createObjectNode().put("model_type", "t5").put("feed_forward_proj", "gated-gelu")
                .put("tie_word_embeddings", false);
        T5.Config t = T5.Config.from(c);
        assertTrue(t.ownLmHead());
        assertFalse(t.scaleDecoderOutputs());
        T5.Config original = T5.Config.from(new ObjectMapper().createObjectNode());
        assertTrue(original.scaleDecoderOutputs(), "original T5: tied and rescaled");
        assertFalse(original.ownLmHead());
        assertEquals("relu", original.activation());
        assertFalse(original.gated());
    }

    /**
     * configs/xformer-flant5xl.json's text_config is Flan-T5-XL: 2,849,757,184 parameters, as
     * google/flan-t5-xl. By hand: embeddings and untied head 2 x 32128 x 2048 = 131,596,288;
     * encoder block 4 x 2048^2 (attention) + 3 x 2048 x 5120 (wi_0, wi_1, wo) + 2 x 2048 (norms)
     * = 48,238,592, x 24 = 1,157,726,208; decoder block adds cross-attention and a norm:
     * 65,017,856, x 24 = 1,560,428,544; two position-bias tables 2 x 32 x 32 and two final norms
     * 2 x 2048: 6,144. Building the module allocates nothing.
     */
    @Test
    void flanT5XlConfigHasFlanT5XlsParameterCount() throws java.io.IOException {
        var root = new ObjectMapper().readTree(Golden.ROOT.resolve("configs/xformer-flant5xl.json").toFile());
        T5.Config c = T5.Config.from(root.get("model").get("text_config"));
        assertTrue(c.ownLmHead());
        assertFalse(c.scaleDecoderOutputs());
        assertEquals(2_849_757_184L, new T5(c).numParameters());
    }

    /**
     * A bare T5ForConditionalGeneration folder, as google/flan-t5-* are saved: blip2-t5-tiny's
     * language_model.* without the prefix, plus the stored copies encoder/decoder.embed_tokens.
     */
    @Test
    void loadsAT5ForConditionalGenerationFolder(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws java.io.IOException {
        try (Scope s = Scope.open(); HfCheckpoint blip = HfCheckpoint.open(Golden.HF.resolve("blip2-t5-tiny"))) {
            Map<String, Tensor> lm = new java.util.LinkedHashMap<>();
            for (String k : blip.names())
                if (k.startsWith("language_model.")) lm.put(k.substring("language_model.".length()), blip.get(k));
            lm.put("encoder.embed_tokens.weight", lm.get("shared.weight"));
            lm.put("decoder.embed_tokens.weight", lm.get("shared.weight"));
            io.xformer.nn.SafeTensors.save(dir.resolve("model.safetensors"), lm, Map.of("format", "pt"));
            ObjectNode cfg = ((ObjectNode) blip.config().get("text_config").deepCopy());
            cfg.putArray("architectures").add("T5ForConditionalGeneration");
            new ObjectMapper().writeValue(dir.resolve("config.json").toFile(), cfg);
            try (HfCheckpoint ckpt = HfCheckpoint.open(dir)) {
                T5 t5 = T5.load(ckpt, DType.F32, Device.CPU);
                assertTrue(t5.cfg.ownLmHead());
                Map<String, Tensor> g = Golden.load("blip2-t5-tiny");
                Tensor logits = t5.decode(g.get("decoder_input_ids"), g.get("encoder_last_hidden_state"), g.get("attention_mask"), null);
                Golden.assertClose("bare T5 folder logits", g.get("logits"), logits, 1e-4);
                t5.close();
            }
        }
    }

    /** Training mode drops out (embeddings, sublayers, attention weights, as transformers' T5); eval mode is deterministic. */
    @Test
    void dropoutOnlyInTrainingMode() {
        try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(Golden.HF.resolve("blip2-t5-tiny"))) {
            Blip2T5 m = Blip2T5ParityTest.load(ckpt);
            Map<String, Tensor> g = Golden.load("blip2-t5-tiny");
            T5 lm = m.languageModel;
            Tensor x = lm.embed(g.get("decoder_input_ids"));
            lm.train(true);
            double changed = Golden.maxAbsDiff(lm.encode(x, null), lm.encode(x, null));
            lm.train(false);
            assertTrue(changed > 1e-3, "two training passes differ by " + changed);
            assertEquals(0.0, Golden.maxAbsDiff(lm.encode(x, null), lm.encode(x, null)));
            m.close();
        }
    }
}
