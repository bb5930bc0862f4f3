package io.xformer.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.nn.DType;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command lines scripts outside the repository use, run in-process against the fixtures. */
class CliTest {
    static final Path HF = Path.of(System.getProperty("xformer.root", "..")).resolve("test-data/hf-tiny");

    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {}

    static synchronized Result run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true));
            System.setErr(new PrintStream(err, true));
            int code = Main.run(args);
            return new Result(code, out.toString(), err.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static void assertMatchesGolden(Path golden, Path produced, String... names) {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> g = SafeTensors.load(golden), p = SafeTensors.load(produced);
            for (String n : names) {
                assertTrue(p.containsKey(n), "output lacks " + n + ": " + p.keySet());
                assertArrayEquals(g.get(n).shape(), p.get(n).shape(), n);
                double d = g.get(n).to(DType.F64).sub(p.get(n).to(DType.F64)).abs().amax().item();
                assertTrue(d <= 1e-4, n + " differs by " + d);
            }
        }
    }

    @Test
    void forwardWritesEveryGoldenOutput() {
        Object[][] cases = {
            {"blip2-opt-tiny", new String[] {"vision_hidden_first", "vision_last_hidden_state", "vision_pooler_output",
                "qformer_last_hidden_state", "language_projection", "logits"}},
            {"blip2-opt-tiny-sharded", new String[] {"logits", "qformer_last_hidden_state"}},
            {"blip2-itm-tiny", new String[] {"itm_logits", "itc_logits_per_image", "itc_image_embeds", "itc_text_embeds"}},
            {"vit-mae-tiny", new String[] {"mask", "ids_restore", "encoder_last_hidden_state", "logits", "loss"}},
        };
        for (Object[] c : cases) {
            String folder = (String) c[0];
            Path golden = HF.resolve(folder.replace("-sharded", "")).resolve("golden.safetensors");
            Path out = tmp.resolve(folder + ".safetensors");
            Result r = run("forward", "--model", HF.resolve(folder).toString(), "--inputs", golden.toString(), "--output", out.toString());
            assertEquals(0, r.code(), folder + ": " + r.err());
            assertMatchesGolden(golden, out, (String[]) c[1]);
        }
    }

    @Test
    void forwardRunsXFormerCheckpoints() {
        Path xf = HF.resolveSibling("xformer-tiny");
        String[][] cases = {
            {"xformer-tiny", "qformer_query_output,mae_enriched,query_output,text_cls,itc_sim_i2t,itm_logits,itg_logits,rec_logits,"
                + "mae_mask,loss_itc,loss_itm,loss_itg,loss_rec,loss"},
            {"blip2-stage1-tiny", "query_output,text_cls,itc_sim_i2t,itm_logits,itg_logits,loss_itc,loss_itm,loss_itg,loss"}};
        for (String[] c : cases) {
            Path golden = xf.resolve(c[0]).resolve("golden.safetensors");
            Path out = tmp.resolve(c[0] + ".safetensors");
            Result r = run("forward", "--model", xf.resolve(c[0]).toString(), "--inputs", golden.toString(), "--output", out.toString());
            assertEquals(0, r.code(), r.out() + r.err());
            assertMatchesGolden(golden, out, c[1].split(","));
        }
    }

    @Test
    void generateMatchesTransformersGreedyAndBeam() {
        Path golden = HF.resolve("blip2-opt-tiny/golden.safetensors");
        for (String[] c : new String[][] {{"1", "generate_greedy"}, {"3", "generate_beam3_lp0"}}) {
            Path out = tmp.resolve("gen" + c[0] + ".safetensors");
            Result r = run("generate", "--model", HF.resolve("blip2-opt-tiny").toString(), "--inputs", golden.toString(),
                    "--num-beams", c[0], "--max-new-tokens", "8", "--length-penalty", "0", "--output", out.toString());
            assertEquals(0, r.code(), r.err());
            try (Scope s = Scope.open()) {
                assertArrayEquals(SafeTensors.load(golden).get(c[1]).toLongArray(), SafeTensors.load(out).get("sequences").toLongArray(), c[1]);
            }
        }
    }

    static long field(String json, String key) {
        var m = java.util.regex.Pattern.compile("\"" + key + "\": (\\d+)").matcher(json);
        assertTrue(m.find(), key + " in " + json);
        return Long.parseLong(m.group(1));
    }

    @Test
    void paramsMatchThePaper() {
        Path configs = HF.getParent().getParent().resolve("configs");
        Result blip2 = run("params", "--config", configs.resolve("blip2-opt2.7b.json").toString(), "--stage", "2", "--json");
        Result xf = run("params", "--config", configs.resolve("xformer-opt2.7b.json").toString(), "--stage", "2", "--json");
        assertEquals(0, blip2.code(), blip2.err());
        long b = field(blip2.out(), "trainable"), x = field(xf.out(), "trainable");
        assertTrue(b >= 107_000_000 && b <= 110_000_000, "BLIP-2 stage-2 trainable " + b);
        assertTrue(x - b >= 15_000_000 && x - b <= 30_000_000, "X-Former adds " + (x - b));
        assertTrue(field(xf.out(), "frozen") > field(blip2.out(), "frozen"), "the MAE-ViT is frozen too");
    }

    @Test
    void trainWritesMetricsCheckpointsAndALoadableModel() throws IOException {
        Path data = tmp.resolve("synthetic");
        assertEquals(0, run("make-synthetic", "--out", data.toString(), "--images", "24", "--size", "40").code());
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(HF.getParent().getParent().resolve("configs/tiny.json").toFile());
        cfg.put("tokenizer", HF.resolve("tokenizer-wordpiece/tokenizer.json").toString());
        var d = cfg.putObject("data");
        d.putArray("train").addObject().put("annotations", data.resolve("captions_train.json").toString()).put("images", data.toString());
        d.putArray("val").addObject().put("annotations", data.resolve("captions_val.json").toString()).put("images", data.toString());
        ((com.fasterxml.jackson.databind.node.ObjectNode) cfg.get("train")).put("batch_size", 4).put("checkpoint_every", 2);
        Path cfgFile = tmp.resolve("cfg.json");
        Files.writeString(cfgFile, cfg.toPrettyString());
        Path out = tmp.resolve("run");
        Result r = run("train", "--config", cfgFile.toString(), "--max-steps", "3", "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        String[] lines = Files.readString(out.resolve("metrics.jsonl")).strip().split("\n");
        assertEquals(3, lines.length);
        for (String k : new String[] {"step", "lr", "loss", "loss_itc", "loss_itm", "loss_itg", "loss_rec", "img_per_s"})
            assertTrue(lines[2].contains("\"" + k + "\""), k + " in " + lines[2]);
        assertTrue(Files.isRegularFile(out.resolve("checkpoints/step-0000002/trainable.safetensors")));
        assertEquals("step-0000003", Files.readString(out.resolve("checkpoints/latest")).strip());
        assertTrue(r.out().contains("held-out retrieval"), r.out());
        Result fwd = run("forward", "--model", out.resolve("model").toString(), "--inputs",
                HF.resolveSibling("xformer-tiny").resolve("xformer-tiny/golden.safetensors").toString(), "--output", tmp.resolve("f.safetensors").toString());
        assertEquals(0, fwd.code(), fwd.err());
        Result stage3 = run("train", "--config", cfgFile.toString(), "--stage", "3", "--output", out.toString());
        assertEquals(2, stage3.code());
        assertTrue(stage3.err().contains("--stage 3"), stage3.err());
        Result stage2 = run("train", "--config", cfgFile.toString(), "--stage", "2", "--output", out.toString());
        assertEquals(3, stage2.code(), stage2.err());
        assertTrue(stage2.err().contains("stage2"), "a config without a stage-2 part says so: " + stage2.err());
    }

    @Test
    void tokenizePrintsOneJsonArrayPerText() {
        Result r = run("tokenize", "--tokenizer", HF.resolve("tokenizer-wordpiece/tokenizer.json").toString(),
                "How many circles are there in the image?", "a b");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertEquals(2, lines.length);
        assertEquals("[2,89,40,158,84,159,39,77,142,60,54,90,117,33,7,3]", lines[0]);
    }

    @Test
    void errorsExitNonZeroWithOneClearLine() throws IOException {
        Path golden = HF.resolve("vit-mae-tiny/golden.safetensors");
        Result missingDir = run("forward", "--model", tmp.resolve("nope").toString(), "--inputs", golden.toString(), "--output", tmp.resolve("o").toString());
        assertNotEquals(0, missingDir.code());
        assertTrue(missingDir.err().contains("nope"), missingDir.err());

        Path unknown = tmp.resolve("unknown");
        Files.createDirectories(unknown);
        Files.copy(HF.resolve("vit-mae-tiny/model.safetensors"), unknown.resolve("model.safetensors"));
        Files.writeString(unknown.resolve("config.json"), "{\"architectures\": [\"LlamaForCausalLM\"]}");
        Result arch = run("forward", "--model", unknown.toString(), "--inputs", golden.toString(), "--output", tmp.resolve("o").toString());
        assertEquals(3, arch.code(), "bad input: " + arch.err());
        assertTrue(arch.err().contains("unknown architecture 'LlamaForCausalLM'"), arch.err());

        Result input = run("forward", "--model", HF.resolve("blip2-itm-tiny").toString(), "--inputs", golden.toString(), "--output", tmp.resolve("o").toString());
        assertEquals(3, input.code(), "bad input: " + input.err());
        assertTrue(input.err().contains("'input_ids'") && input.err().contains(golden.toString()), input.err());

        // a checkpoint whose keys do not fit the architecture its config names
        Path mismatch = tmp.resolve("mismatch");
        Files.createDirectories(mismatch);
        Files.copy(HF.resolve("vit-mae-tiny/model.safetensors"), mismatch.resolve("model.safetensors"));
        Files.copy(HF.resolve("blip2-itm-tiny/config.json"), mismatch.resolve("config.json"));
        Result keys = run("forward", "--model", mismatch.toString(), "--inputs", golden.toString(), "--output", tmp.resolve("o").toString());
        assertEquals(3, keys.code(), "bad input: " + keys.err());
        assertTrue(keys.err().contains("missing keys") && keys.err().contains("vision_model.") && keys.err().contains("unexpected keys"),
                keys.err());
        assertEquals(1, keys.err().strip().split("\n").length, "one line: " + keys.err());

        // a truncated single-file checkpoint
        Path cut = tmp.resolve("cut");
        Files.createDirectories(cut);
        byte[] w = Files.readAllBytes(HF.resolve("vit-mae-tiny/model.safetensors"));
        Files.write(cut.resolve("model.safetensors"), Arrays.copyOf(w, w.length / 2));
        Files.copy(HF.resolve("vit-mae-tiny/config.json"), cut.resolve("config.json"));
        Result trunc = run("forward", "--model", cut.toString(), "--inputs", golden.toString(), "--output", tmp.resolve("o").toString());
        assertEquals(3, trunc.code(), "bad input: " + trunc.err());
        assertTrue(trunc.err().contains(cut.resolve("model.safetensors").toString()), trunc.err());
        assertFalse(Files.exists(tmp.resolve("o")), "no output written on failure");
    }

    @Test
    void captionAndAskRunAStage2FolderAndPrintTextOrJson() throws IOException {
        String model = HF.resolve("blip2-opt-tiny").toString(), tok = HF.resolve("tokenizer-bpe/tokenizer.json").toString();
        String img = HF.resolveSibling("synthetic").resolve("images/000000.png").toString();
        Result c = run("caption", "--model", model, "--tokenizer", tok, img, "--json");
        assertEquals(0, c.code(), c.err());
        var arr = new com.fasterxml.jackson.databind.ObjectMapper().readTree(c.out());
        assertEquals(1, arr.size());
        assertEquals(img, arr.get(0).get("image").asText());
        assertTrue(arr.get(0).get("caption").isTextual());
        Result plain = run("caption", "--model", model, "--tokenizer", tok, img);
        assertEquals(img + "\t" + arr.get(0).get("caption").asText(), plain.out().strip(), "plain text says the same, deterministically");
        Result a = run("ask", "--model", model, "--tokenizer", tok, "--image", img, "How many circles?", "Is there a square?", "--json");
        assertEquals(0, a.code(), a.err());
        var answers = new com.fasterxml.jackson.databind.ObjectMapper().readTree(a.out());
        assertEquals(2, answers.size());
        assertEquals("Is there a square?", answers.get(1).get("question").asText());
        assertFalse(answers.get(0).get("answer").asText().contains("\n"));
        // no tokenizer in the folder and none given: one clear line
        Result noTok = run("caption", "--model", model, img);
        assertEquals(3, noTok.code(), "bad input (issue 11 exit codes)");
        assertTrue(noTok.err().contains("tokenizer.json"), noTok.err());
        Result notStage2 = run("ask", "--model", HF.resolve("vit-mae-tiny").toString(), "--tokenizer", tok, "--image", img, "What?");
        assertEquals(3, notStage2.code());
        assertTrue(notStage2.err().contains("not a stage-2 model"), notStage2.err());
    }

    @Test
    void forwardWithLabelsWritesBlip2sLmLoss() {
        Path golden = HF.resolve("blip2-opt-tiny-lm-loss/golden.safetensors"), out = tmp.resolve("lm-loss.safetensors");
        Result r = run("forward", "--model", HF.resolve("blip2-opt-tiny").toString(), "--inputs", golden.toString(), "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        assertMatchesGolden(golden, out, "logits", "loss");
    }

    @Test
    void forwardAndGenerateRunABlip2T5Folder() {
        Path golden = HF.resolve("blip2-t5-tiny/golden.safetensors"), out = tmp.resolve("t5-forward.safetensors");
        Result r = run("forward", "--model", HF.resolve("blip2-t5-tiny").toString(), "--inputs", golden.toString(), "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        assertMatchesGolden(golden, out, "language_projection", "encoder_last_hidden_state", "logits", "loss");
        for (String[] c : new String[][] {{"1", "generate_greedy"}, {"3", "generate_beam3_lp0"}}) {
            Path seq = tmp.resolve("t5-gen" + c[0] + ".safetensors");
            Result g = run("generate", "--model", HF.resolve("blip2-t5-tiny").toString(), "--inputs", golden.toString(),
                    "--num-beams", c[0], "--max-new-tokens", "8", "--length-penalty", "0", "--output", seq.toString());
            assertEquals(0, g.code(), g.err());
            try (Scope s = Scope.open()) {
                assertArrayEquals(SafeTensors.load(golden).get(c[1]).toLongArray(), SafeTensors.load(seq).get("sequences").toLongArray(), c[1]);
            }
        }
    }
}
