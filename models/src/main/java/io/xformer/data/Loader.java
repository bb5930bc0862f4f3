package io.xformer.data;

import io.xformer.nn.TorchException;
import io.xformer.text.Tokenizer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Batches in a fixed order that depends only on (seed, cursor): the stream position
 * {@code cursor} maps to epoch {@code cursor / n} and a seeded permutation of that epoch, and
 * each sample's augmentation draws from a Random seeded by its position. Decoding and
 * augmentation run on a pool of Java threads, batches are prefetched by a producer thread,
 * and a sample that fails to load is skipped (the next one takes its place) and counted.
 * Resuming from a saved cursor therefore reproduces the exact batches.
 */
public final class Loader implements AutoCloseable {
    /**
     * Host-side batch: CLIP- and ImageNet-normalised pixels (B, 3, S, S), token ids and mask (B, L)
     * of the cleaned texts (captions, or VQA questions); answers: one answer per VQA sample, drawn
     * among its annotators' answers (empty for captions).
     */
    public record Batch(int size, int imageSize, int textLen, float[] clipPixels, float[] maePixels, long[] ids, long[] mask,
                        long cursorAfter, List<String> skipped, List<String> texts, List<String> answers) {
        public Batch(int size, int imageSize, int textLen, float[] clipPixels, float[] maePixels, long[] ids, long[] mask,
                     long cursorAfter, List<String> skipped) {
            this(size, imageSize, textLen, clipPixels, maePixels, ids, mask, cursorAfter, skipped, List.of(), List.of());
        }
    }

    private final Source source;
    private final Transform transform;
    private final Tokenizer tokenizer;
    private final int batchSize, maxTextLen, maxWords;
    private final long seed;
    private final int rank, world;
    private final ExecutorService pool;
    private final Thread producer;
    private final BlockingQueue<Object> queue;
    private volatile boolean closed;

    public Loader(Source source, Transform transform, Tokenizer tokenizer, int batchSize, int maxTextLen, int maxWords, long seed,
                  long startCursor, int workers, int prefetch) {
        this(source, transform, tokenizer, batchSize, maxTextLen, maxWords, seed, startCursor, workers, prefetch, 0, 1);
    }

    /**
     * Rank {@code rank} of {@code world} (distributed training, issue 10): the global batch at
     * cursor c is stream positions [c, c + world * batchSize); this loader reads its slice
     * [c + rank * batchSize, c + (rank + 1) * batchSize), and cursorAfter is c + world * batchSize
     * on every rank. A sample that fails to load is replaced by a loaded one of the same slice
     * (the next position would belong to another rank); a slice with none is an error.
     */
    public Loader(Source source, Transform transform, Tokenizer tokenizer, int batchSize, int maxTextLen, int maxWords, long seed,
                  long startCursor, int workers, int prefetch, int rank, int world) {
        if (source.size() == 0) throw new io.xformer.nn.InputException("the training set is empty");
        if (world < 1 || rank < 0 || rank >= world) throw new IllegalArgumentException("loader: rank " + rank + " of " + world);
        this.rank = rank;
        this.world = world;
        this.source = source;
        this.transform = transform;
        this.tokenizer = tokenizer;
        this.batchSize = batchSize;
        this.maxTextLen = maxTextLen;
        this.maxWords = maxWords;
        this.seed = seed;
        this.pool = Executors.newFixedThreadPool(Math.max(1, workers), r -> {
            Thread t = new Thread(r, "xformer-data");
            t.setDaemon(true);
            return t;
        });
        this.queue = new ArrayBlockingQueue<>(Math.max(1, prefetch));
        this.producer = new Thread(() -> produce(startCursor), "xformer-batches");
        producer.setDaemon(true);
        producer.start();
    }

    /** The next batch (blocks until ready). */
    public Batch next() {
        try {
            Object o = queue.take();
            if (o instanceof RuntimeException e) throw e;
            return (Batch) o;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TorchException("interrupted while waiting for data", e);
        }
    }

    /** Dataset index at a stream position. */
    public static int indexAt(long cursor, int n, long seed) {
        long epoch = cursor / n;
        int offset = (int) (cursor % n);
        return permutation(n, seed, epoch)[offset];
    }

