package io.xformer.eval;

import io.xformer.data.Captions;
import io.xformer.data.Images;
import io.xformer.data.Transform;
import io.xformer.models.Blip2Heads;
import io.xformer.models.Pretrained;
import io.xformer.models.XFormer;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Generator;
import io.xformer.nn.Guard;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.TensorRecord;
import io.xformer.nn.Torch;
import io.xformer.text.Tokenizer;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * A stage-1 folder ({@code XFormerForPreTraining}, any variant) for zero-shot evaluation, in
 * eval mode under inference mode: batched image features (kept for ITM), text embeddings,
 * LAVIS's ITC similarity (max over queries of normalised projections, no temperature) and ITM
 * logits of arbitrary image-text pairs.
 *
 * <p>Images: bicubic resize to the config's image size, CLIP mean/std (and ImageNet mean/std for
 * the MAE branch), as LAVIS's {@code blip_image_eval}. The MAE input is masked with the
 * checkpoint's {@code mask_ratio} from noise seeded by {@code seed}, as the training run's
 * held-out evaluation does. Texts: LAVIS's {@code blip_caption} cleaning (at most
 * {@code maxWords} words), at most {@code maxTextLen} tokens.
 */
public final class Stage1Model implements AutoCloseable {
    public record Settings(int batchSize, int maxTextLen, int maxWords, long seed) {
        /** LAVIS's retrieval evaluation: max_length 35, blip_caption max_words 50. */
        public static final Settings LAVIS = new Settings(32, 35, 50, 0);
    }

    /** Image-side features of all images of a task, in input order. */
    public record ImageFeatures(Tensor memory, Tensor m2, Tensor embeds, Tensor zPrime) implements TensorRecord {
        public int size() {
            return (int) embeds.size(0);
        }
    }

    private final Pretrained loaded;
    public final XFormer model;
    private final Tokenizer tok;
    public final Settings settings;
    private final Device device;
    private final Path dir;

    private Stage1Model(Pretrained loaded, Tokenizer tok, Settings settings, Device device, Path dir) {
        this.loaded = loaded;
        this.model = (XFormer) loaded.module();
        this.tok = tok;
        this.settings = settings;
        this.device = device;
        this.dir = dir;
    }

