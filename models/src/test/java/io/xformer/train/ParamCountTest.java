package io.xformer.train;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Stage-2 and VQA counts of the paper-scale configs, differences derived by hand. */
class ParamCountTest {
    static ParamCount.Counts count(String config, String stage) {
        return ParamCount.of(TrainConfig.load(Stage1TrainerTest.ROOT.resolve("configs/" + config)), stage);
    }

    @Test
    void vqaAddsTheQuestionPathAndTheClipLayerNorms() {
        ParamCount.Counts s2 = count("xformer-opt2.7b.json", "2"), vqa = count("xformer-opt2.7b.json", "vqa");
        // text FFN per layer: 768x3072 + 3072 + 3072x768 + 768 + LayerNorm 2x768 = 4,723,968; 12 Q-Former layers + block 2
        long ffn = 13L * (768 * 3072 + 3072 + 3072 * 768 + 768 + 2 * 768);
        // EVA ViT-g LayerNorms: 39 layers x 2 + post_layernorm, weight and bias of 1408 each
        long norms = (39 * 2 + 1) * 2L * 1408;
        // word (30522 + [DEC]) and position (512) embeddings of width 768
        long embeddings = (30523L + 512) * 768;
        assertEquals(ffn + norms + embeddings, vqa.trainable() - s2.trainable());
        assertEquals(s2.trainable() + s2.frozen(), vqa.trainable() + vqa.frozen() - (long) (35 * 35 - 16 * 16) * 1408 - (35 * 35 - 16 * 16) * 1280L,
                "490 px: 35x35 instead of 16x16 patches in both ViTs' position tables (patch 14), frozen");
    }

    @Test
    void flanT5ChangesOnlyTheProjectionWidthAmongTrainables() {
        ParamCount.Counts opt = count("xformer-opt2.7b.json", "2"), t5 = count("xformer-flant5xl.json", "2");
        // language_projection 768 -> 2560 (OPT-2.7B) vs 768 -> 2048 (Flan-T5-XL), weight and bias
        assertEquals(768L * (2560 - 2048) + (2560 - 2048), opt.trainable() - t5.trainable());
        assertTrue(t5.frozen() > 2_800_000_000L, "Flan-T5-XL (2.85B) is frozen: " + t5.frozen());
    }
}
