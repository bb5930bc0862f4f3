package io.xformer.data;

import java.awt.image.BufferedImage;

/** One decoded image with its caption; {@code id} names it in error reports. */
public record Sample(String id, BufferedImage image, String caption) {}
