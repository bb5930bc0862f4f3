package io.xformer.data;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.Random;

/**
 * Image preprocessing: random resized crop (scale 0.5-1, ratio 3/4-4/3, as LAVIS's BLIP
 * train processor) + horizontal flip for training, plain bicubic resize for evaluation; then
 * one crop normalised twice, with CLIP's mean/std (the CLIP-ViT) and ImageNet's (the MAE-ViT).
 */
public final class Transform {
    public static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    public static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};
    public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};

    private final int size;
    private final boolean train;

    public Transform(int size, boolean train) {
        this.size = size;
        this.train = train;
    }

    public int size() {
        return size;
    }

    /** RGB in [0, 1], CHW, size x size. */
    public float[] apply(BufferedImage img, Random rng) {
        int w = img.getWidth(), h = img.getHeight();
        int cx = 0, cy = 0, cw = w, ch = h;
        boolean flip = false;
        if (train) {
            double area = (double) w * h;
            boolean found = false;
            for (int attempt = 0; attempt < 10 && !found; attempt++) {
                double target = area * (0.5 + 0.5 * rng.nextDouble());
                double logRatio = Math.log(3.0 / 4) + (Math.log(4.0 / 3) - Math.log(3.0 / 4)) * rng.nextDouble();
                double ratio = Math.exp(logRatio);
                int tw = (int) Math.round(Math.sqrt(target * ratio)), th = (int) Math.round(Math.sqrt(target / ratio));
                if (tw > 0 && th > 0 && tw <= w && th <= h) {
                    cx = rng.nextInt(w - tw + 1);
                    cy = rng.nextInt(h - th + 1);
                    cw = tw;
                    ch = th;
                    found = true;
                }
            }
            flip = rng.nextBoolean();
        }
        BufferedImage out = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
        g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
        if (flip) g.drawImage(img, size, 0, 0, size, cx, cy, cx + cw, cy + ch, null);
        else g.drawImage(img, 0, 0, size, size, cx, cy, cx + cw, cy + ch, null);
        g.dispose();
        float[] chw = new float[3 * size * size];
        int plane = size * size;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                int rgb = out.getRGB(x, y);
                int i = y * size + x;
                chw[i] = ((rgb >> 16) & 0xff) / 255f;
                chw[plane + i] = ((rgb >> 8) & 0xff) / 255f;
                chw[2 * plane + i] = (rgb & 0xff) / 255f;
            }
        return chw;
    }

    /** (x - mean) / std per channel, into a new array. */
    public static float[] normalize(float[] chw, float[] mean, float[] std) {
        float[] r = new float[chw.length];
        int plane = chw.length / 3;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++) r[c * plane + i] = (chw[c * plane + i] - mean[c]) / std[c];
        return r;
    }
}
