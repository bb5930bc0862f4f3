package io.xformer.data;

import java.io.IOException;

/** An indexed collection of image-text samples. load() may fail for a corrupt or missing image. */
public interface Source {
    int size();

    /** Where sample i comes from, for reports (loads nothing). */
    String describe(int i);

    Sample load(int i) throws IOException;
}
