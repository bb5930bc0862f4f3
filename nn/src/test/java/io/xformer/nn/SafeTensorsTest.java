package io.xformer.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir
    Path tmp;

    static Path root() {
        return Path.of(System.getProperty("xformer.root", "..")).toAbsolutePath().normalize();
    }

    static List<Path> fixtureFiles() throws IOException {
        try (Stream<Path> s = Files.walk(root().resolve("test-data"))) {
            return s.filter(p -> p.toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    @Test
    void readsEveryFixtureFileAndMatchesItsBytes() throws IOException {
        List<Path> files = fixtureFiles();
        assertTrue(files.size() >= 10, "fixture files found: " + files);
        for (Path file : files) {
            byte[] bytes = Files.readAllBytes(file);
            try (Scope s = Scope.open(); SafeTensors st = SafeTensors.open(file)) {
                assertFalse(st.names().isEmpty(), file.toString());
                for (String name : st.names()) {
                    SafeTensors.Entry e = st.entry(name);
                    Tensor t = st.get(name);
                    assertArrayEquals(e.shape(), t.shape(), file + " " + name);
                    assertEquals(e.dtype(), t.dtype());
                    // the tensor's bytes are exactly the file's bytes at the header's offsets
                    byte[] expected = java.util.Arrays.copyOfRange(bytes, (int) e.begin(), (int) e.end());
                    assertArrayEquals(expected, t.toByteArray(), file + " " + name);
                }
            }
        }
    }

    @Test
    void savingAFixtureReproducesThePythonWriterByteForByte() throws IOException {
        for (Path file : fixtureFiles()) {
            Path out = tmp.resolve(file.getFileName());
            try (Scope s = Scope.open(); SafeTensors st = SafeTensors.open(file)) {
                Map<String, Tensor> all = new LinkedHashMap<>();
                for (String n : st.names()) all.put(n, st.get(n));
                SafeTensors.save(out, all, st.metadata());
            }
            assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(out), "re-saved " + file);
        }
    }

    @Test
    void everyDtypeAndMetadataRoundTrip() {
        Path f = tmp.resolve("all.safetensors");
        try (Scope s = Scope.open()) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            Tensor base = Torch.tensor(new float[] {1.5f, -2f, 0.25f, 3f, 0, 1}, 2, 3);
            for (DType d : DType.values()) m.put("t_" + d, d == DType.BOOL ? base.gt(0) : base.to(d));
            m.put("scalar", Torch.scalar(7, DType.F32));
            m.put("empty", Torch.zeros(0, 4));
            m.put("strided", base.transpose(0, 1));
            SafeTensors.save(f, m, Map.of("format", "pt", "note", "ünïcode"));
            try (SafeTensors st = SafeTensors.open(f)) {
                assertEquals(Map.of("format", "pt", "note", "ünïcode"), st.metadata());
                for (var e : m.entrySet()) {
                    Tensor back = st.get(e.getKey());
                    assertEquals(e.getValue().dtype(), back.dtype(), e.getKey());
                    assertArrayEquals(e.getValue().shape(), back.shape(), e.getKey());
                    assertArrayEquals(e.getValue().toByteArray(), back.toByteArray(), e.getKey());
                }
            }
        }
    }

    @Test
    void writtenFilesFollowTheSpecLayout() throws IOException {
        Path f = tmp.resolve("layout.safetensors");
        try (Scope s = Scope.open()) {
            SafeTensors.save(f, Map.of("b", Torch.ones(3).to(DType.U8), "a", Torch.ones(2).to(DType.F64),
                    "c", Torch.ones(5).to(DType.BF16)), Map.of());
        }
        byte[] b = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + n) % 8, "data starts 8-byte aligned");
        String header = new String(b, 8, (int) n, StandardCharsets.UTF_8);
        assertEquals('{', header.charAt(0));
        assertEquals(header, header.stripLeading(), "no leading padding");
        assertTrue(header.substring(header.stripTrailing().length()).chars().allMatch(c -> c == ' '), "padding is spaces");
        // larger elements first, offsets contiguous from 0
        assertEquals("{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                + "\"c\":{\"dtype\":\"BF16\",\"shape\":[5],\"data_offsets\":[16,26]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[26,29]}}", header.strip());
        assertEquals(8 + n + 29, b.length);
    }

    @Test
    void loadedTensorsOutliveTheReaderAndNeverWriteThroughToTheFile() throws IOException {
        Path f = tmp.resolve("cow.safetensors");
        try (Scope s = Scope.open()) {
            SafeTensors.save(f, Map.of("w", Torch.ones(4)), null);
        }
        byte[] before = Files.readAllBytes(f);
        try (Scope s = Scope.open()) {
            Tensor w;
            try (SafeTensors st = SafeTensors.open(f)) {
                w = st.get("w");
            }
            w.mul_(5);
            assertArrayEquals(new float[] {5, 5, 5, 5}, w.toFloatArray());
        }
        assertArrayEquals(before, Files.readAllBytes(f));
    }

    @Test
    void failedSaveKeepsThePreviousFile() throws IOException {
        Path f = tmp.resolve("ckpt.safetensors");
        try (Scope s = Scope.open()) {
            SafeTensors.save(f, Map.of("w", Torch.ones(4)), null);
        }
        byte[] before = Files.readAllBytes(f);
        Tensor dead;
        try (Scope s = Scope.open()) {
            dead = Torch.ones(4);
        }
        try (Scope s = Scope.open()) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("a", Torch.zeros(4));
            m.put("z", dead);
            assertThrows(IllegalStateException.class, () -> SafeTensors.save(f, m, null));
        }
        assertArrayEquals(before, Files.readAllBytes(f));
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(f), files.toList(), "no temp file left behind");
        }
    }

    // ---- malformed files ----

    private Path file(String name, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path p = tmp.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    private static void rejects(Path p, String... fragments) {
        InputException e = assertThrows(InputException.class, () -> SafeTensors.open(p).close());
        assertTrue(e.getMessage().contains(p.toString()), "names the file: " + e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "mentions '" + f + "': " + e.getMessage());
    }

    @Test
    void malformedFilesGiveClearErrors() throws IOException {
        String ok = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        rejects(file("tiny", "", 0).resolveSibling("tiny"), "header");
        Files.write(tmp.resolve("short"), new byte[] {1, 2, 3});
        rejects(tmp.resolve("short"), "shorter than the 8-byte header length");
        rejects(file("truncated", ok, 4), "'w'", "run past");
        rejects(file("offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 8), "'w'", "run past");
        rejects(file("overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "overlaps", "'a'");
        rejects(file("hole", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "hole", "'a'");
        rejects(file("trailing", ok, 12), "after the last tensor");
        rejects(file("badjson", "{\"w\": [1, 2", 0), "not valid JSON");
        rejects(file("array", "[1, 2]", 0), "not a JSON object");
        rejects(file("dtype", "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2), "'w'",
                "unsupported dtype 'F8_E4M3'");
        rejects(file("mismatch", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8), "'w'",
                "holds 8 bytes", "needs 12");
        rejects(file("negdim", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8), "'w'", "dimension");
        rejects(file("dup", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "Duplicate");
        rejects(file("meta", "{\"__metadata__\":{\"a\":1}}", 0), "__metadata__");

        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(1000).put("{}      ".getBytes(StandardCharsets.US_ASCII));
        Files.write(tmp.resolve("beyond"), b.array());
        rejects(tmp.resolve("beyond"), "runs past the end");
        ByteBuffer big = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        big.putLong(200_000_000L).put("{}      ".getBytes(StandardCharsets.US_ASCII));
        Files.write(tmp.resolve("huge"), big.array());
        rejects(tmp.resolve("huge"), "exceeds the limit");
        ByteBuffer neg = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        neg.putLong(-1L).put("{}      ".getBytes(StandardCharsets.US_ASCII));
        Files.write(tmp.resolve("neg"), neg.array());
        rejects(tmp.resolve("neg"), "exceeds the limit");

        InputException missing = assertThrows(InputException.class, () -> SafeTensors.open(tmp.resolve("nope.safetensors")));
        assertTrue(missing.getMessage().contains("nope.safetensors"), missing.getMessage());
    }

    @Test
    void truncatingARealCheckpointAnywhereIsCaught() throws IOException {
        Path src = root().resolve("test-data/hf-tiny/vit-mae-tiny/model.safetensors");
        byte[] all = Files.readAllBytes(src);
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < 40; i++) {
            int cut = i < 10 ? i : 8 + r.nextInt(all.length - 9);
            Path p = tmp.resolve("cut" + i + ".safetensors");
            Files.write(p, java.util.Arrays.copyOf(all, cut));
            InputException e = assertThrows(InputException.class, () -> SafeTensors.open(p).close(), "cut at " + cut);
            assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        }
    }
}
