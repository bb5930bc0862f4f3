package io.xformer.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.nn.ConfigException;
import io.xformer.nn.InputException;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.TorchException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/** Issue 11 at the command line: items 1, 4, 5, 8, 11 and 12. */
class HardeningCliTest {
    static final Path HF = CliTest.HF;
    static final Path CONFIGS = HF.getParent().getParent().resolve("configs");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    Path tinyConfig(Path data, double lr) throws IOException {
        ObjectNode cfg = (ObjectNode) JSON.readTree(CONFIGS.resolve("tiny.json").toFile());
        cfg.put("tokenizer", HF.resolve("tokenizer-wordpiece/tokenizer.json").toString());
        ObjectNode d = cfg.putObject("data");
        d.putArray("train").addObject().put("annotations", data.resolve("captions_train.json").toString()).put("images", data.toString());
        d.putArray("val").addObject().put("annotations", data.resolve("captions_val.json").toString()).put("images", data.toString());
        ((ObjectNode) cfg.get("train")).put("batch_size", 4).put("checkpoint_every", 1).put("lr", lr);
        Path f = tmp.resolve("cfg-" + lr + ".json");
        Files.writeString(f, cfg.toPrettyString());
        return f;
    }

    @Test
    void item11_trainPrintsAFirstAndALastLine_item01_item04_atTheCommandLine() throws IOException {
        Path data = tmp.resolve("synthetic");
        assertEquals(0, CliTest.run("make-synthetic", "--out", data.toString(), "--images", "24", "--size", "40").code());
        Path cfg = tinyConfig(data, 0.0005), out = tmp.resolve("run");
        CliTest.Result r = CliTest.run("train", "--config", cfg.toString(), "--max-steps", "2", "--stop-after", "1", "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().strip().split("\n");
        String first = lines[0], last = lines[lines.length - 1];
        for (String s : new String[] {"train: config " + cfg, "cpu", "libtorch", "threads", "data workers", "trainable", "frozen",
            "training samples", "output " + out.toAbsolutePath()})
            assertTrue(first.contains(s), "'" + s + "' in the first line: " + first);
        assertTrue(last.startsWith("stopped after step 1 (continue with --resume) in ") && last.contains(out.resolve("metrics.jsonl").toString())
                && last.contains(out.resolve("checkpoints").toString()), last);

        // item 1: the same folder without --resume is refused, naming the folder and both ways on
        CliTest.Result again = CliTest.run("train", "--config", cfg.toString(), "--max-steps", "2", "--output", out.toString());
        assertEquals(3, again.code(), again.err());
        assertTrue(again.err().contains(out + " already holds a run") && again.err().contains("--resume") && again.err().contains("--output"),
                again.err());

        // item 4: a changed lr is refused on --resume, then accepted knowingly and recorded
        Path changed = tinyConfig(data, 0.001);
        CliTest.Result refused = CliTest.run("train", "--config", changed.toString(), "--max-steps", "2", "--resume", "--output", out.toString());
        assertEquals(3, refused.code(), refused.err());
        assertTrue(refused.err().contains("train.lr: 5.0E-4 -> 0.001") && refused.err().contains("--allow-config-change"), refused.err());
        CliTest.Result allowed = CliTest.run("train", "--config", changed.toString(), "--max-steps", "2", "--resume", "--allow-config-change",
                "--output", out.toString());
        assertEquals(0, allowed.code(), allowed.err());
        List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(3, metrics.size(), String.join("\n", metrics));
        JsonNode change = JSON.readTree(metrics.get(1));
        assertEquals(1, change.get("step").asInt());
        assertEquals("train.lr: 5.0E-4 -> 0.001", change.get("config_change").get(0).asText());

        // item 11: the last line of a finished run says where everything went and the held-out result
        String[] done = allowed.out().strip().split("\n");
        String end = done[done.length - 1];
        for (String s : new String[] {"trained 2 steps in ", " s;", "metrics " + out.toAbsolutePath().resolve("metrics.jsonl"),
            "checkpoints " + out.toAbsolutePath().resolve("checkpoints"), "model " + out.toAbsolutePath().resolve("model"),
            "eval " + out.toAbsolutePath().resolve("eval.json"), "held-out retrieval over", "R@1"})
            assertTrue(end.contains(s), "'" + s + "' in the last line: " + end);
        // item 10: pairs is a count
        assertTrue(JSON.readTree(out.resolve("eval.json").toFile()).get("pairs").isIntegralNumber());

        // item 1: --overwrite starts over, the old run moved aside
        CliTest.Result over = CliTest.run("train", "--config", cfg.toString(), "--max-steps", "1", "--overwrite", "--output", out.toString());
        assertEquals(0, over.code(), over.err());
        assertTrue(over.out().contains("previous run moved to " + out + ".replaced-"), over.out());
        assertEquals(1, Files.readAllLines(out.resolve("metrics.jsonl")).size());
    }

    @Test
    void item11_item01_stage2HasTheSameFirstLineLastLineAndFolderRefusal() throws IOException {
        Path data = tmp.resolve("synthetic2");
        assertEquals(0, CliTest.run("make-synthetic", "--out", data.toString(), "--images", "24", "--size", "40").code());
        ObjectNode c = JSON.createObjectNode();
        c.put("tokenizer", HF.resolve("tokenizer-wordpiece/tokenizer.json").toString());
        c.putObject("train").put("batch_size", 4).put("max_steps", 2).put("warmup_steps", 1).put("log_every", 1).put("workers", 1)
                .put("image_size", 32).put("max_text_len", 48);
        ObjectNode s2 = c.putObject("stage2");
        s2.putObject("init").put("stage1", HF.getParent().resolve("xformer-tiny/xformer-tiny").toString())
                .put("llm", HF.resolve("blip2-opt-tiny").toString());
        s2.put("llm_tokenizer", HF.resolve("tokenizer-bpe/tokenizer.json").toString());
        ObjectNode d = s2.putObject("data");
        d.putArray("train").addObject().put("annotations", data.resolve("captions_train.json").toString()).put("images", data.toString());
        d.putArray("val").addObject().put("annotations", data.resolve("captions_val.json").toString()).put("images", data.toString());
        Path cfg = tmp.resolve("stage2.json"), out = tmp.resolve("run2");
        Files.writeString(cfg, c.toPrettyString());
        CliTest.Result r = CliTest.run("train", "--config", cfg.toString(), "--stage", "2", "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().strip().split("\n");
        String first = lines[0], last = lines[lines.length - 1];
        for (String s : new String[] {"train: config " + cfg, "stage 2", "cpu", "libtorch", "threads: intra-op", "trainable", "frozen",
            "training samples", "output " + out.toAbsolutePath()})
            assertTrue(first.contains(s), "'" + s + "' in the first line: " + first);
        for (String s : new String[] {"trained 2 steps in ", "model " + out.toAbsolutePath().resolve("model"),
            "eval " + out.toAbsolutePath().resolve("eval.json"), "held-out LM loss over"})
            assertTrue(last.contains(s), "'" + s + "' in the last line: " + last);
        assertTrue(JSON.readTree(out.resolve("eval.json").toFile()).get("pairs").isIntegralNumber());
        CliTest.Result again = CliTest.run("train", "--config", cfg.toString(), "--stage", "2", "--output", out.toString());
        assertEquals(3, again.code(), again.err());
        assertTrue(again.err().contains(out + " already holds a run"), again.err());
        CliTest.Result bad = CliTest.run("train", "--config", cfg.toString(), "--stage", "3", "--output", out.toString());
        assertEquals(2, bad.code(), bad.err());
    }

    @Test
    void item12_captionAndAskMapBadInputToExit3() {
        CliTest.Result cap = CliTest.run("caption", "--model", HF.resolve("blip2-opt-tiny").toString(), "--tokenizer",
                HF.resolve("tokenizer-bpe/tokenizer.json").toString(), tmp.resolve("no-such.png").toString());
        assertEquals(3, cap.code(), cap.err());
        assertTrue(cap.err().contains("no-such.png: missing image"), cap.err());
        CliTest.Result ask = CliTest.run("ask", "--model", HF.resolve("vit-mae-tiny").toString(), "--tokenizer",
                HF.resolve("tokenizer-bpe/tokenizer.json").toString(), "--image", HF.resolve("../synthetic-none.png").toString(), "what?");
        assertEquals(3, ask.code(), ask.err());
        CliTest.Result notStage2 = CliTest.run("caption", "--model", HF.resolve("vit-mae-tiny").toString(), "--tokenizer",
                HF.resolve("tokenizer-bpe/tokenizer.json").toString(), HF.resolve("../hf-tiny").toString());
        assertEquals(3, notStage2.code(), notStage2.err());
        assertTrue(notStage2.err().contains("is not a stage-2 model"), notStage2.err());
    }

    @Test
    void item05_flagRangesAndBadConfigsExitWithTheirKind() throws IOException {
        Path cfg = tmp.resolve("bad.json");
        Files.writeString(cfg, "{\"model\": {}, \"tokenizer\": \"t.json\", \"data\": {\"train\": [{\"annotations\": \"a.json\"}]}, "
                + "\"train\": {\"max_step\": 10}}");
        CliTest.Result stop = CliTest.run("train", "--config", cfg.toString(), "--stop-after", "-3", "--output", tmp.resolve("o").toString());
        assertEquals(2, stop.code());
        assertTrue(stop.err().contains("--stop-after must be >= 1, got -3"), stop.err());
        CliTest.Result max = CliTest.run("train", "--config", cfg.toString(), "--max-steps", "0", "--output", tmp.resolve("o").toString());
        assertEquals(2, max.code());
        assertTrue(max.err().contains("--max-steps must be >= 1"), max.err());
        CliTest.Result typo = CliTest.run("train", "--config", cfg.toString(), "--output", tmp.resolve("o").toString());
        assertEquals(3, typo.code(), typo.err());
        assertTrue(typo.err().strip().startsWith("xformer: error: " + cfg), typo.err());
    }

    @Test
    void item12_exitCodesByKind() {
        assertEquals(2, CliTest.run("train", "--no-such-flag").code(), "usage");
        assertEquals(2, CliTest.run("forward").code(), "usage: missing required options");
        CliTest.Result missing = CliTest.run("train", "--config", tmp.resolve("nope.json").toString(), "--output", tmp.resolve("o").toString());
        assertEquals(3, missing.code(), missing.err());
        assertTrue(missing.err().contains("no such config file"), missing.err());
        assertEquals(3, ExitCodes.of(new InputException("bad file")));
        assertEquals(3, ExitCodes.of(new ConfigException("bad key")));
        assertEquals(4, ExitCodes.of(new UncheckedIOException(new IOException("No space left on device"))));
        assertEquals(4, ExitCodes.of(new IOException("disk")));
        assertEquals(5, ExitCodes.of(new TorchException("CUDA out of memory")));
        assertEquals(5, ExitCodes.of(new OutOfMemoryError("Java heap space")));
        assertEquals(130, ExitCodes.of(new TorchException("interrupted while waiting for data", new InterruptedException())));
        assertEquals(130, ExitCodes.of(new java.nio.channels.ClosedByInterruptException()));
        assertEquals(1, ExitCodes.of(new NullPointerException()), "a bug");
    }

    @Test
    void item11_everyOptionHasADescriptionAndShowsItsDefault() {
        CommandLine cl = Main.commandLine();
        assertEquals(Main.COMMANDS.size(), cl.getSubcommands().size(), "every command is checked");
        List<String> bad = new java.util.ArrayList<>();
        check(cl, bad);
        assertTrue(bad.isEmpty(), "options without a description: " + bad);
        CliTest.Result help = CliTest.run("generate", "--help");
        assertTrue(help.out().contains("Default: 20") && help.out().contains("Default: cpu"), help.out());
        CliTest.Result train = CliTest.run("train", "--help");
        assertTrue(train.out().contains("default: runs/train") && train.out().contains("--overwrite")
                && train.out().contains("--allow-config-change"), train.out());
        assertTrue(CliTest.run("--help").out().contains("Exit codes:"));
    }

    private static void check(CommandLine cl, List<String> bad) {
        CommandSpec spec = cl.getCommandSpec();
        for (OptionSpec o : spec.options()) {
            if (o.usageHelp() || o.versionHelp()) continue;
            if (o.description().length == 0 || o.description()[0].isBlank()) bad.add(spec.qualifiedName() + " " + o.longestName());
        }
        for (var p : spec.positionalParameters())
            if (p.description().length == 0) bad.add(spec.qualifiedName() + " " + p.paramLabel());
        cl.getSubcommands().values().forEach(c -> check(c, bad));
    }

    /** A copy of a fixture model with one weight set to NaN. */
    Path nanModel(String fixture, String weight) throws IOException {
        Path dir = tmp.resolve(fixture + "-nan");
        Files.createDirectories(dir);
        Files.copy(HF.resolve(fixture).resolve("config.json"), dir.resolve("config.json"));
        try (Scope s = Scope.open()) {
            Map<String, Tensor> w = new LinkedHashMap<>(SafeTensors.load(HF.resolve(fixture).resolve("model.safetensors")));
            assertTrue(w.containsKey(weight), weight + " in " + w.keySet());
            w.put(weight, w.get(weight).mul(Double.NaN));
            SafeTensors.save(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
        }
        return dir;
    }

    @Test
    void item08_forwardAndGenerateWarnNamingNonFiniteOutputs() throws IOException {
        Path mae = nanModel("vit-mae-tiny", "vit.layernorm.weight");
        CliTest.Result f = CliTest.run("forward", "--model", mae.toString(), "--inputs", HF.resolve("vit-mae-tiny/golden.safetensors").toString(),
                "--output", tmp.resolve("f.safetensors").toString());
        assertEquals(0, f.code(), f.err());
        assertTrue(f.err().contains("xformer: warning: output encoder_last_hidden_state:") && f.err().contains("NaN or infinite"), f.err());
        Path opt = nanModel("blip2-opt-tiny", "language_model.model.decoder.final_layer_norm.weight");
        CliTest.Result g = CliTest.run("generate", "--model", opt.toString(), "--inputs", HF.resolve("blip2-opt-tiny/golden.safetensors").toString(),
                "--max-new-tokens", "3", "--output", tmp.resolve("g.safetensors").toString());
        assertEquals(0, g.code(), g.err());
        assertTrue(g.err().contains("warning: sequences decoded from non-finite weights: language_model.model.decoder.final_layer_norm.weight"), g.err());
        CliTest.Result clean = CliTest.run("forward", "--model", HF.resolve("vit-mae-tiny").toString(), "--inputs",
                HF.resolve("vit-mae-tiny/golden.safetensors").toString(), "--output", tmp.resolve("c.safetensors").toString());
        assertEquals(0, clean.code(), clean.err());
        assertFalse(clean.err().contains("warning"), clean.err());
    }
}
