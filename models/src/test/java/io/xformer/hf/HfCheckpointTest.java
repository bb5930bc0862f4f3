package io.xformer.hf;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.nn.Scope;
import io.xformer.nn.InputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfCheckpointTest {
    static final Path TINY = Path.of(System.getProperty("xformer.root", "..")).resolve("test-data/hf-tiny");

    @TempDir
    Path tmp;

    @Test
    void shardedAndSingleFileHoldTheSameTensors() {
        try (Scope s = Scope.open();
             HfCheckpoint single = HfCheckpoint.open(TINY.resolve("blip2-opt-tiny"));
             HfCheckpoint sharded = HfCheckpoint.open(TINY.resolve("blip2-opt-tiny-sharded"))) {
            assertEquals("Blip2ForConditionalGeneration", single.architecture());
            assertEquals(1, single.files().size());
            assertEquals(4, sharded.files().size());
            assertEquals(single.names(), sharded.names());
            for (String n : single.names())
                assertArrayEquals(single.get(n).toByteArray(), sharded.get(n).toByteArray(), n);
        }
    }

    static void copyDir(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var s = Files.list(from)) {
            for (Path p : s.toList()) Files.copy(p, to.resolve(p.getFileName()));
        }
    }

    @Test
    void missingOrTruncatedShardsAreNamed() throws IOException {
        Path dir = tmp.resolve("sharded");
        copyDir(TINY.resolve("blip2-opt-tiny-sharded"), dir);
        Path shard = dir.resolve("model-00002-of-00004.safetensors");
        byte[] bytes = Files.readAllBytes(shard);
        Files.write(shard, Arrays.copyOf(bytes, bytes.length - 10));
        InputException e = assertThrows(InputException.class, () -> HfCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("model-00002-of-00004.safetensors"), e.getMessage());
        Files.delete(shard);
        e = assertThrows(InputException.class, () -> HfCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("model-00002-of-00004.safetensors") && e.getMessage().contains("missing"),
                e.getMessage());
        e = assertThrows(InputException.class, () -> HfCheckpoint.open(tmp.resolve("nowhere")));
        assertTrue(e.getMessage().contains("nowhere"), e.getMessage());
        Path noWeights = tmp.resolve("noweights");
        Files.createDirectories(noWeights);
        Files.writeString(noWeights.resolve("config.json"), "{\"architectures\": [\"OPTForCausalLM\"]}");
        e = assertThrows(InputException.class, () -> HfCheckpoint.open(noWeights));
        assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
    }
}
