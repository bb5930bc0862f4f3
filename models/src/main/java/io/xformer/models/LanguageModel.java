package io.xformer.models;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.nn.Module;
import io.xformer.nn.Tensor;
import io.xformer.nn.TorchException;

/**
 * The LLM of a stage-2 model ({@code language_model.*}): something that embeds token ids and
 * takes inputs_embeds. OPT is decoder-only ({@link Opt}); an encoder-decoder LM (T5) plugs in
 * here with its own loss and generation.
 */
public interface LanguageModel {
    /** Token embeddings of ids (B, T). */
    Tensor embed(Tensor ids);

    /** Width language_projection produces: text_config.hidden_size, as transformers' Blip2 sizes it. */
    int hiddenSize();

    /** The Module itself (parameters, loading, modes). */
    Module module();

    /** The LM a {@code text_config} describes (keys under {@code language_model.*} of HF's Blip2). */
    static LanguageModel of(JsonNode textConfig) {
        String type = Json.s(textConfig, "model_type", "opt");
        return switch (type) {
            case "opt" -> new Opt(Opt.Config.from(textConfig));
            case "t5" -> new T5(T5.Config.from(textConfig));
            default -> throw new TorchException("config.json: text_config.model_type '" + type + "' is not supported (opt, t5)");
        };
    }
}
