package io.xformer.models;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.hf.HfCheckpoint;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.InputException;
import io.xformer.nn.TorchException;
import io.xformer.nn.TorchPickle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** torch.save checkpoints (fixtures written by PyTorch 2.6) read through libtorch's restricted unpickler. */
class PickleCheckpointTest {
    static final Path PICKLE = Golden.ROOT.resolve("test-data/pytorch-pickle");
    static final Path XF = Golden.ROOT.resolve("test-data/xformer-tiny");

    @TempDir
    Path tmp;

    /** Runs a checkpoint on a golden file's inputs. */
    static Map<String, Tensor> run(Pretrained p, Map<String, Tensor> golden) {
        return p.forward(new Pretrained.Inputs(golden, "golden"));
    }

    /** Compares every output the golden file holds; returns how many were compared. */
    static int compare(Map<String, Tensor> golden, Map<String, Tensor> out, double tol) {
        int n = 0;
        for (var e : out.entrySet()) {
            Tensor g = golden.get(e.getKey());
            if (g == null) continue;
            Golden.assertClose(e.getKey(), g, e.getValue(), tol);
            n++;
        }
        return n;
    }

    @Test
    void pytorchModelBinGivesTheSafetensorsOutputsExactly() {
        try (Scope s = Scope.open();
             HfCheckpoint bin = HfCheckpoint.open(PICKLE.resolve("vit-mae-tiny-bin"));
             HfCheckpoint st = HfCheckpoint.open(Golden.HF.resolve("vit-mae-tiny"))) {
            assertEquals(List.of(PICKLE.resolve("vit-mae-tiny-bin/pytorch_model.bin")), bin.files());
            assertEquals(st.names(), bin.names());
            for (String n : st.names()) assertArrayEquals(st.get(n).toByteArray(), bin.get(n).toByteArray(), n);
            Map<String, Tensor> g = Golden.load("vit-mae-tiny");
            try (Pretrained a = Pretrained.load(PICKLE.resolve("vit-mae-tiny-bin"), Device.CPU, DType.F32);
                 Pretrained b = Pretrained.load(Golden.HF.resolve("vit-mae-tiny"), Device.CPU, DType.F32)) {
                Map<String, Tensor> x = run(a, g), y = run(b, g);
                assertEquals(y.keySet(), x.keySet());
                for (String k : y.keySet()) assertArrayEquals(y.get(k).toByteArray(), x.get(k).toByteArray(), k);
                assertEquals(5, compare(g, x, 1e-4));
            }
        }
    }

    @Test
    void shardedBinWithSharedStorageReproducesTheGolden() {
        try (Scope s = Scope.open();
             HfCheckpoint bin = HfCheckpoint.open(PICKLE.resolve("blip2-opt-tiny-bin-sharded"));
             HfCheckpoint st = HfCheckpoint.open(Golden.HF.resolve("blip2-opt-tiny"))) {
            assertEquals(3, bin.files().size());
            assertEquals(st.names(), bin.names());
            // the view in shard 1 must read its own slice of the shared storage
            for (String n : st.names()) assertArrayEquals(st.get(n).toByteArray(), bin.get(n).toByteArray(), n);
            Map<String, Tensor> g = Golden.load("blip2-opt-tiny");
            try (Pretrained p = Pretrained.load(PICKLE.resolve("blip2-opt-tiny-bin-sharded"), Device.CPU, DType.F32)) {
                assertEquals(6, compare(g, run(p, g), 1e-4));
            }
        }
    }

