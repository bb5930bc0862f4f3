package io.xformer.data;

import java.awt.image.BufferedImage;
import java.util.List;

/**
 * One decoded image with its text; {@code id} names it in error reports. A VQA sample carries
 * its question as the caption (the Q-Former's text) and the annotators' answers.
 */
public record Sample(String id, BufferedImage image, String caption, List<String> answers) {
    public Sample(String id, BufferedImage image, String caption) {
        this(id, image, caption, List.of());
    }
}
