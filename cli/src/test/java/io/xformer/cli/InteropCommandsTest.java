package io.xformer.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.hf.HfCheckpoint;
import io.xformer.nn.Scope;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `convert` (pickles to safetensors) and `plot` (training curves). */
class InteropCommandsTest {
    static final Path ROOT = Path.of(System.getProperty("xformer.root", "..")).toAbsolutePath().normalize();
    static final Path PICKLE = ROOT.resolve("test-data/pytorch-pickle");

    @TempDir
    Path tmp;

    /** Every tensor of b equals a's bit for bit, with the same dtype and shape. */
    static void assertSameTensors(Path a, Path b) {
        try (Scope s = Scope.open(); HfCheckpoint x = HfCheckpoint.open(a); HfCheckpoint y = HfCheckpoint.open(b)) {
            assertEquals(x.names(), y.names());
            for (String n : x.names()) {
                assertEquals(x.entry(n).dtype(), y.entry(n).dtype(), n);
                assertArrayEquals(x.entry(n).shape(), y.entry(n).shape(), n);
                assertArrayEquals(x.get(n).toByteArray(), y.get(n).toByteArray(), n);
            }
        }
    }

    @Test
    void convertWritesSafetensorsThatReloadBitIdentically() throws IOException {
        Path single = tmp.resolve("mae");
        CliTest.Result r = CliTest.run("convert", "--to", "safetensors", PICKLE.resolve("vit-mae-tiny-bin").toString(), single.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(single.resolve("model.safetensors")) && Files.isRegularFile(single.resolve("config.json")));
        assertFalse(Files.exists(single.resolve("model.safetensors.index.json")));
        assertSameTensors(PICKLE.resolve("vit-mae-tiny-bin"), single);

        // sharded pickles, shared storage included, into safetensors shards of at most 100 kB
        Path sharded = tmp.resolve("opt");
        r = CliTest.run("convert", "--to", "safetensors", "--max-shard-size", "100KB",
                PICKLE.resolve("blip2-opt-tiny-bin-sharded").toString(), sharded.toString());
        assertEquals(0, r.code(), r.err());
        try (var files = Files.list(sharded)) {
            List<Path> shards = files.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).toList();
            assertTrue(shards.size() >= 4, "shards: " + shards);
            for (Path p : shards) assertTrue(Files.size(p) <= 100_000 + 16_384, p + " " + Files.size(p)); // + header
        }
        assertTrue(Files.isRegularFile(sharded.resolve("model.safetensors.index.json")));
        assertTrue(Files.isRegularFile(sharded.resolve("generation_config.json")));
        assertSameTensors(PICKLE.resolve("blip2-opt-tiny-bin-sharded"), sharded);

        // a LAVIS training checkpoint (bf16 + fp32): its state dict, dtypes kept
        Path lavis = tmp.resolve("itm");
        r = CliTest.run("convert", "--to", "safetensors", "--state-key", "model",
                PICKLE.resolve("blip2-itm-tiny-lavis/checkpoint_3.pth").toString(), lavis.toString());
        assertEquals(0, r.code(), r.err());
        assertSameTensors(PICKLE.resolve("blip2-itm-tiny-lavis/checkpoint_3.pth"), lavis);
        // and the converted folder runs like the original
        r = CliTest.run("forward", "--model", lavis.toString(), "--inputs", ROOT.resolve("test-data/hf-tiny/blip2-itm-tiny/golden.safetensors").toString(),
                "--output", tmp.resolve("out.safetensors").toString());
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void convertRefusesHostileFilesNamingThem() {
        for (String f : new String[] {"arbitrary-callable.pth", "legacy-format.bin", "truncated.bin"}) {
            Path p = PICKLE.resolve("hostile").resolve(f);
            CliTest.Result r = CliTest.run("convert", "--to", "safetensors", p.toString(), tmp.resolve(f).toString());
            assertEquals(3, r.code(), "bad input: " + r.err());
            assertTrue(r.err().startsWith("xformer: error: ") && r.err().contains(p.toString()), r.err());
            assertFalse(Files.exists(tmp.resolve(f).resolve("model.safetensors")));
        }
        assertFalse(Files.exists(Path.of("/tmp/xformer-pickle-pwned")));
        CliTest.Result r = CliTest.run("convert", "--to", "onnx", PICKLE.resolve("vit-mae-tiny-bin").toString(), tmp.resolve("x").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("only 'safetensors'"), r.err());
    }

