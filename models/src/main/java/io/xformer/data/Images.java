package io.xformer.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decoding through javax.imageio (PNG, JPEG, BMP, GIF); failures name the image. The size is read
 * from the header first: an image over the pixel limit is refused before a pixel is decoded, and a
 * large one is subsampled while decoding (every s-th pixel of every s-th row), so a 1.8 MB PNG
 * claiming 25000 x 25000 pixels cannot take gigabytes of heap.
 */
public final class Images {
    /** Well above any real photo (a 100-megapixel camera); config: data.max_image_pixels. */
    public static final long DEFAULT_MAX_PIXELS = 100_000_000L;
    /** Longer side kept when decoding; training resizes to a few hundred pixels anyway. */
    public static final int MAX_DECODED_SIDE = 4096;

    static {
        System.setProperty("java.awt.headless", "true");
        ImageIO.setUseCache(false);
    }

    private Images() {}

    public static BufferedImage read(Path p) throws IOException {
        return read(p, DEFAULT_MAX_PIXELS);
    }

    public static BufferedImage read(Path p, long maxPixels) throws IOException {
        if (!Files.isRegularFile(p)) throw new IOException(p + ": missing image");
        return decode(Files.readAllBytes(p), p.toString(), maxPixels);
    }

    public static BufferedImage decode(byte[] bytes, String name) throws IOException {
        return decode(bytes, name, DEFAULT_MAX_PIXELS);
    }

    /** Decodes, refusing images of more than maxPixels pixels (an IOException naming the image and both sizes). */
    public static BufferedImage decode(byte[] bytes, String name, long maxPixels) throws IOException {
        long w = -1, h = -1;
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext())
                throw new IOException(name + ": not a decodable image (unsupported format or corrupt)");
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                w = reader.getWidth(0);
                h = reader.getHeight(0);
                if (w <= 0 || h <= 0) throw new IOException(name + ": corrupt image (size " + w + " x " + h + ")");
                if (w * h > maxPixels)
                    throw new IOException(name + ": skipped: " + w + " x " + h + " = " + w * h + " pixels exceeds the limit of "
                            + maxPixels + " (data.max_image_pixels)");
                ImageReadParam param = reader.getDefaultReadParam();
                int s = subsampling(w, h);
                if (s > 1) param.setSourceSubsampling(s, s, 0, 0);
                BufferedImage img = reader.read(0, param);
                if (img == null) throw new IOException(name + ": not a decodable image (unsupported format or corrupt)");
                return img;
            } finally {
                reader.dispose();
            }
        } catch (OutOfMemoryError e) {
            throw outOfMemory(name, w, h);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(name + ": ")) throw e;
            for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
                // ImageIO's readers wrap what they catch, OutOfMemoryError included
                if (c instanceof OutOfMemoryError) throw outOfMemory(name, w, h);
            }
            throw new IOException(name + ": corrupt image (" + e.getMessage() + ")", e);
        } catch (RuntimeException e) {
            throw new IOException(name + ": corrupt image (" + e + ")", e);
        }
    }

    /** The image may be fine, the heap is not: say so rather than "corrupt". */
    private static IOException outOfMemory(String name, long w, long h) {
        return new IOException(name + ": skipped: out of memory decoding a " + (w < 0 ? "" : w + " x " + h + " ") + "image (Java heap: "
                + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB); give the JVM more with -Xmx or lower data.max_image_pixels");
    }

    /** The smallest step that brings the longer side down to MAX_DECODED_SIDE. */
    static int subsampling(long w, long h) {
        long side = Math.max(w, h);
        return (int) Math.max(1, (side + MAX_DECODED_SIDE - 1) / MAX_DECODED_SIDE);
    }
}
