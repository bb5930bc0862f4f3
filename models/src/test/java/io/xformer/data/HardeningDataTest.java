package io.xformer.data;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.nn.InputException;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 11, items 6, 7 and 10: shards, images and captions that must not pass silently. */
class HardeningDataTest {
    @TempDir
    Path tmp;

    static byte[] png(int w, int h) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, (x * 7 + y * 13) & 0xffffff);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        ImageIO.write(img, "png", b);
        return b.toByteArray();
    }

    static void add(TarArchiveOutputStream tar, String name, byte[] data) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(data.length);
        tar.putArchiveEntry(e);
        tar.write(data);
        tar.closeArchiveEntry();
    }

    /** A shard of n samples (png + txt), as webdataset's writer makes them. */
    Path shard(String name, int n, String... jsonCaptions) throws IOException {
        Path p = tmp.resolve(name);
        try (OutputStream out = Files.newOutputStream(p); TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            for (int i = 0; i < n; i++) {
                add(tar, String.format("s%03d.png", i), png(16 + i, 16));
                add(tar, String.format("s%03d.txt", i), ("caption number " + i).getBytes(StandardCharsets.UTF_8));
            }
            for (int i = 0; i < jsonCaptions.length; i++) {
                add(tar, String.format("j%03d.png", i), png(16, 16));
                add(tar, String.format("j%03d.json", i), jsonCaptions[i].getBytes(StandardCharsets.UTF_8));
            }
        }
        return p;
    }

    @Test
    void item06_aWholeShardLoadsEverySample() throws IOException {
        WebDataset d = WebDataset.open(List.of(shard("whole.tar", 10)));
        assertEquals(10, d.size());
        for (int i = 0; i < 10; i++) assertEquals(16 + i, d.load(i).image().getWidth());
    }

    @Test
    void item06_aShardTruncatedAnywhereIsAnErrorNamingTheShard() throws IOException {
        byte[] whole = Files.readAllBytes(shard("src.tar", 10));
        // inside the first header, inside a header later on, inside a member's data, exactly between
        // two members (a block boundary) and just before the end-of-archive blocks
        int between = 512 + (png(16, 16).length + 511) / 512 * 512; // header + data of s000.png
        int lastData = whole.length;
        while (whole[lastData - 1] == 0) lastData--;
        int endOfMembers = (lastData + 511) / 512 * 512; // the end-of-archive blocks start here
        int[] cuts = {100, between + 200, between + 512 + 3, between, endOfMembers, whole.length - 1};
        for (int cut : cuts) {
            Path p = tmp.resolve("cut-" + cut + ".tar");
            Files.write(p, Arrays.copyOf(whole, cut));
            InputException e = assertThrows(InputException.class, () -> WebDataset.open(List.of(p)), "cut at " + cut);
            assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("truncated"), e.getMessage());
        }
    }

    @Test
    void item06_aMissingShardSaysWhy() {
        Path p = tmp.resolve("nowhere-000.tar");
        InputException e = assertThrows(InputException.class, () -> WebDataset.open(List.of(p)));
        assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("no such WebDataset shard"), e.getMessage());
        InputException dir = assertThrows(InputException.class, () -> WebDataset.open(List.of(tmp)));
        assertTrue(dir.getMessage().contains("not a file"), dir.getMessage());
    }

    @Test
    void item10_nullAndEmptyCaptionsInAShardAreSkippedWithTheReason() throws IOException {
        WebDataset d = WebDataset.open(List.of(shard("json.tar", 2, "{\"caption\": null}", "{\"caption\": \"\"}", "{\"caption\": \"...\"}",
                "{\"caption\": \"a red circle\"}", "{\"other\": 1}")));
        assertEquals(7, d.size(), "kept in the index, refused on load (so the loader counts them)");
        String[] why = {"caption is null", "caption is empty", "caption is empty once cleaned", null, "caption is null"};
        for (int i = 0; i < why.length; i++) {
            int k = 2 + i;
            if (why[i] == null) {
                assertEquals("a red circle", d.load(k).caption());
                continue;
            }
            IOException e = assertThrows(IOException.class, () -> d.load(k));
            assertTrue(e.getMessage().contains("skipped") && e.getMessage().contains(why[i]), e.getMessage());
        }
    }

    @Test
    void item10_nullAndEmptyCaptionsInLavisJsonAreSkippedWithTheReason() throws IOException {
        Files.write(tmp.resolve("a.png"), png(20, 20));
        Path ann = tmp.resolve("ann.json");
        Files.writeString(ann, "[{\"image\": \"a.png\", \"caption\": null}, {\"image\": \"a.png\", \"caption\": \"\"},"
                + " {\"image\": \"a.png\", \"caption\": [\"two squares\", null]}, {\"image\": \"a.png\", \"caption\": 5}]");
        LavisJson d = LavisJson.open(ann, tmp);
        assertEquals(5, d.size());
        assertEquals("two squares", d.load(2).caption());
        String[] why = {"ann.json[0].caption is null", "ann.json[1].caption is empty", "", "ann.json[2].caption[1] is null",
            "ann.json[3].caption is not text"};
        for (int i : new int[] {0, 1, 3, 4}) {
            IOException e = assertThrows(IOException.class, () -> d.load(i));
            assertTrue(e.getMessage().contains(why[i]), e.getMessage());
        }
    }

    /** A PNG whose header claims w x h pixels (the pixel data is never reached). */
    static byte[] pngHeader(int w, int h) {
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(b, "IHDR", ihdr.array());
        chunk(b, "IDAT", new byte[] {0x78, 0x01, 0, 0, 0, 0});
        chunk(b, "IEND", new byte[0]);
        return b.toByteArray();
    }

    static void chunk(ByteArrayOutputStream b, String type, byte[] data) {
        CRC32 crc = new CRC32();
        crc.update(type.getBytes(StandardCharsets.US_ASCII));
        crc.update(data);
        b.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        b.writeBytes(type.getBytes(StandardCharsets.US_ASCII));
        b.writeBytes(data);
        b.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    @Test
    void item07_anImageOverThePixelLimitIsSkippedBeforeDecoding() {
        long before = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        IOException e = assertThrows(IOException.class, () -> Images.decode(pngHeader(25000, 25000), "huge.png"));
        assertTrue(e.getMessage().contains("huge.png") && e.getMessage().contains("25000 x 25000")
                && e.getMessage().contains("exceeds the limit of 100000000") && e.getMessage().contains("data.max_image_pixels"),
                e.getMessage());
        long after = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        assertTrue(after - before < 100L << 20, "nothing near 625M pixels was allocated: " + (after - before));
    }

    @Test
    void item07_theLimitIsConfigurable() throws IOException {
        byte[] img = png(64, 64);
        assertEquals(64, Images.decode(img, "ok.png", 4096).getWidth());
        IOException e = assertThrows(IOException.class, () -> Images.decode(img, "small-limit.png", 4095));
        assertTrue(e.getMessage().contains("4096 pixels exceeds the limit of 4095"), e.getMessage());
    }

    @Test
    void item07_largeImagesAreSubsampledWhileDecoding() throws IOException {
        BufferedImage img = Images.decode(png(9000, 40), "wide.png");
        assertEquals(3000, img.getWidth(), "every 3rd pixel: 9000 -> 3000 (longer side <= " + Images.MAX_DECODED_SIDE + ")");
        assertEquals(14, img.getHeight());
        assertEquals(1, Images.subsampling(4096, 10));
        assertEquals(2, Images.subsampling(4097, 10));
    }

    @Test
    void item07_runningOutOfHeapIsReportedAsMemoryNotCorruption() throws Exception {
        // a 3000 x 3000 RGB image needs 27 MB decoded; a child JVM with 16 MB of heap cannot hold it
        BufferedImage img = new BufferedImage(3000, 3000, BufferedImage.TYPE_3BYTE_BGR);
        Path p = tmp.resolve("big.png");
        ImageIO.write(img, "png", p.toFile());
        String java = ProcessHandle.current().info().command().orElse("java");
        Process child = new ProcessBuilder(java, "-Xmx16m", "-cp", System.getProperty("java.class.path"), DecodeMain.class.getName(),
                p.toString()).redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        child.waitFor();
        assertTrue(out.contains("out of memory") && out.contains("-Xmx") && !out.contains("corrupt"), out);
    }
}
