package io.xformer.train;

import java.util.List;

/** Batches in a deterministic order from a stream position (cursor), so a resumed run sees the same ones. */
public interface DataStream<B> extends AutoCloseable {
    /** One batch with its bookkeeping: images in it, the cursor after it, samples skipped on the way (why). */
    record Fetched<B>(B batch, int size, long cursorAfter, List<String> skipped) {}

    Fetched<B> next();

    @Override
    void close();

    /** Opens the stream at a cursor. */
    @FunctionalInterface
    interface Opener<B> {
        DataStream<B> open(long cursor);
    }
}