    /** A metrics.jsonl shaped like the stage-1 trainer's: decaying losses with noise, warmup + cosine lr. */
    static void writeRun(Path dir, long seed, double scale, boolean rec) throws IOException {
        Files.createDirectories(dir);
        Random rnd = new Random(seed);
        StringBuilder b = new StringBuilder();
        for (int step = 10; step <= 300; step += 10) {
            double t = step / 300.0, lr = step <= 50 ? 1e-4 * step / 50 : 1e-5 + 0.5 * (1e-4 - 1e-5) * (1 + Math.cos(Math.PI * (step - 50) / 250.0));
            double itc = scale * (2.85 - 1.2 * t) + 0.05 * rnd.nextGaussian(), itm = 0.644 - 0.005 * t + 0.01 * rnd.nextGaussian();
            double itg = scale * (5.2 - 2.7 * t) + 0.08 * rnd.nextGaussian(), recl = 1.38 - 0.09 * t + 0.01 * rnd.nextGaussian();
            double loss = itc + itm + itg + (rec ? recl : 0);
            b.append(String.format(Locale.ROOT, "{\"step\":%d,\"lr\":%.6g,\"loss\":%.5f,\"loss_itc\":%.5f,\"loss_itm\":%.5f,\"loss_itg\":%.5f,%s"
                    + "\"img_per_s\":%.1f,\"skipped\":0}%n", step, lr, loss, itc, itm, itg, rec ? String.format(Locale.ROOT, "\"loss_rec\":%.5f,", recl) : "",
                    170 + 15 * rnd.nextGaussian()));
        }
        Files.writeString(dir.resolve("metrics.jsonl"), b.toString());
    }

    @Test
    void plotDrawsEveryCurveOfSeveralRuns() throws IOException {
        Path a = tmp.resolve("xformer-tiny"), b = tmp.resolve("blip2-tiny"), png = tmp.resolve("plots/curves.png");
        writeRun(a, 1, 1.0, true);
        writeRun(b, 2, 1.1, false);
        CliTest.Result r = CliTest.run("plot", a.toString(), b.toString(), "--out", png.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("7 panels (loss, loss_itc, loss_itm, loss_itg, loss_rec, lr, img_per_s), 2 run(s)"), r.out());
        assertTrue(Files.size(png) > 20_000, "PNG of " + Files.size(png) + " bytes");
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(1400, img.getWidth());
        assertEquals(4 * 420, img.getHeight(), "4 rows of 2 panels");
        // not blank: many pixels off white, in several colours (two series colours among them)
        Set<Integer> colours = new HashSet<>();
        long ink = 0;
        for (int y = 0; y < img.getHeight(); y++)
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xFFFFFF;
                colours.add(rgb);
                if (rgb != 0xFFFFFF) ink++;
            }
        assertTrue(colours.size() > 50, colours.size() + " colours");
        assertTrue(ink > img.getWidth() * img.getHeight() / 20, ink + " non-white pixels");
        // the default output sits in the first run
        r = CliTest.run("plot", a.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.size(a.resolve("curves.png")) > 10_000);
        assertEquals("plot the curves: ./xformer plot runs/train --out runs/train/curves.png", PlotCommand.hint(Path.of("runs/train")));
    }

    @Test
    void plotNamesTheBadFile() throws IOException {
        Path run = tmp.resolve("broken");
        Files.createDirectories(run);
        CliTest.Result r = CliTest.run("plot", run.toString());
        assertEquals(3, r.code(), "bad input: " + r.err());
        assertTrue(r.err().contains(run.resolve("metrics.jsonl") + ": missing"), r.err());
        Files.writeString(run.resolve("metrics.jsonl"), "{\"step\":1,\"loss\":2.0}\n{oops\n");
        r = CliTest.run("plot", run.toString());
        assertEquals(3, r.code(), "bad input: " + r.err());
        assertTrue(r.err().contains(run.resolve("metrics.jsonl") + ":2: not JSON"), r.err());
    }
}
