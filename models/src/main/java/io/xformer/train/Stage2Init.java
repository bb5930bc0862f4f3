package io.xformer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.hf.HfCheckpoint;
import io.xformer.models.Variant;
import io.xformer.models.XFormer;
import io.xformer.models.XFormerForConditionalGeneration;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Generator;
import io.xformer.nn.Module;
import io.xformer.nn.TorchException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Initial weights of a stage-2 model (DESIGN.md "Stage 2", Init): a whole stage-2 folder, or a
 * stage-1 folder (XFormerForPreTraining) for the X-Former plus an LLM folder (OPTForCausalLM,
 * T5ForConditionalGeneration, or the {@code language_model.*} of a BLIP-2 folder) plus a fresh
 * {@code language_projection}. The stage-1 heads (ITC, ITM, ITG), {@code temp} and the MAE
 * decoder are left behind; the text embeddings and text FFNs stay when the Q-Former takes text.
 */
public final class Stage2Init {
    private Stage2Init() {}

    /** Stage-1 keys stage 2 does not carry. */
    static boolean stage1Only(String k) {
        return k.startsWith("cls.") || k.startsWith("itm_head.") || k.startsWith("vision_projection.") || k.startsWith("text_projection.")
                || k.equals("temp") || k.startsWith("mae.decoder.");
    }

    /**
     * The stage-2 config.json: the stage-1 config's vision, Q-Former, MAE and query settings, the
     * LLM's config as text_config, image_token_index, and the overrides (e.g. stage2_mae_mask_ratio).
     */
    public static ObjectNode config(JsonNode stage1, JsonNode llmConfig, String llmArchitecture, JsonNode overrides) {
        ObjectNode c = ((ObjectNode) stage1).deepCopy();
        for (String k : List.of("architectures", "image_text_hidden_size", "dec_token_id", "label_smoothing", "early_ca_layers")) c.remove(k);
        String variant = c.path("variant").asText("xformer");
        if (!XFormerForConditionalGeneration.VARIANTS.contains(variant))
            throw new TorchException("stage 2 supports the variants " + XFormerForConditionalGeneration.VARIANTS + ", not '" + variant + "'");
        if (!Variant.of(variant, Variant.STAGE2, "stage-2").hasMae()) c.remove("mae_config");
        boolean blip2Llm = llmArchitecture.equals("Blip2ForConditionalGeneration") || llmArchitecture.equals("XFormerForConditionalGeneration");
        // (a bare OPTForCausalLM / T5ForConditionalGeneration config.json is the text_config itself)
        c.set("text_config", blip2Llm ? llmConfig.get("text_config").deepCopy() : ((ObjectNode) llmConfig).deepCopy());
        if (blip2Llm && llmConfig.has("image_token_index")) c.put("image_token_index", llmConfig.get("image_token_index").asInt());
        c.put("model_type", "blip-2");
        c.put("stage2_mae_mask_ratio", 0.0);
        if (overrides != null) overrides.fields().forEachRemaining(e -> c.set(e.getKey(), e.getValue().deepCopy()));
        if (!c.has("image_token_index"))
            throw new TorchException("stage 2 needs image_token_index (the <image> placeholder id of the LLM's tokenizer): "
                    + "the LLM folder has none, give it in the stage-2 model section");
        c.putArray("architectures").add("XFormerForConditionalGeneration");
        return c;
    }

    /** The stage-2 model from a stage-1 folder and an LLM folder, language_projection normal(0, std) with bias 0. */
    public static XFormerForConditionalGeneration fromParts(Path stage1Dir, Path llmDir, JsonNode overrides, long seed, double std,
                                                            Device device) {
        try (HfCheckpoint s1 = HfCheckpoint.open(stage1Dir); HfCheckpoint llm = HfCheckpoint.open(llmDir)) {
            if (!s1.architecture().equals("XFormerForPreTraining"))
                throw new TorchException(stage1Dir + ": expected a stage-1 folder (XFormerForPreTraining), found " + s1.architecture());
            String arch = llm.architecture();
            if (!Set.of("OPTForCausalLM", "T5ForConditionalGeneration", "Blip2ForConditionalGeneration", "XFormerForConditionalGeneration")
                    .contains(arch))
                throw new TorchException(llmDir + ": expected an LLM folder (OPTForCausalLM, T5ForConditionalGeneration or a BLIP-2 one), found '"
                        + arch + "'");
            ObjectNode cfg = config(s1.config(), llm.config(), arch, overrides);
            XFormerForConditionalGeneration m = new XFormerForConditionalGeneration(XFormerForConditionalGeneration.Config.from(cfg));
            try {
                Module.LoadReport r1 = m.loadStateDict(s1.source(), k -> stage1Only(k) ? null : XFormer.fromCheckpointKey(k), DType.F32,
                        device, false);
                if (!r1.unexpected().isEmpty() || !r1.mismatched().isEmpty())
                    throw new TorchException(stage1Dir + ": does not fit the stage-2 model: " + r1);
                boolean bare = arch.equals("OPTForCausalLM") || arch.equals("T5ForConditionalGeneration");
                var mine = m.namedParameters();
                // a tied head may still be stored: the embeddings are the head then
                Module.LoadReport r2 = m.loadStateDict(llm.source(), k -> {
                    String to = bare ? "language_model." + k : k.startsWith("language_model.") ? k : null;
                    // T5 folders may store encoder/decoder.embed_tokens, copies of shared
                    if (to != null && io.xformer.models.T5.isTiedCopy(to.substring("language_model.".length()))) return null;
                    return to != null && to.equals("language_model.lm_head.weight") && !mine.containsKey(to) ? null : to;
                }, DType.F32, device, false);
                if (!r2.unexpected().isEmpty() || !r2.mismatched().isEmpty())
                    throw new TorchException(llmDir + ": does not fit the stage-2 language model: " + r2);
                try (Generator g = new Generator(seed)) {
                    m.languageProjection.initialize(g, DType.F32, device, std);
                }
                List<String> missing = m.namedParameters().entrySet().stream().filter(e -> !e.getValue().isSet()).map(e -> e.getKey()).toList();
                if (!missing.isEmpty())
                    throw new TorchException("stage-2 init from " + stage1Dir + " and " + llmDir + " leaves parameters unset: " + missing);
                return m;
            } catch (RuntimeException e) {
                m.close();
                throw e;
            }
        }
    }
}
