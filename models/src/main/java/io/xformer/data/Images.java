package io.xformer.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Decoding through javax.imageio (PNG, JPEG, BMP, GIF); failures name the image. */
public final class Images {
    static {
        System.setProperty("java.awt.headless", "true");
        ImageIO.setUseCache(false);
    }

    private Images() {}

    public static BufferedImage read(Path p) throws IOException {
        if (!Files.isRegularFile(p)) throw new IOException(p + ": missing image");
        return decode(Files.readAllBytes(p), p.toString());
    }

    public static BufferedImage decode(byte[] bytes, String name) throws IOException {
        BufferedImage img;
        try {
            img = ImageIO.read(new ByteArrayInputStream(bytes));
        } catch (IOException | RuntimeException e) {
            throw new IOException(name + ": corrupt image (" + e.getMessage() + ")", e);
        }
        if (img == null) throw new IOException(name + ": not a decodable image (unsupported format or corrupt)");
        return img;
    }
}
