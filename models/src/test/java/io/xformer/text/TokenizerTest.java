package io.xformer.text;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.nn.InputException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TokenizerTest {
    static final Path HF = Path.of(System.getProperty("xformer.root", "..")).resolve("test-data/hf-tiny");

    @Test
    void idsMatchTransformersExactly() throws IOException {
        JsonNode golden = new ObjectMapper().readTree(HF.resolve("tokenizer-golden.json").toFile());
        int checked = 0;
        for (String kind : List.of("wordpiece", "bpe")) {
            try (Tokenizer t = Tokenizer.open(HF.resolve("tokenizer-" + kind))) {
                for (Map.Entry<String, JsonNode> e : golden.properties()) {
                    JsonNode ids = e.getValue().get(kind);
                    long[] expected = new long[ids.size()];
                    for (int i = 0; i < expected.length; i++) expected[i] = ids.get(i).asLong();
                    assertArrayEquals(expected, t.encode(e.getKey()), kind + ": " + e.getKey());
                    checked++;
                }
            }
        }
        assertTrue(checked >= 6, "checked " + checked);
    }

    @Test
    void batchesArePaddedWithMasks() {
        try (Tokenizer t = Tokenizer.open(HF.resolve("tokenizer-wordpiece/tokenizer.json"))) {
            Tokenizer.Batch b = t.encode(List.of("a red circle", "two red circles and a blue square"), 0);
            assertEquals(b.ids()[0].length, b.ids()[1].length);
            long ones = java.util.Arrays.stream(b.attentionMask()[0]).sum();
            assertEquals(t.encode("a red circle").length, ones);
            assertEquals(0, b.ids()[0][b.ids()[0].length - 1]);
            String text = t.decode(t.encode("a red circle"), true);
            assertEquals("a red circle", text);
        }
    }

    @Test
    void missingFileIsNamed() {
        InputException e = assertThrows(InputException.class, () -> Tokenizer.open(HF.resolve("nope.json")));
        assertTrue(e.getMessage().contains("nope.json"));
    }
}
