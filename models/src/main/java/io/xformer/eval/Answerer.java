package io.xformer.eval;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;

/**
 * The seam between generation-based tasks (VQAv2, GQA, captioning, OC / MCI) and a stage-2
 * model: one generated text per (image, prompt) pair. Decoding settings (beams, lengths,
 * length penalty) belong to the implementation, which reports them in {@link #settings()} for
 * scores.json.
 */
@FunctionalInterface
public interface Answerer {
    List<String> answer(List<Path> images, List<String> prompts);

    default ObjectNode settings() {
        return JsonFiles.JSON.createObjectNode();
    }
}