    /** tokenizer: a tokenizer.json (null: DIR/tokenizer.json). */
    public static Stage1Model load(Path dir, Path tokenizer, Settings settings, Device device, DType dtype) {
        Path tf = tokenizer != null ? tokenizer : dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tf))
            throw new IllegalArgumentException(tf + ": no tokenizer (pass --tokenizer FILE; stage-1 folders written by `train` hold none)");
        Pretrained p = Pretrained.load(dir, device, dtype);
        if (!(p.module() instanceof XFormer)) {
            String arch = p.architecture();
            p.close();
            throw new IllegalArgumentException(dir + ": a stage-1 XFormerForPreTraining folder is needed, this one is " + arch);
        }
        p.module().train(false);
        return new Stage1Model(p, Tokenizer.open(tf), settings, device, dir);
    }

    public Path dir() {
        return dir;
    }

    public int imageSize() {
        return model.cfg.vision().imageSize();
    }

    public String variant() {
        return model.cfg.variant();
    }

    /** Features of every image, batch by batch; owned by the caller's scope. */
    public ImageFeatures images(List<Path> files, Progress progress) {
        List<Tensor> mem = new ArrayList<>(), m2 = new ArrayList<>(), emb = new ArrayList<>(), zp = new ArrayList<>();
        Transform tf = new Transform(imageSize(), false);
        int sz = imageSize(), plane = 3 * sz * sz, bs = settings.batchSize;
        try (Scope s = Scope.open(); Guard g = Guard.inferenceMode(); Generator gen = new Generator(settings.seed)) {
            for (int start = 0; start < files.size(); start += bs) {
                int n = Math.min(bs, files.size() - start);
                float[] clip = new float[n * plane], mae = new float[n * plane];
                for (int i = 0; i < n; i++) {
                    float[] chw = tf.apply(read(files.get(start + i)), new Random(0));
                    System.arraycopy(Transform.normalize(chw, Transform.CLIP_MEAN, Transform.CLIP_STD), 0, clip, i * plane, plane);
                    System.arraycopy(Transform.normalize(chw, Transform.IMAGENET_MEAN, Transform.IMAGENET_STD), 0, mae, i * plane, plane);
                }
                Tensor px = Torch.tensor(clip, n, 3, sz, sz).to(device);
                Tensor pm = model.cfg.hasMae() ? Torch.tensor(mae, n, 3, sz, sz).to(device) : null;
                Tensor noise = model.cfg.hasMae() ? Torch.rand(gen, DType.F32, device, n, model.cfg.mae().numPatches()) : null;
                XFormer.Vision v = model.queries(model.encode(px, pm, noise));
                mem.add(v.clip());
                if (v.m2() != null) m2.add(v.m2());
                zp.add(v.zPrime());
                emb.add(model.heads.imageFeatures(v.zPrime())); // (n, Q, E)
                progress.update("images", start + n, files.size());
            }
            return s.keepAll(new ImageFeatures(Torch.cat(0, mem.toArray(Tensor[]::new)),
                    m2.isEmpty() ? null : Torch.cat(0, m2.toArray(Tensor[]::new)),
                    Torch.cat(0, emb.toArray(Tensor[]::new)), Torch.cat(0, zp.toArray(Tensor[]::new))));
        }
    }

    private static BufferedImage read(Path p) {
        try {
            return Images.read(p);
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** Token ids and attention mask, each (T, L). */
    public record Tokens(Tensor ids, Tensor mask) implements TensorRecord {}

    /** Token ids and mask (T, L) of cleaned texts, truncated to maxTextLen keeping the final special token. */
    public Tokens tokens(List<String> texts) {
        List<String> clean = new ArrayList<>(texts.size());
        for (String t : texts) clean.add(Captions.clean(t, settings.maxWords));
        Tokenizer.Batch b = tok.encode(clean, 0);
        int len = Math.min(b.ids()[0].length, settings.maxTextLen);
        long[] ids = new long[texts.size() * len], mask = new long[texts.size() * len];
        for (int i = 0; i < texts.size(); i++) {
            long[] row = b.ids()[i], m = b.attentionMask()[i];
            int real = 0;
            while (real < m.length && m[real] == 1) real++;
            int keep = Math.min(real, len);
            System.arraycopy(row, 0, ids, i * len, keep);
            // truncation as the HF tokenizer does it: the special token that closes the text stays last
            if (real > len) ids[i * len + len - 1] = row[real - 1];
            Arrays.fill(mask, i * len, i * len + keep, 1);
        }
        return new Tokens(Torch.tensor(ids, texts.size(), len).to(device), Torch.tensor(mask, texts.size(), len).to(device));
    }

    /** Normalised text embeddings (T, E) from the text-only pass's [CLS]. */
    public Tensor texts(List<String> texts, Progress progress) {
        List<Tensor> out = new ArrayList<>();
        int bs = settings.batchSize;
        try (Scope s = Scope.open(); Guard g = Guard.inferenceMode()) {
            for (int start = 0; start < texts.size(); start += bs) {
                Tokens t = tokens(texts.subList(start, Math.min(texts.size(), start + bs)));
                out.add(model.heads.textFeatures(model.textCls(t.ids(), t.mask()))); // (n, E)
                progress.update("texts", Math.min(texts.size(), start + bs), texts.size());
            }
            return s.keep(Torch.cat(0, out.toArray(Tensor[]::new)));
        }
    }

    /** LAVIS's ITC similarity (I, T): max over queries of the cosine, no temperature. */
    public double[][] itc(ImageFeatures f, Tensor textEmbeds) {
        try (Scope s = Scope.open(); Guard g = Guard.inferenceMode()) {
            long i = f.embeds().size(0), t = textEmbeds.size(0);
            Tensor sim = Blip2Heads.itcLogits(f.embeds(), textEmbeds); // (I, Q, E) x (T, E) -> (I, T)
            return rows(sim.to(DType.F64).cpu().toDoubleArray(), (int) i, (int) t);
        }
    }

    /** ITM logits (P, 2), averaged over queries, of the pairs (image[p], text[p]), batched. */
    public double[][] itm(ImageFeatures f, int[] images, List<String> texts, Progress progress) {
        double[][] out = new double[images.length][];
        int bs = settings.batchSize;
        for (int start = 0; start < images.length; start += bs) {
            int n = Math.min(bs, images.length - start);
            try (Scope s = Scope.open(); Guard g = Guard.inferenceMode()) {
                Tensor h = joint(f, Arrays.copyOfRange(images, start, start + n), texts.subList(start, start + n));
                Tensor logits = model.itmHead.forward(h).mean(1).to(DType.F64).cpu(); // (P, Q, 2) -> (P, 2)
                double[][] r = rows(logits.toDoubleArray(), n, 2);
                System.arraycopy(r, 0, out, start, n);
            }
            progress.update("itm pairs", start + n, images.length);
        }
        return out;
    }

    /** Query rows (P, Q, D) of the joint pass for pairs (image[p], text[p]); owned by the caller's scope. */
    public Tensor joint(ImageFeatures f, int[] images, List<String> texts) {
        try (Scope s = Scope.open(); Guard g = Guard.inferenceMode()) {
            Tensor idx = Torch.tensor(Arrays.stream(images).asLongStream().toArray(), images.length).to(device);
            Tokens t = tokens(texts);
            Tensor m2 = f.m2() == null ? null : f.m2().indexSelect(0, idx);
            return s.keep(model.jointQueries(f.memory().indexSelect(0, idx), m2, t.ids(), t.mask()));
        }
    }

    static double[][] rows(double[] flat, int r, int c) {
        double[][] out = new double[r][c];
        for (int i = 0; i < r; i++) System.arraycopy(flat, i * c, out[i], 0, c);
        return out;
    }

    /** The settings a task ran with, for scores.json. */
    public com.fasterxml.jackson.databind.node.ObjectNode describe() {
        var o = JsonFiles.JSON.createObjectNode();
        o.put("model", dir.toString());
        o.put("variant", variant());
        o.put("image_size", imageSize());
        o.put("image_preprocessing", "bicubic resize, CLIP mean/std (LAVIS blip_image_eval)");
        if (model.cfg.hasMae()) o.put("mae_mask_ratio", model.cfg.mae().maskRatio()).put("mae_noise_seed", settings.seed);
        o.put("max_text_len", settings.maxTextLen);
        o.put("max_words", settings.maxWords);
        o.put("batch_size", settings.batchSize);
        o.put("device", device.toString());
        return o;
    }

    @Override
    public void close() {
        tok.close();
        loaded.close();
    }
}
