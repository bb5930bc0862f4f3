package io.xformer.eval;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.data.Images;
import io.xformer.models.VisualLm;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A stage-2 model ({@link VisualLm}) behind the {@link Answerer} seam. The tasks hand over
 * finished prompts; VisualLm wants the question apart (it also feeds it to the Q-Former when the
 * model takes text), so the question is cut back out of the prompt between the template's
 * prefix and suffix. A template without "{}" (captioning) must equal the prompt. One image at a
 * time (VisualLm decodes a single sequence).
 */
public final class VisualLmAnswerer implements Answerer {
    private final VisualLm lm;
    private final VisualLm.Settings settings;
    private final String prefix, suffix;

    public VisualLmAnswerer(VisualLm lm, VisualLm.Settings settings) {
        this.lm = lm;
        this.settings = settings;
        int at = settings.prompt().indexOf("{}");
        prefix = at < 0 ? settings.prompt() : settings.prompt().substring(0, at);
        suffix = at < 0 ? "" : settings.prompt().substring(at + 2);
    }

    /** The question inside a prompt made from the template, or null for a template without "{}". */
    String question(String prompt) {
        boolean hasSlot = settings.prompt().contains("{}");
        if (!hasSlot) {
            if (!prompt.equals(settings.prompt()))
                throw new IllegalArgumentException("prompt '" + prompt + "' differs from the model's template '" + settings.prompt() + "'");
            return null;
        }
        if (!prompt.startsWith(prefix) || !prompt.endsWith(suffix) || prompt.length() < prefix.length() + suffix.length())
            throw new IllegalArgumentException("prompt '" + prompt + "' was not made from the template '" + settings.prompt() + "'");
        return prompt.substring(prefix.length(), prompt.length() - suffix.length());
    }

    @Override
    public List<String> answer(List<Path> images, List<String> prompts) {
        List<String> out = new ArrayList<>(prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            try {
                out.add(lm.generate(Images.read(images.get(i)), question(prompts.get(i)), settings));
            } catch (IOException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
        }
        return out;
    }

    @Override
    public ObjectNode settings() {
        ObjectNode o = JsonFiles.JSON.createObjectNode();
        o.put("num_beams", settings.numBeams()).put("max_new_tokens", settings.maxNewTokens()).put("min_new_tokens", settings.minNewTokens())
                .put("length_penalty", settings.lengthPenalty()).put("stop", "\\n").put("question_to_qformer", lm.takesQuestions());
        return o;
    }
}
