package io.xformer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.models.XFormer;
import io.xformer.models.XFormerForConditionalGeneration;
import io.xformer.nn.Parameter;
import java.util.Map;

/**
 * Parameter counts from a config alone: modules hold only shapes until weights are loaded or
 * initialised, so building one allocates nothing. Stage 1 trains everything but the frozen
 * encoders. Stages 2 and vqa count the stage-2 model with the freezing rules training uses
 * ({@link LmObjective#trains}): stage 2 the Q-Former and the X-Former block without their
 * text-only parts (text FFNs, text embeddings) and without the reconstruction projection, the
 * query tokens and the LLM projection; VQA adds the Q-Former's text path (the question goes in)
 * and the CLIP-ViT's LayerNorms, at the VQA image size. Encoders and LLM are frozen.
 */
public final class ParamCount {
    public record Counts(long trainable, long frozen) {}

    private ParamCount() {}

    /** stage 1 from model alone (kept for callers without a whole config). */
    public static Counts of(JsonNode model, int stage) {
        if (stage != 1) throw new IllegalArgumentException("--stage must be 1 here; stages 2 and vqa need the whole config");
        XFormer m = new XFormer(XFormer.Config.from(model));
        long frozen = 0, trainable = 0;
        for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) {
            String k = e.getKey();
            long n = e.getValue().numel();
            if (k.startsWith("vision_model.") || k.startsWith("mae.")) frozen += n;
            else trainable += n;
        }
        return new Counts(trainable, frozen);
    }

    public static Counts of(TrainConfig cfg, String stage) {
        if (stage.equals("1")) {
            if (cfg.model() == null) throw new io.xformer.nn.ConfigException(cfg.file() + ": no stage-1 \"model\"");
            return of(cfg.model(), 1);
        }
        if (!stage.equals("2") && !stage.equals("vqa")) throw new IllegalArgumentException("--stage must be 1, 2 or vqa, got " + stage);
        TrainConfig.LmStage st = stage.equals("2") ? cfg.stage2() : cfg.vqa();
        ObjectNode overrides = st != null ? ((ObjectNode) st.model()).deepCopy() : new ObjectMapper().createObjectNode();
        JsonNode text = overrides.has("text_config") ? overrides.get("text_config") : cfg.model() == null ? null : cfg.model().get("text_config");
        if (text == null || cfg.model() == null)
            throw new io.xformer.nn.ConfigException(cfg.file() + ": counting stage " + stage + " needs the stage-1 \"model\" with a \"text_config\" (the LLM)");
        if (!overrides.has("image_token_index")) overrides.put("image_token_index", 0); // a placeholder id; it holds no parameter
        ObjectNode c = Stage2Init.config(cfg.model(), text, "OPTForCausalLM", overrides);
        boolean vqa = stage.equals("vqa");
        int size = st != null ? st.train().imageSize() : cfg.train().imageSize();
        ((ObjectNode) c.get("vision_config")).put("image_size", size);
        if (c.has("mae_config")) ((ObjectNode) c.get("mae_config")).put("image_size", size);
        XFormerForConditionalGeneration m = new XFormerForConditionalGeneration(XFormerForConditionalGeneration.Config.from(c));
        boolean questions = vqa && m.embeddings != null;
        boolean norms = vqa && (st == null || st.unfreezeVisionLayerNorms());
        boolean llm = st != null && st.trainLlm();
        long trainable = 0, frozen = 0;
        for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) {
            if (LmObjective.trains(e.getKey(), questions, norms, llm)) trainable += e.getValue().numel();
            else frozen += e.getValue().numel();
        }
        return new Counts(trainable, frozen);
    }
}
