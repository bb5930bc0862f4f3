package io.xformer.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.nn.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 11, item 5 on every committed config and on the stage-2 / VQA sections. */
class ConfigsLoadStrictlyTest {
    static final Path ROOT = Path.of(System.getProperty("xformer.root", "../..")).toAbsolutePath().normalize();
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void item05_everyCommittedConfigLoadsUnderTheStrictRules() throws IOException {
        List<Path> configs;
        try (Stream<Path> s = Files.list(ROOT.resolve("configs"))) {
            configs = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        assertTrue(configs.size() >= 5, configs.toString());
        for (Path f : configs) {
            TrainConfig c = assertDoesNotThrow(() -> TrainConfig.load(f), f.toString());
            assertFalse(c.stages().isEmpty(), f.toString());
            for (String st : c.stages()) assertNotNull(Training.trainOf(c, st), f + " stage " + st);
        }
        TrainConfig two = TrainConfig.load(ROOT.resolve("configs/tiny-stage2.json"));
        assertEquals(List.of("2", "vqa"), two.stages());
        assertNull(two.model(), "no stage-1 part");
        assertEquals(300, two.stage2().train().maxSteps());
        assertEquals(0.001, two.stage2().train().lr(), "top-level train under the stage's overrides");
        assertEquals(0.0005, two.vqa().train().lr());
        assertEquals(48, two.vqa().train().imageSize());
        assertEquals(two.stage2().llmTokenizer(), two.vqa().llmTokenizer(), "VQA inherits stage 2's LLM tokenizer");
        assertEquals("vqa_counting.json", two.vqa().data().train().get(0).vqa().getFileName().toString());
    }

    /** configs/tiny-stage2.json with absolute paths, edited by change. */
    Path stage2(Consumer<ObjectNode> change) throws IOException {
        ObjectNode c = (ObjectNode) JSON.readTree(ROOT.resolve("configs/tiny-stage2.json").toFile());
        c.put("tokenizer", ROOT.resolve("test-data/hf-tiny/tokenizer-wordpiece/tokenizer.json").toString());
        ((ObjectNode) c.get("stage2")).put("llm_tokenizer", ROOT.resolve("test-data/hf-tiny/tokenizer-bpe/tokenizer.json").toString());
        change.accept(c);
        Path f = tmp.resolve("s2-" + System.nanoTime() + ".json");
        Files.writeString(f, c.toPrettyString());
        return f;
    }

    static ObjectNode sec(ObjectNode c, String name) {
        return (ObjectNode) c.get(name);
    }

    void refused(Consumer<ObjectNode> change, String... fragments) throws IOException {
        Path f = stage2(change);
        ConfigException e = assertThrows(ConfigException.class, () -> TrainConfig.load(f));
        assertTrue(e.getMessage().startsWith(f.toString()), "names the file: " + e.getMessage());
        for (String s : fragments) assertTrue(e.getMessage().contains(s), "'" + s + "' in: " + e.getMessage());
    }

    @Test
    void item05_stage2AndVqaSectionsAreReadStrictly() throws IOException {
        refused(c -> sec(c, "stage2").put("trian_llm", true), "stage2.trian_llm", "unknown key", "did you mean \"train_llm\"");
        refused(c -> ((ObjectNode) sec(c, "stage2").get("train")).put("max_step", 3), "stage2.train.max_step", "did you mean \"max_steps\"");
        refused(c -> ((ObjectNode) sec(c, "vqa").get("train")).put("lr", -1), "vqa.train.lr", "> 0");
        refused(c -> ((ObjectNode) sec(c, "vqa").get("train")).put("batch_size", "four"), "vqa.train.batch_size", "\"four\"");
        refused(c -> sec(c, "stage2").put("train_llm", "yes"), "stage2.train_llm", "true or false");
        refused(c -> ((ObjectNode) sec(c, "stage2").get("model")).put("stage2_mae_mask_ratio", 1.5), "stage2.model.stage2_mae_mask_ratio",
                "[0, 1]");
        refused(c -> ((ObjectNode) sec(c, "stage2").get("init")).remove("llm"), "stage2.init", "\"stage1\" and \"llm\" go together");
        refused(c -> ((ObjectNode) sec(c, "vqa").get("data").get("train").get(0)).put("format", "coco"), "vqa.data.train[0].format",
                "lavis");
        refused(c -> ((ObjectNode) sec(c, "vqa").get("data").get("train").get(0)).put("image_in", "x.json"),
                "vqa.data.train[0].image_in", "did you mean \"images_in\"");
        refused(c -> ((ObjectNode) sec(c, "vqa").get("data").get("train").get(0)).remove("vqa"), "vqa.data.train[0]",
                "\"annotations\", \"webdataset\" or \"vqa\"");
        refused(c -> c.putArray("stages").add("1"), "stages[0]", "no \"model\"");
        refused(c -> c.putArray("stages").add("3"), "stages[0]", "\"1\", \"2\" or \"vqa\"");
        refused(c -> c.set("stage_2", c.remove("stage2")), "stage_2", "did you mean \"stage2\"");
    }

    @Test
    void item04_aStagesFingerprintHoldsItsOwnSettings() throws IOException {
        TrainConfig c = TrainConfig.load(stage2(x -> {}));
        Map<String, Object> fp = Fingerprint.of(c, "vqa", 7);
        assertEquals(7L, fp.get("vqa.train.max_steps"));
        assertEquals(0.0005, fp.get("vqa.train.lr"));
        assertEquals(16L, fp.get("vqa.train.batch_size"), "from the top-level train");
        assertEquals("Question: {} Short answer:", fp.get("vqa.prompt"));
        assertEquals(true, fp.get("vqa.train_llm"));
        assertTrue(fp.keySet().stream().allMatch(k -> k.startsWith("vqa.")), fp.keySet().toString());
        assertFalse(fp.containsKey("vqa.train.log_every") || fp.containsKey("vqa.train.workers"));
        Map<String, Object> two = Fingerprint.of(c, "2", 300);
        assertEquals(0.0, two.get("stage2.model.stage2_mae_mask_ratio"));
        assertEquals(0.001, two.get("stage2.train.lr"));
        assertFalse(two.keySet().stream().anyMatch(k -> k.startsWith("vqa.") || k.startsWith("train.")), two.keySet().toString());
    }
}
