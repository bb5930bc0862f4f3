package io.xformer.data;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.text.Tokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Rank slices of the global order: two ranks of batch 3 read exactly one process's batch of 6, cursor for cursor. */
class LoaderSliceTest {
    static final Path ROOT = Path.of(System.getProperty("xformer.root", "..")).resolve("test-data");

    @Test
    void ranksReadTheirSliceOfEachGlobalBatch() throws Exception {
        Source src = LavisJson.open(ROOT.resolve("synthetic/captions_train.json"), ROOT.resolve("synthetic"));
        Transform tf = new Transform(16, true);
        try (Tokenizer tok = Tokenizer.open(ROOT.resolve("hf-tiny/tokenizer-wordpiece/tokenizer.json"));
             Loader whole = new Loader(src, tf, tok, 6, 24, 30, 5, 4, 1, 1);
             Loader r0 = new Loader(src, tf, tok, 3, 24, 30, 5, 4, 1, 1, 0, 2);
             Loader r1 = new Loader(src, tf, tok, 3, 24, 30, 5, 4, 1, 1, 1, 2)) {
            for (int step = 0; step < 3; step++) {  // crosses an epoch boundary (8 images, cursor 4 + 18)
                Loader.Batch w = whole.next(), a = r0.next(), b = r1.next();
                assertEquals(w.cursorAfter(), a.cursorAfter());
                assertEquals(w.cursorAfter(), b.cursorAfter());
                int plane = 3 * 16 * 16;
                assertArrayEquals(Arrays.copyOfRange(w.clipPixels(), 0, 3 * plane), a.clipPixels(), "step " + step + " rank 0 pixels");
                assertArrayEquals(Arrays.copyOfRange(w.clipPixels(), 3 * plane, 6 * plane), b.clipPixels(), "step " + step + " rank 1 pixels");
                for (int i = 0; i < 3; i++) {
                    assertEquals(row(w, i), row(a, i), "step " + step + " rank 0 text " + i);
                    assertEquals(row(w, 3 + i), row(b, i), "step " + step + " rank 1 text " + i);
                }
            }
        }
    }

    // the real tokens of row i (padding differs with the batch's longest text)
    private static String row(Loader.Batch b, int i) {
        StringBuilder s = new StringBuilder();
        for (int j = 0; j < b.textLen(); j++) if (b.mask()[i * b.textLen() + j] == 1) s.append(b.ids()[i * b.textLen() + j]).append(' ');
        return s.toString();
    }
}
