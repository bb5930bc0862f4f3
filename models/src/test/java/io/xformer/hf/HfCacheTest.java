package io.xformer.hf;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.nn.InputException;
import io.xformer.nn.Scope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Model ids resolved in a fake HuggingFace hub cache laid out as huggingface_hub writes it. */
class HfCacheTest {
    static final String MAIN = "0123456789abcdef0123456789abcdef01234567";
    static final String V2 = "fedcba9876543210fedcba9876543210fedcba98";

    @TempDir
    Path tmp;

    /** hub/models--ORG--NAME/{refs/main -> MAIN, refs/v2 -> V2, snapshots/{MAIN,V2}/ (a tiny model each)}. */
    Path fakeHub(String org, String name) throws IOException {
        Path hub = tmp.resolve("hub"), repo = hub.resolve("models--" + org + "--" + name);
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), MAIN); // huggingface_hub writes no newline
        Files.writeString(repo.resolve("refs/v2"), V2 + "\n");
        for (String sha : List.of(MAIN, V2)) HfCheckpointTest.copyDir(HfCheckpointTest.TINY.resolve("vit-mae-tiny"), repo.resolve("snapshots/" + sha));
        return hub;
    }

    @Test
    void idsResolveToSnapshots() throws IOException {
        Path hub = fakeHub("facebook", "vit-mae-tiny");
        Path snaps = hub.resolve("models--facebook--vit-mae-tiny/snapshots");
        List<Path> hubs = List.of(tmp.resolve("empty-hub"), hub);
        assertEquals(snaps.resolve(MAIN), HfCache.resolve(Path.of("facebook/vit-mae-tiny"), hubs));
        assertEquals(snaps.resolve(V2), HfCache.resolve(Path.of("facebook/vit-mae-tiny@v2"), hubs));
        assertEquals(snaps.resolve(V2), HfCache.resolve(Path.of("facebook/vit-mae-tiny@" + V2), hubs), "a commit hash as REV");
        try (Scope s = Scope.open(); HfCheckpoint c = HfCheckpoint.open(HfCache.resolve(Path.of("facebook/vit-mae-tiny@v2"), hubs))) {
            assertEquals("ViTMAEForPreTraining", c.architecture());
        }
    }

    @Test
    void aMissSaysWhereItLooked() throws IOException {
        Path hub = fakeHub("facebook", "vit-mae-tiny");
        List<Path> hubs = List.of(hub);
        // a miss is bad input (exit 3), not a libtorch failure
        InputException e = assertThrows(InputException.class, () -> HfCache.resolve(Path.of("facebook/vit-mae-huge"), hubs));
        assertTrue(e.getMessage().contains(hub.resolve("models--facebook--vit-mae-huge/refs/main").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("nothing is downloaded"), e.getMessage());
        e = assertThrows(InputException.class, () -> HfCache.resolve(Path.of("facebook/vit-mae-tiny@v3"), hubs));
        assertTrue(e.getMessage().contains("refs/v3"), e.getMessage());
        // a ref naming a snapshot that is not there
        Files.writeString(hub.resolve("models--facebook--vit-mae-tiny/refs/broken"), "abc");
        e = assertThrows(InputException.class, () -> HfCache.resolve(Path.of("facebook/vit-mae-tiny@broken"), hubs));
        assertTrue(e.getMessage().contains("snapshots/abc"), e.getMessage());
        // through the checkpoint loader, with the default hub folders
        e = assertThrows(InputException.class, () -> HfCheckpoint.open(Path.of("no-such-org-xyz/no-such-model")));
        assertTrue(e.getMessage().contains("models--no-such-org-xyz--no-such-model"), e.getMessage());
    }

    @Test
    void anExistingLocalFolderWinsOverAnId() throws IOException {
        // "target/<name>" reads like an id; the folder exists relative to the working directory
        String name = "hfcache-local-" + ProcessHandle.current().pid();
        Path local = Path.of("target", name);
        Files.createDirectories(local);
        try {
            Path hub = fakeHub("target", name);
            assertEquals(local, HfCache.resolve(local, List.of(hub)));
            assertNotEquals(local, HfCache.resolve(Path.of("target/" + name + "@v2"), List.of(hub)));
            assertEquals(Path.of("not an id"), HfCache.resolve(Path.of("not an id"), List.of(hub)), "non-ids are left to the caller");
        } finally {
            Files.delete(local);
        }
    }

    @Test
    void trainingConfigInitPathsTakeIds() throws IOException {
        Path dir = tmp.resolve("cfg");
        Files.createDirectories(dir.resolve("local-org/vit"));
        // a real (strictly checked) model section and tokenizer: configs/tiny.json's
        Path root = Path.of(System.getProperty("xformer.root", "..")).toAbsolutePath().normalize();
        String model = new com.fasterxml.jackson.databind.ObjectMapper().readTree(root.resolve("configs/tiny.json").toFile()).get("model")
                .toString();
        String tok = root.resolve("test-data/hf-tiny/tokenizer-wordpiece/tokenizer.json").toString();
        String cfg = "{\"model\": " + model + ", \"tokenizer\": \"" + tok + "\", \"data\": {\"train\": [{\"annotations\": \"a.json\"}]},"
                + " \"init\": {\"vision\": \"local-org/vit\", \"qformer\": \"QFORMER\"}}";
        // a folder beside the config wins over the id of the same spelling
        Files.writeString(dir.resolve("ok.json"), cfg.replace("QFORMER", "local-org/vit"));
        io.xformer.train.TrainConfig c = io.xformer.train.TrainConfig.load(dir.resolve("ok.json"));
        assertEquals(dir.resolve("local-org/vit"), c.init().vision());
        // an id with no folder goes to the HF cache, whose miss names the cache entry
        Files.writeString(dir.resolve("miss.json"), cfg.replace("QFORMER", "no-such-org-xyz/bert@v1"));
        InputException e = assertThrows(InputException.class, () -> io.xformer.train.TrainConfig.load(dir.resolve("miss.json")));
        assertTrue(e.getMessage().contains("models--no-such-org-xyz--bert/refs/v1"), e.getMessage());
    }
}
