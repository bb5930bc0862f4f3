package io.xformer.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.models.XFormer;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Generator;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LAVIS's Q-Former init from bert-base-uncased, on a BERT-layout checkpoint of the tiny size. */
class InitTest {
    @TempDir
    Path tmp;

    static XFormer tiny() throws IOException {
        var c = new ObjectMapper().readTree(Stage1TrainerTest.ROOT.resolve("configs/tiny.json").toFile()).get("model");
        return new XFormer(XFormer.Config.from(c));
    }

    @Test
    void bertWeightsSeedTheQFormerAsLavisDoes() throws IOException {
        try (Scope s = Scope.open(); Generator g = new Generator(1)) {
            XFormer m = tiny();
            m.initialize(g, DType.F32, Device.CPU, 0.02);
            Tensor crossBefore = m.namedParameters().get("qformer.encoder.layer.0.crossattention.attention.query.weight").get().clone();
            Tensor wordsBefore = m.embeddings.words.weight.get().clone();
            int d = 32, v = 160, inter = 128;
            Map<String, Tensor> bert = new LinkedHashMap<>();
            bert.put("bert.embeddings.word_embeddings.weight", Torch.randn(v - 1, d)); // BERT lacks [DEC]
            bert.put("bert.embeddings.position_embeddings.weight", Torch.randn(64, d));
            bert.put("bert.embeddings.LayerNorm.gamma", Torch.randn(d));
            bert.put("bert.embeddings.LayerNorm.beta", Torch.randn(d));
            for (int l = 0; l < 2; l++) {
                String p = "bert.encoder.layer." + l + ".";
                for (String x : new String[] {"query", "key", "value"}) {
                    bert.put(p + "attention.self." + x + ".weight", Torch.randn(d, d));
                    bert.put(p + "attention.self." + x + ".bias", Torch.randn(d));
                }
                bert.put(p + "attention.output.dense.weight", Torch.randn(d, d));
                bert.put(p + "attention.output.dense.bias", Torch.randn(d));
                bert.put(p + "attention.output.LayerNorm.weight", Torch.randn(d));
                bert.put(p + "attention.output.LayerNorm.bias", Torch.randn(d));
                bert.put(p + "intermediate.dense.weight", Torch.randn(inter, d));
                bert.put(p + "intermediate.dense.bias", Torch.randn(inter));
                bert.put(p + "output.dense.weight", Torch.randn(d, inter));
                bert.put(p + "output.dense.bias", Torch.randn(d));
                bert.put(p + "output.LayerNorm.weight", Torch.randn(d));
                bert.put(p + "output.LayerNorm.bias", Torch.randn(d));
            }
            bert.put("cls.predictions.bias", Torch.randn(v - 1));
            bert.put("cls.predictions.transform.dense.weight", Torch.randn(d, d));
            Path dir = tmp.resolve("bert");
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"BertForMaskedLM\"]}");
            SafeTensors.save(dir.resolve("model.safetensors"), bert, Map.of());

            Init.qformer(m, dir, Device.CPU);
            Map<String, io.xformer.nn.Parameter> p = m.namedParameters();
            String l1 = "qformer.encoder.layer.1.";
            assertArrayEquals(bert.get("bert.encoder.layer.1.attention.self.value.weight").toFloatArray(),
                    p.get(l1 + "attention.attention.value.weight").get().toFloatArray());
            assertArrayEquals(bert.get("bert.encoder.layer.1.intermediate.dense.weight").toFloatArray(),
                    p.get(l1 + "intermediate_query.dense.weight").get().toFloatArray(), "query FFN copied from the text FFN");
            assertArrayEquals(bert.get("bert.encoder.layer.1.output.LayerNorm.bias").toFloatArray(),
                    p.get(l1 + "output_query.LayerNorm.bias").get().toFloatArray());
            assertArrayEquals(bert.get("bert.encoder.layer.1.output.dense.weight").toFloatArray(),
                    p.get(l1 + "output.dense.weight").get().toFloatArray());
            assertArrayEquals(bert.get("bert.embeddings.LayerNorm.gamma").toFloatArray(), p.get("qformer.layernorm.weight").get().toFloatArray());
            assertArrayEquals(crossBefore.toFloatArray(),
                    p.get("qformer.encoder.layer.0.crossattention.attention.query.weight").get().toFloatArray(), "cross-attention stays fresh");
            Tensor words = m.embeddings.words.weight.get();
            assertArrayEquals(bert.get("bert.embeddings.word_embeddings.weight").toFloatArray(), words.narrow(0, 0, v - 1).toFloatArray());
            assertArrayEquals(wordsBefore.narrow(0, v - 1, 1).toFloatArray(), words.narrow(0, v - 1, 1).toFloatArray(), "[DEC] row kept");
            assertArrayEquals(bert.get("cls.predictions.transform.dense.weight").toFloatArray(),
                    p.get("cls.predictions.transform.dense.weight").get().toFloatArray());
            m.close();
        }
    }

    @Test
    void encodersComeFromTheirHfFolders() throws IOException {
        try (Scope s = Scope.open()) {
            // a ViTMAEForPreTraining folder (saved key names) of the tiny MAE's shape
            XFormer m = tiny();
            try (Generator g = new Generator(2)) {
                m.initialize(g, DType.F32, Device.CPU, 0.02);
            }
            Path mae = tmp.resolve("mae");
            Files.createDirectories(mae);
            Files.writeString(mae.resolve("config.json"), "{\"architectures\": [\"ViTMAEForPreTraining\"]}");
            Map<String, Tensor> sd = new LinkedHashMap<>();
            m.mae.stateDict().forEach((k, v) -> sd.put(k, v.mul(2)));
            SafeTensors.save(mae.resolve("model.safetensors"), sd, Map.of());
            Init.part(m, mae, k -> k.startsWith("vit.") || k.startsWith("decoder.") ? "mae." + k : null, "mae.", Device.CPU);
            assertArrayEquals(sd.get("vit.layernorm.weight").toFloatArray(), m.mae.vit.namedParameters().get("layernorm.weight").get().toFloatArray());
            // a folder that lacks part of the encoder is refused, naming what is missing
            sd.remove("vit.layernorm.weight");
            SafeTensors.save(mae.resolve("model.safetensors"), sd, Map.of());
            var e = assertThrows(io.xformer.nn.TorchException.class, () -> Init.part(m, mae,
                    k -> k.startsWith("vit.") || k.startsWith("decoder.") ? "mae." + k : null, "mae.", Device.CPU));
            assertTrue(e.getMessage().contains("mae.vit.layernorm.weight"), e.getMessage());
            m.close();
        }
    }
}
