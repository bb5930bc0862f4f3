package io.xformer.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.nn.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 11, items 5 and 9: the project's own config is read strictly; errors name the file and the JSON path. */
class HardeningConfigTest {
    static final Path ROOT = Path.of(System.getProperty("xformer.root", "../..")).toAbsolutePath().normalize();
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** configs/tiny.json with absolute paths, edited by change, written to tmp. */
    Path tiny(Consumer<ObjectNode> change) throws IOException {
        ObjectNode c = (ObjectNode) JSON.readTree(ROOT.resolve("configs/tiny.json").toFile());
        c.put("tokenizer", ROOT.resolve("test-data/hf-tiny/tokenizer-wordpiece/tokenizer.json").toString());
        ((ObjectNode) c.get("data").get("synthetic")).put("dir", tmp.resolve("syn").toString());
        change.accept(c);
        Path f = tmp.resolve("cfg-" + System.nanoTime() + ".json");
        Files.writeString(f, c.toPrettyString());
        return f;
    }

    static ObjectNode train(ObjectNode c) {
        return (ObjectNode) c.get("train");
    }

    ConfigException refused(Consumer<ObjectNode> change, String... fragments) throws IOException {
        Path f = tiny(change);
        ConfigException e = assertThrows(ConfigException.class, () -> TrainConfig.load(f));
        assertTrue(e.getMessage().startsWith(f.toString()), "names the file: " + e.getMessage());
        for (String s : fragments) assertTrue(e.getMessage().contains(s), "'" + s + "' in: " + e.getMessage());
        return e;
    }

    @Test
    void item05_theTinyConfigAndThePaperConfigsStillLoad() throws IOException {
        TrainConfig c = TrainConfig.load(tiny(x -> {}));
        assertEquals(16, c.train().batchSize());
        assertEquals(0.0005, c.train().lr());
        assertEquals(32, c.resolved().get("model.vision_config.hidden_size"));
        assertEquals(2000L, TrainConfig.load(tiny(x -> train(x).remove("warmup_steps"))).train().warmupSteps(), "defaults still apply");
        for (String p : new String[] {"configs/xformer-opt2.7b.json", "configs/blip2-opt2.7b.json"})
            assertNotNull(TrainConfig.load(ROOT.resolve(p)).model());
    }

    @Test
    void item05_unknownConfigKeyIsRefusedWithDidYouMean() throws IOException {
        refused(c -> train(c).put("max_step", 10), "train.max_step", "unknown key", "did you mean \"max_steps\"");
        refused(c -> train(c).put("learning_rate", 0.1), "train.learning_rate", "did you mean \"lr\"");
        refused(c -> c.set("trian", c.remove("train")), "trian", "did you mean \"train\"");
        refused(c -> {
            ObjectNode v = (ObjectNode) c.get("model").get("vision_config");
            v.set("hiden_size", v.remove("hidden_size"));
        }, "model.vision_config.hiden_size", "did you mean \"hidden_size\"");
        refused(c -> ((ObjectNode) c.get("data").get("train").get(0)).put("annotation", "x.json"), "data.train[0].annotation",
                "did you mean \"annotations\"");
    }

    @Test
    void item05_modelSectionKeepsHfLeniencyButTypeChecksWhatItReads() throws IOException {
        // keys HF writes that nobody here reads stay accepted
        TrainConfig.load(tiny(c -> ((ObjectNode) c.get("model")).put("torch_dtype", "float32").put("transformers_version", "4.47.0")));
        refused(c -> ((ObjectNode) c.get("model").get("vision_config")).put("hidden_size", "32"), "model.vision_config.hidden_size",
                "must be an integer", "\"32\"");
        refused(c -> ((ObjectNode) c.get("model").get("mae_config")).put("mask_ratio", 1.5), "model.mae_config.mask_ratio", "[0, 1]");
        refused(c -> ((ObjectNode) c.get("model")).put("label_smoothing", -0.1), "model.label_smoothing", "[0, 1]");
    }

    @Test
    void item05_mistypedValuesAreRefusedNamingFileAndJsonPath() throws IOException {
        refused(c -> train(c).put("batch_size", "sixteen"), "train.batch_size", "expected an integer >= 2", "\"sixteen\"");
        refused(c -> train(c).put("amp", "yes"), "train.amp", "true or false");
        refused(c -> train(c).put("lr", "0.001"), "train.lr", "expected a number");
        refused(c -> c.putNull("train"), "train", "expected an object", "null");
        refused(c -> train(c).put("device", "gpu"), "train.device", "cpu, cuda or cuda:N");
        refused(c -> c.put("tokenizer", 7), "tokenizer", "expected a string");
    }

    @Test
    void item05_outOfRangeValuesAreRefused() throws IOException {
        refused(c -> train(c).put("lr", -0.001), "train.lr", "> 0");
        refused(c -> train(c).put("lr", 0), "train.lr", "> 0");
        refused(c -> train(c).put("max_steps", -10), "train.max_steps", ">= 1", "-10");
        refused(c -> train(c).put("batch_size", 1), "train.batch_size", ">= 2");
        refused(c -> train(c).put("checkpoint_every", 0), "train.checkpoint_every", ">= 1");
        refused(c -> train(c).put("weight_decay", -1), "train.weight_decay", ">= 0");
        refused(c -> train(c).putArray("betas").add(1.5).add(0.9), "train.betas", "[0, 1)");
        refused(c -> train(c).put("max_steps", 2.5), "train.max_steps", "integer");
        refused(c -> ((ObjectNode) c.get("data")).put("max_image_pixels", 0), "data.max_image_pixels", ">= 1");
    }

    @Test
    void item09_aTokenizerLargerThanTheModelIsRefused() throws IOException {
        // the wordpiece fixture has 160 + added tokens; a Q-Former with 100 ids cannot embed them
        refused(c -> ((ObjectNode) c.get("model").get("qformer_config")).put("vocab_size", 100), "tokenizer",
                "model.qformer_config.vocab_size is 100");
        refused(c -> train(c).put("max_text_len", 65), "train.max_text_len 65", "max_position_embeddings 64");
    }

    @Test
    void item05_didYouMeanUsesEditDistanceWithTranspositions() {
        assertEquals(1, StrictJson.distance("trian", "train"));
        assertEquals(1, StrictJson.distance("max_step", "max_steps"));
        assertEquals("max_steps", StrictJson.suggest("max_step", TrainConfig.TRAIN_KEYS));
        assertNull(StrictJson.suggest("completely_different", TrainConfig.TRAIN_KEYS));
    }
}