    /** The permutations in use: the current epoch's and, at a boundary, the next one's. */
    private static final Map<List<Long>, int[]> PERMS = Collections.synchronizedMap(
            new LinkedHashMap<>(4, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<List<Long>, int[]> e) {
                    return size() > 2;
                }
            });

    static int[] permutation(int n, long seed, long epoch) {
        return PERMS.computeIfAbsent(List.of(seed, epoch, (long) n), k -> {
            int[] p = new int[n];
            for (int i = 0; i < n; i++) p[i] = i;
            Random r = new Random(seed * 31 + epoch);
            for (int i = n - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = p[i];
                p[i] = p[j];
                p[j] = t;
            }
            return p;
        });
    }

    private record Loaded(float[] pixels, String caption, String answer) {}

    private void produce(long cursor) {
        try {
            while (!closed && world > 1) {
                long start = cursor + (long) rank * batchSize;
                List<Future<Loaded>> futures = new ArrayList<>();
                for (int k = 0; k < batchSize; k++) futures.add(load(start + k));
                List<Loaded> items = new ArrayList<>();
                List<String> skipped = new ArrayList<>();
                List<Integer> holes = new ArrayList<>();
                for (int k = 0; k < batchSize; k++) {
                    try {
                        items.add(futures.get(k).get());
                    } catch (java.util.concurrent.ExecutionException e) {
                        Throwable c = e.getCause();
                        if (!(c instanceof IOException)) throw new TorchException("data loading failed: " + c, c);
                        skipped.add(c.getMessage());
                        items.add(null);
                        holes.add(k);
                    }
                }
                List<Loaded> good = items.stream().filter(java.util.Objects::nonNull).toList();
                if (good.isEmpty())
                    throw new TorchException("rank " + rank + ": no loadable sample in its slice at stream position " + start
                            + " (last: " + skipped.get(skipped.size() - 1) + ")");
                for (int h = 0; h < holes.size(); h++) items.set(holes.get(h), good.get(h % good.size()));
                cursor += (long) world * batchSize;
                queue.put(assemble(items, cursor, skipped));
            }
            while (!closed) {
                List<Loaded> items = new ArrayList<>();
                List<String> skipped = new ArrayList<>();
                int failuresInARow = 0;
                while (items.size() < batchSize) {
                    int need = batchSize - items.size();
                    List<Future<Loaded>> futures = new ArrayList<>();
                    List<Long> positions = new ArrayList<>();
                    for (int k = 0; k < need; k++, cursor++) {
                        positions.add(cursor);
                        futures.add(load(cursor));
                    }
                    for (int k = 0; k < futures.size(); k++) {
                        try {
                            items.add(futures.get(k).get());
                            failuresInARow = 0;
                        } catch (ExecutionException e) {
                            Throwable c = e.getCause();
                            if (!(c instanceof IOException)) throw new TorchException("data loading failed: " + c, c);
                            skipped.add(c.getMessage());
                            if (++failuresInARow > source.size())
                                throw new io.xformer.nn.InputException("no loadable sample in the training set (last: " + c.getMessage() + ")");
                        }
                    }
                }
                queue.put(assemble(items, cursor, skipped));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            try {
                queue.put(e);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The sample at stream position pos, loaded and augmented on the pool. */
    private Future<Loaded> load(long pos) {
        int idx = indexAt(pos, source.size(), seed);
        return pool.submit(() -> {
            Sample s = source.load(idx);
            Random rng = new Random(seed ^ (pos * 0x9E3779B97F4A7C15L));
            float[] px = transform.apply(s.image(), rng);
            // one of the annotators' answers, drawn after the augmentation's draws
            String answer = s.answers().isEmpty() ? null : s.answers().get(rng.nextInt(s.answers().size()));
            return new Loaded(px, Captions.clean(s.caption(), maxWords), answer);
        });
    }

    private Batch assemble(List<Loaded> items, long cursor, List<String> skipped) {
        int s = transform.size(), plane = 3 * s * s, b = items.size();
        float[] clip = new float[b * plane], mae = new float[b * plane];
        List<String> captions = new ArrayList<>(), answers = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            float[] px = items.get(i).pixels;
            System.arraycopy(Transform.normalize(px, Transform.CLIP_MEAN, Transform.CLIP_STD), 0, clip, i * plane, plane);
            System.arraycopy(Transform.normalize(px, Transform.IMAGENET_MEAN, Transform.IMAGENET_STD), 0, mae, i * plane, plane);
            captions.add(items.get(i).caption);
            if (items.get(i).answer != null) answers.add(items.get(i).answer);
        }
        Tokenizer.Batch tok = tokenizer.encode(captions, 0);
        int len = Math.min(maxTextLen, tok.ids()[0].length);
        long[] ids = new long[b * len], mask = new long[b * len];
        for (int i = 0; i < b; i++) {
            long[] row = tok.ids()[i], m = tok.attentionMask()[i];
            int real = (int) Arrays.stream(m).sum();
            for (int j = 0; j < len; j++) {
                ids[i * len + j] = row[j];
                mask[i * len + j] = m[j];
            }
            // truncation keeps the closing [SEP], as the HF tokenizer's truncation does
            if (real > len) ids[i * len + len - 1] = row[real - 1];
        }
        return new Batch(b, s, len, clip, mae, ids, mask, cursor, skipped, List.copyOf(captions),
                answers.size() == b ? List.copyOf(answers) : List.of());
    }

    @Override
    public void close() {
        closed = true;
        producer.interrupt();
        pool.shutdownNow();
        // the producer may be inside the tokenizer's native batch encode, which an interrupt does not stop:
        // wait for it, so that a caller closing the tokenizer next cannot free it under that call
        try {
            producer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        pool.close(); // and for the prefetch threads (close waits for them; shutdownNow above cancelled what had not started)
    }
}
