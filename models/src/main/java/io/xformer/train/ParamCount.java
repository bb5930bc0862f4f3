package io.xformer.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.models.Opt;
import io.xformer.models.XFormer;
import io.xformer.nn.Parameter;
import io.xformer.nn.TorchException;
import java.util.Map;

/**
 * Parameter counts from a config alone: modules hold only shapes until weights are loaded or
 * initialised, so building one allocates nothing. Stage 1 trains everything but the frozen
 * encoders. Stage 2 counts as the paper does: the Q-Former and the X-Former block without
 * their text-only parts (text FFNs, text embeddings, ITC/ITM/ITG heads), the query tokens and
 * the LLM projection; the encoders and the LLM are frozen.
 */
public final class ParamCount {
    public record Counts(long trainable, long frozen) {}

    private ParamCount() {}

    public static Counts of(JsonNode model, int stage) {
        XFormer m = new XFormer(XFormer.Config.from(model));
        long frozen = 0, trainable = 0;
        for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) {
            String k = e.getKey();
            long n = e.getValue().numel();
            boolean encoder = k.startsWith("vision_model.") || k.startsWith("mae.");
            if (encoder) frozen += n;
            else if (stage == 1 || !textOnly(k)) trainable += n;
        }
        if (stage == 2) {
            JsonNode text = model.get("text_config");
            if (text == null) throw new TorchException("stage 2 needs model.text_config (the LLM) in the config");
            Opt.Config llm = Opt.Config.from(text);
            frozen += new Opt(llm).numParameters();
            trainable += (long) m.cfg.qformer().hiddenSize() * llm.hiddenSize() + llm.hiddenSize(); // language_projection
        } else if (stage != 1) {
            throw new TorchException("--stage must be 1 or 2");
        }
        return new Counts(trainable, frozen);
    }

    static boolean textOnly(String k) {
        return k.startsWith("embeddings.") || k.startsWith("cls.") || k.startsWith("itm_head") || k.startsWith("vision_projection")
                || k.startsWith("text_projection") || k.equals("temp")
                || k.matches("(qformer\\.encoder\\.layer\\.\\d+|xformer\\.layer)\\.(intermediate|output)\\..*");
    }
}