    @Test
    void lavisTrainingCheckpointLoadsItsModelEntry() throws IOException {
        Path pth = PICKLE.resolve("blip2-itm-tiny-lavis/checkpoint_3.pth");
        List<String> bf16 = new com.fasterxml.jackson.databind.ObjectMapper().readValue(
                PICKLE.resolve("blip2-itm-tiny-lavis/bf16_keys.json").toFile(), new com.fasterxml.jackson.core.type.TypeReference<List<String>>() {});
        try (Scope s = Scope.open(); TorchPickle auto = TorchPickle.open(pth, null); TorchPickle named = TorchPickle.open(pth, "model")) {
            assertEquals("model", auto.stateKey());
            assertEquals(auto.names(), named.names());
            int nBf16 = 0;
            for (String n : auto.names()) {
                DType want = bf16.contains(n) ? DType.BF16 : DType.F32;
                assertEquals(want, auto.entry(n).dtype(), n);
                if (want == DType.BF16) nBf16++;
            }
            assertEquals(bf16.size(), nBf16);
            assertTrue(nBf16 > 10 && nBf16 < auto.names().size(), "bf16 and fp32 mixed");
        }
        try (Scope s = Scope.open(); Pretrained p = Pretrained.load(pth, Device.CPU, DType.F32)) {
            Map<String, Tensor> g = Golden.load("blip2-itm-tiny");
            // bf16 weights (8 significant bits) against an fp32 golden
            assertEquals(4, compare(g, run(p, g), 2e-2));
        }
        try (Scope s = Scope.open(); Pretrained p = Pretrained.load(pth, Device.CPU, DType.F32, "model")) {
            assertEquals("Blip2ForImageTextRetrieval", p.architecture());
        }
    }

    @Test
    void nonTensorEntriesAndUnknownKeysAreRefusedNamingTheFile() {
        Path pth = PICKLE.resolve("blip2-itm-tiny-lavis/checkpoint_3.pth");
        for (String key : new String[] {"epoch", "config", "optimizer", "nothing.here"}) {
            InputException e = assertThrows(InputException.class, () -> TorchPickle.open(pth, key));
            assertTrue(e.getMessage().startsWith(pth.toString()), e.getMessage());
            System.out.println("refused: " + e.getMessage());
        }
    }

    @Test
    void hostileFilesAreRefusedAndRunNothing() throws IOException {
        Path pwned = Path.of("/tmp/xformer-pickle-pwned");
        assertFalse(Files.exists(pwned), pwned + " exists before the test: remove it");
        for (String f : new String[] {"arbitrary-callable.pth", "legacy-format.bin", "truncated.bin"}) {
            Path p = PICKLE.resolve("hostile").resolve(f);
            RuntimeException e = assertThrows(InputException.class, () -> TorchPickle.open(p, null));
            assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
            System.out.println("refused: " + e.getMessage());
            // through the model-folder path too
            Path dir = tmp.resolve(f.replace('.', '_'));
            Files.createDirectories(dir);
            Files.copy(Golden.HF.resolve("vit-mae-tiny/config.json"), dir.resolve("config.json"));
            Files.copy(p, dir.resolve("pytorch_model.bin"));
            e = assertThrows(InputException.class, () -> Pretrained.load(dir, Device.CPU, DType.F32));
            assertTrue(e.getMessage().contains(dir.resolve("pytorch_model.bin").toString()), e.getMessage());
        }
        Path legacy = PICKLE.resolve("hostile/legacy-format.bin");
        assertTrue(assertThrows(InputException.class, () -> TorchPickle.open(legacy, null)).getMessage().contains("legacy (pre-1.6"));
        assertFalse(Files.exists(pwned), "the arbitrary-callable payload ran");
    }

