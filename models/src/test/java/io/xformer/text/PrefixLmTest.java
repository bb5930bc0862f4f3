package io.xformer.text;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.nn.Device;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PrefixLmTest {
    static final Path DIR = Path.of(System.getProperty("xformer.root", "..")).resolve("test-data/hf-tiny/blip2-t5-tiny");

    @Test
    void cutsBetweenStartAndMiddleUniformlyAndDeterministically() {
        String caption = "  two red circles and a   blue square ";
        int[] counts = new int[8];
        for (long pos = 0; pos < 4000; pos++) {
            PrefixLm.Split sp = PrefixLm.split(caption, 42, pos);
            assertEquals(sp, PrefixLm.split(caption, 42, pos), "same seed and position, same cut");
            int k = sp.prefix().isEmpty() ? 0 : sp.prefix().split(" ").length;
            counts[k]++;
            assertEquals("two red circles and a blue square", (sp.prefix() + " " + sp.suffix()).strip());
            assertFalse(sp.suffix().isEmpty());
        }
        // 7 words: k in 0..3 (floor(7/2)), each about 1000 of 4000
        for (int k = 0; k <= 3; k++) assertTrue(counts[k] > 850 && counts[k] < 1150, "k=" + k + ": " + Arrays.toString(counts));
        for (int k = 4; k < 8; k++) assertEquals(0, counts[k], "never past the middle: " + Arrays.toString(counts));
        // another seed draws other cuts
        int differ = 0;
        for (long pos = 0; pos < 100; pos++)
            if (!PrefixLm.split(caption, 43, pos).equals(PrefixLm.split(caption, 42, pos))) differ++;
        assertTrue(differ > 50, "seeds 42 and 43 differ at " + differ + " of 100 positions");
    }

    @Test
    void shortCaptions() {
        assertEquals(new PrefixLm.Split("", "circle"), PrefixLm.split("circle", 1, 0));
        for (long pos = 0; pos < 50; pos++) {
            PrefixLm.Split sp = PrefixLm.split("red circle", 1, pos);
            assertTrue(sp.equals(new PrefixLm.Split("", "red circle")) || sp.equals(new PrefixLm.Split("red", "circle")), sp.toString());
        }
        assertThrows(IllegalArgumentException.class, () -> PrefixLm.split("   ", 1, 0));
    }

    /** The golden inputs of blip2-t5-tiny are Blip2Processor's output for these two (prefix, target) pairs. */
    @Test
    void batchEqualsBlip2ProcessorsEncoding() {
        try (Scope s = Scope.open(); Tokenizer tok = Tokenizer.open(DIR)) {
            List<PrefixLm.Split> splits = List.of(
                    new PrefixLm.Split("Question: how many circles are there? Short answer:", "there are two red circles"),
                    new PrefixLm.Split("What color is the car?", "red"));
            PrefixLm.Batch b = PrefixLm.batch(splits, tok, new PrefixLm.Options(4, 96, 0, 32));
            Map<String, Tensor> g = SafeTensors.load(DIR.resolve("golden.safetensors"));
            PrefixLm.Batch.Tensors t = b.tensors(Device.CPU);
            assertArrayEquals(g.get("input_ids").toLongArray(), t.inputIds().toLongArray());
            assertArrayEquals(g.get("input_ids").shape(), t.inputIds().shape());
            assertArrayEquals(g.get("attention_mask").toLongArray(), t.attentionMask().toLongArray());
            assertArrayEquals(g.get("labels").toLongArray(), t.labels().toLongArray());
            assertArrayEquals(g.get("labels").shape(), t.labels().shape());
        }
    }

    @Test
    void truncationKeepsTheEndOfSequenceAndPadsLabelsWithMinus100() {
        try (Tokenizer tok = Tokenizer.open(DIR)) {
            List<PrefixLm.Split> splits = List.of(new PrefixLm.Split("", "there are two red circles"),
                    new PrefixLm.Split("a photo of", "red"));
            PrefixLm.Batch b = PrefixLm.batch(splits, tok, new PrefixLm.Options(2, 96, 0, 5));
            // "there are two red circles" = 47 27 19 3 4 11 13 31 15 29 </s>: the first 4 and </s>
            assertArrayEquals(new long[] {47, 27, 19, 3, 1}, b.labels()[0]);
            assertArrayEquals(new long[] {31, 15, 1, -100, -100}, b.labels()[1]);
            // empty prefix: placeholders, </s>, padding; "a photo of" = 27 51 10 35 3 13 18 </s> -> 27 51 10 35 </s>
            assertArrayEquals(new long[] {96, 96, 1, 0, 0, 0, 0}, b.inputIds()[0]);
            assertArrayEquals(new long[] {1, 1, 1, 0, 0, 0, 0}, b.attentionMask()[0]);
            assertArrayEquals(new long[] {96, 96, 27, 51, 10, 35, 1}, b.inputIds()[1]);
            assertArrayEquals(new long[] {1, 1, 1, 1, 1, 1, 1}, b.attentionMask()[1]);
            // no placeholder id: the text alone (the model puts the queries in front)
            PrefixLm.Batch plain = PrefixLm.batch(splits, tok, new PrefixLm.Options(2, -1, 0, 5));
            assertArrayEquals(new long[] {1, 0, 0, 0, 0}, plain.inputIds()[0]);
        }
    }
}
