package io.xformer.text;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The T5-style Unigram tokenizer of blip2-t5-tiny against tokenizers 0.23.1 (tokenizer-golden.json). */
class UnigramTokenizerTest {
    static final Path DIR = Path.of(System.getProperty("xformer.root", "..")).resolve("test-data/hf-tiny/blip2-t5-tiny");

    static long[] longs(JsonNode a) {
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i).asLong();
        return out;
    }

    @Test
    void idsAndDecodesMatchTransformers() throws IOException {
        JsonNode golden = new ObjectMapper().readTree(DIR.resolve("tokenizer-golden.json").toFile());
        int checked = 0;
        try (Tokenizer t = Tokenizer.open(DIR)) {
            for (Map.Entry<String, JsonNode> e : golden.get("samples").properties()) {
                long[] ids = t.encode(e.getKey());
                assertArrayEquals(longs(e.getValue().get("ids")), ids, e.getKey());
                assertEquals(1, ids[ids.length - 1], "T5 appends </s> (1) and no BOS: " + e.getKey());
                checked++;
            }
            for (JsonNode d : golden.get("decode"))
                assertEquals(d.get("text").asText(), t.decode(longs(d.get("ids")), d.get("skip_special_tokens").asBoolean()));
        }
        assertEquals(7, checked);
    }
}