    /** transformers' names -> LAVIS's (the inverse of convert_blip_2_original_to_pytorch.py), written out independently. */
    static Map<String, Tensor> toLavis(Map<String, Tensor> hf) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : hf.entrySet()) {
            String k = e.getKey();
            Tensor v = e.getValue();
            if (k.matches("vision_model\\.encoder\\.layers\\.\\d+\\.self_attn\\.qkv\\.bias")) {
                String b = k.replace("vision_model.encoder.layers.", "visual_encoder.blocks.").replace(".self_attn.qkv.bias", ".attn.");
                long d = v.size(0) / 3;
                out.put(b + "q_bias", v.narrow(0, 0, d).contiguous());
                out.put(b + "v_bias", v.narrow(0, 2 * d, d).contiguous());
                continue;
            }
            String l = k.replace("vision_model.embeddings.class_embedding", "visual_encoder.cls_token")
                    .replace("vision_model.embeddings.position_embedding", "visual_encoder.pos_embed")
                    .replace("vision_model.embeddings.patch_embedding.", "visual_encoder.patch_embed.proj.")
                    .replace("vision_model.post_layernorm.", "ln_vision.")
                    .replace("vision_model.encoder.layers.", "visual_encoder.blocks.")
                    .replace(".layer_norm1.", ".norm1.").replace(".layer_norm2.", ".norm2.")
                    .replace(".self_attn.qkv.", ".attn.qkv.").replace(".self_attn.projection.", ".attn.proj.")
                    .replace("qformer.layernorm.", "Qformer.bert.embeddings.LayerNorm.")
                    .replace("embeddings.word_embeddings.", "Qformer.bert.embeddings.word_embeddings.")
                    .replace("embeddings.position_embeddings.", "Qformer.bert.embeddings.position_embeddings.")
                    .replace("vision_projection.", "vision_proj.").replace("text_projection.", "text_proj.")
                    .replace("language_projection.", "opt_proj.").replace("language_model.", "opt_model.");
            if (l.startsWith("qformer.")) l = "Qformer.bert." + l.substring(8).replace("attention.attention.", "attention.self.");
            if (l.startsWith("cls.")) l = "Qformer." + l;
            out.put(l, v);
        }
        return out;
    }

    /** Saves a checkpoint's tensors under LAVIS's names as {"model": state_dict}, config.json beside it. */
    Path lavisFile(Path hfDir, String name, Map<String, Tensor> extra) throws IOException {
        Path dir = tmp.resolve(name.replace('.', '_'));
        Files.createDirectories(dir);
        Files.copy(hfDir.resolve("config.json"), dir.resolve("config.json"));
        try (Scope s = Scope.open(); HfCheckpoint c = HfCheckpoint.open(hfDir)) {
            Map<String, Tensor> hf = new LinkedHashMap<>();
            for (String n : c.names()) hf.put(n, c.get(n));
            Map<String, Tensor> lavis = toLavis(hf);
            assertTrue(lavis.keySet().stream().noneMatch(k -> k.startsWith("vision_model.") || k.startsWith("qformer.")));
            lavis.putAll(extra);
            TorchPickle.save(dir.resolve(name), lavis, "model");
        }
        return dir.resolve(name);
    }

    @Test
    void lavisStage1CheckpointInitialisesTheStage1Model() throws IOException {
        Path pth;
        try (Scope s = Scope.open()) {
            // LAVIS also saves the tied decoder copies and position_ids, which have no slot here
            Map<String, Tensor> extra = new HashMap<>();
            extra.put("Qformer.bert.embeddings.position_ids", io.xformer.nn.Torch.arange(0, 64, 1, DType.I64, Device.CPU).reshape(1, 64));
            extra.put("Qformer.cls.predictions.decoder.weight", io.xformer.nn.Torch.zeros(160, 32));
            pth = lavisFile(XF.resolve("blip2-stage1-tiny"), "blip2_pretrained.pth", extra);
        }
        try (Scope s = Scope.open(); HfCheckpoint c = HfCheckpoint.open(pth); TorchPickle f = TorchPickle.open(pth, null)) {
            assertTrue(c.isLavis());
            assertEquals("model", f.stateKey());
            assertTrue(c.names().contains("vision_model.encoder.layers.1.self_attn.qkv.bias"), "q_bias + v_bias merged");
        }
        try (Scope s = Scope.open(); Pretrained p = Pretrained.load(pth, Device.CPU, DType.F32)) {
            Map<String, Tensor> g = io.xformer.nn.SafeTensors.load(XF.resolve("blip2-stage1-tiny/golden.safetensors"));
            assertTrue(compare(g, run(p, g), 1e-4) >= 8);
        }
    }

    @Test
    void lavisStage1CheckpointSeedsXFormerThroughTrainingInit() throws IOException {
        Path pth = lavisFile(XF.resolve("blip2-stage1-tiny"), "blip2_pretrained.pth", Map.of());
        try (Scope s = Scope.open(); HfCheckpoint want = HfCheckpoint.open(XF.resolve("blip2-stage1-tiny"))) {
            var cfg = new com.fasterxml.jackson.databind.ObjectMapper().readTree(XF.resolve("xformer-tiny/config.json").toFile());
            XFormer m = new XFormer(XFormer.Config.from(cfg));
            // init.vision and init.qformer given as the LAVIS file, as a training config would
            io.xformer.train.Init.apply(m, new io.xformer.train.TrainConfig.Init(null, pth, null, pth, 0, 0.02), Device.CPU);
            var params = m.namedParameters();
            int same = 0;
            for (String n : want.names()) {
                if (!(n.startsWith("vision_model.") || n.startsWith("qformer.") || n.equals("query_tokens") || n.startsWith("embeddings.")
                        || n.startsWith("vision_projection.") || n.startsWith("text_projection.") || n.startsWith("itm_head."))) continue;
                Tensor w = want.get(n), got = params.get(n).get();
                if (n.endsWith("self_attn.qkv.bias")) {
                    // LAVIS stores only q and v biases (EVA has no key bias): the key third comes back as zeros,
                    // which changes no output (q . b_k is the same for every key, and softmax ignores it)
                    long d = w.size(0) / 3;
                    assertArrayEquals(w.narrow(0, 0, d).toFloatArray(), got.narrow(0, 0, d).toFloatArray(), n + " q");
                    assertArrayEquals(new float[(int) d], got.narrow(0, d, d).toFloatArray(), n + " k");
                    assertArrayEquals(w.narrow(0, 2 * d, d).toFloatArray(), got.narrow(0, 2 * d, d).toFloatArray(), n + " v");
                } else {
                    assertArrayEquals(w.toByteArray(), got.toByteArray(), n);
                }
                same++;
            }
            assertTrue(same > 100, same + " tensors compared");
            assertTrue(params.keySet().stream().anyMatch(k -> k.startsWith("xformer.")), "an X-Former, with its own block");
            m.close();
        }
    }

    @Test
    void lavisOptCheckpointInitialisesStage2() throws IOException {
        Path pth = lavisFile(Golden.HF.resolve("blip2-opt-tiny"), "blip2_pretrained_opt2.7b.pth", Map.of());
        try (Scope s = Scope.open(); Pretrained p = Pretrained.load(pth, Device.CPU, DType.F32)) {
            Map<String, Tensor> g = Golden.load("blip2-opt-tiny");
            assertEquals(6, compare(g, run(p, g), 1e-4));
        }
    }

    @Test
    void lavisItmCheckpointLoadsIntoTransformersRetrievalWithoutItsLmHead() throws IOException {
        Map<String, Tensor> extra = new HashMap<>();
        try (Scope s = Scope.open()) {
            extra.put("temp", io.xformer.nn.Torch.full(0.07, DType.F32, Device.CPU));
            extra.put("Qformer.cls.predictions.bias", io.xformer.nn.Torch.zeros(160));
            Path pth = lavisFile(Golden.HF.resolve("blip2-itm-tiny"), "model_itm.pth", extra);
            try (Pretrained p = Pretrained.load(pth, Device.CPU, DType.F32)) {
                Map<String, Tensor> g = Golden.load("blip2-itm-tiny");
                assertEquals(4, compare(g, run(p, g), 1e-4));
            }
        }
    }
}
