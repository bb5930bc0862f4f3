package io.xformer.nn;

import static io.xformer.bindings.xft.xft_h.*;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N,
 * N bytes of JSON ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}),
 * then the tensor bytes, offsets relative to the end of the header.
 *
 * <p>Reading validates the whole header in Java before any byte of data is touched, then
 * hands out zero-copy tensors over a copy-on-write memory mapping. Writing follows the
 * reference writer's layout (header padded with spaces to 8 bytes, tensors ordered by
 * element size then name, no holes) and is atomic: a temp file renamed into place.
 */
public final class SafeTensors implements AutoCloseable {
    /** The reference implementation's limit on the header size. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** One tensor's header entry; begin/end are absolute file offsets. */
    public record Entry(String name, DType dtype, long[] shape, long begin, long end) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    private final Path path;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;
    private MemorySegment mapping;

    private SafeTensors(Path path, Map<String, Entry> entries, Map<String, String> metadata, MemorySegment mapping) {
        this.path = path;
        this.entries = entries;
        this.metadata = metadata;
        this.mapping = mapping;
    }

    /** Opens and validates a file; tensors are mapped, not read, until {@link #get}. */
    public static SafeTensors open(Path path) {
        Native.init();
        Header h = readHeader(path);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment size = a.allocate(JAVA_LONG);
            MemorySegment m = Native.check(xft_mapping_open(a.allocateFrom(path.toString()), size), "open " + path);
            if (size.get(JAVA_LONG, 0) != h.fileSize) {
                xft_mapping_release(m);
                throw new TorchException(path + ": file changed size while being opened");
            }
            return new SafeTensors(path, h.entries, h.metadata, m);
        }
    }

    /** Loads every tensor of a file (owned by the current scope, if any). */
    public static Map<String, Tensor> load(Path path) {
        try (SafeTensors f = open(path)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String name : f.names()) out.put(name, f.get(name));
            return out;
        }
    }

    public Path path() {
        return path;
    }

    /** Tensor names in file order. */
    public List<String> names() {
        return List.copyOf(entries.keySet());
    }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new InputException(path + ": no tensor named '" + name + "'");
        return e;
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** A CPU tensor over the file's bytes (zero-copy when aligned); stays valid after close(). */
    public Tensor get(String name) {
        if (mapping == null) throw new IllegalStateException(path + ": closed");
        Entry e = entry(name);
        return Tensor.wrap(xft_from_mapping(mapping, e.begin, Native.longs(e.shape), e.shape.length, e.dtype.code),
                path + " tensor '" + name + "'");
    }

    /** This file as a source for {@link Module#loadStateDict}. */
    public Module.TensorSource source() {
        return new Module.TensorSource() {
            public List<String> names() {
                return SafeTensors.this.names();
            }

            public long[] shape(String name) {
                return entry(name).shape();
            }

            public Tensor get(String name) {
                return SafeTensors.this.get(name);
            }
        };
    }

    /** Releases this reader's reference to the mapping; tensors already taken keep it alive. */
    @Override
    public void close() {
        if (mapping != null) {
            xft_mapping_release(mapping);
            mapping = null;
        }
    }

    // ---- header validation ----

    private record Header(long fileSize, Map<String, Entry> entries, Map<String, String> metadata) {}

    static InputException bad(Path path, String what) {
        return new InputException(path + ": invalid safetensors file: " + what);
    }

    private static Header readHeader(Path path) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            if (fileSize < 8) throw bad(path, "only " + fileSize + " bytes, shorter than the 8-byte header length");
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long n = lenBuf.getLong(0);
            if (n < 0 || n > MAX_HEADER_BYTES)
                throw bad(path, "header length " + Long.toUnsignedString(n) + " exceeds the limit of " + MAX_HEADER_BYTES);
            if (8 + n > fileSize)
                throw bad(path, "header length " + n + " runs past the end of the " + fileSize + "-byte file (truncated?)");
            ByteBuffer hb = ByteBuffer.allocate((int) n);
            readFully(ch, hb, 8);
            String text = StandardCharsets.UTF_8.newDecoder().decode(hb.flip()).toString();
            return parseHeader(path, text, 8 + n, fileSize);
        } catch (CharacterCodingException e) {
            throw bad(path, "header is not valid UTF-8");
        } catch (java.nio.file.NoSuchFileException e) {
            throw new InputException(path + ": no such file", e);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(path + ": " + e.getMessage(), e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos + buf.position());
            if (r < 0) throw new IOException("unexpected end of file");
        }
    }

    private static Header parseHeader(Path path, String text, long dataStart, long fileSize) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw bad(path, "header is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw bad(path, "header is not a JSON object");
        long dataLen = fileSize - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> list = new ArrayList<>();
        for (Map.Entry<String, JsonNode> f : root.properties()) {
            String name = f.getKey();
            JsonNode v = f.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) throw bad(path, "__metadata__ is not an object");
                for (Map.Entry<String, JsonNode> m : v.properties()) {
                    if (!m.getValue().isTextual()) throw bad(path, "__metadata__ value '" + m.getKey() + "' is not a string");
                    metadata.put(m.getKey(), m.getValue().asText());
                }
                continue;
            }
            list.add(parseEntry(path, name, v, dataStart, dataLen));
        }
        // Entries must tile the data area exactly: sorted, no overlap, no hole, nothing left over.
        List<Entry> sorted = new ArrayList<>(list);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long cursor = dataStart;
        Entry prev = null;
        for (Entry e : sorted) {
            if (e.begin < cursor)
                throw bad(path, "tensor '" + e.name + "' overlaps tensor '" + prev.name + "'");
            if (e.begin > cursor)
                throw bad(path, "hole of " + (e.begin - cursor) + " bytes before tensor '" + e.name + "'");
            cursor = e.end;
            prev = e;
        }
        if (cursor != fileSize)
            throw bad(path, (fileSize - cursor) + " bytes after the last tensor are not described by the header");
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Entry e : list) entries.put(e.name, e);
        return new Header(fileSize, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata));
    }

    private static Entry parseEntry(Path path, String name, JsonNode v, long dataStart, long dataLen) {
        String where = "tensor '" + name + "'";
        if (!v.isObject()) throw bad(path, where + " is not an object");
        JsonNode dt = v.get("dtype"), sh = v.get("shape"), off = v.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw bad(path, where + " has no dtype string");
        DType dtype = DType.fromSafetensors(dt.asText());
        if (dtype == null) throw bad(path, where + " has unsupported dtype '" + dt.asText() + "'");
        if (sh == null || !sh.isArray()) throw bad(path, where + " has no shape array");
        long[] shape = new long[sh.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToExactIntegral() || !d.canConvertToLong() || d.asLong() < 0)
                throw bad(path, where + " has invalid dimension " + d);
            shape[i] = d.asLong();
            try {
                numel = Math.multiplyExact(numel, shape[i]);
            } catch (ArithmeticException e) {
                throw bad(path, where + " shape overflows");
            }
        }
        if (off == null || !off.isArray() || off.size() != 2) throw bad(path, where + " has no [begin, end] data_offsets");
        for (JsonNode o : off)
            if (!o.canConvertToExactIntegral() || !o.canConvertToLong() || o.asLong() < 0)
                throw bad(path, where + " has invalid data offset " + o);
        long begin = off.get(0).asLong(), end = off.get(1).asLong();
        if (begin > end) throw bad(path, where + " data_offsets [" + begin + ", " + end + "] are reversed");
        if (end > dataLen)
            throw bad(path, where + " data_offsets [" + begin + ", " + end + "] run past the " + dataLen
                    + " data bytes (truncated file?)");
        long expected;
        try {
            expected = Math.multiplyExact(numel, dtype.byteSize());
        } catch (ArithmeticException e) {
            throw bad(path, where + " shape overflows");
        }
        if (end - begin != expected)
            throw bad(path, where + " holds " + (end - begin) + " bytes but shape " + Arrays.toString(shape)
                    + " of " + dtype + " needs " + expected);
        return new Entry(name, dtype, shape, dataStart + begin, dataStart + end);
    }

    // ---- writing ----

    /** Writes tensors (any device/dtype xft supports) and string metadata, atomically. */
    public static void save(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) {
        Native.init();
        // The reference writer's order: larger elements first, then by name.
        List<Map.Entry<String, Tensor>> order = new ArrayList<>(new TreeMap<>(tensors).entrySet());
        List<DType> dtypes = new ArrayList<>();
        Map<String, DType> dtypeOf = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : order) dtypeOf.put(e.getKey(), e.getValue().dtype());
        order.sort(Comparator.comparingInt((Map.Entry<String, Tensor> e) -> -dtypeOf.get(e.getKey()).byteSize())
                .thenComparing(Map.Entry::getKey));
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            new TreeMap<>(metadata).forEach(m::put);
        }
        long offset = 0;
        long[] sizes = new long[order.size()];
        for (int i = 0; i < order.size(); i++) {
            String name = order.get(i).getKey();
            if (name.equals("__metadata__")) throw new IllegalArgumentException("'__metadata__' is not a tensor name");
            Tensor t = order.get(i).getValue();
            DType d = dtypeOf.get(name);
            dtypes.add(d);
            ObjectNode e = header.putObject(name);
            e.put("dtype", d.safetensorsName());
            var shape = e.putArray("shape");
            for (long s : t.shape()) shape.add(s);
            sizes[i] = t.numel() * d.byteSize();
            e.putArray("data_offsets").add(offset).add(offset + sizes[i]);
            offset += sizes[i];
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new TorchException(path + ": cannot encode header: " + e.getMessage(), e);
        }
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();

        Path tmp = path.resolveSibling(path.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try {
            if (path.getParent() != null) Files.createDirectories(path.getParent());
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(ch, head);
                for (int i = 0; i < order.size(); i++) writeTensor(ch, order.get(i).getValue(), sizes[i]);
                ch.force(true);
            }
            try {
                Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the original error is the one worth reporting
            }
            if (e instanceof RuntimeException r) throw r;
            throw new java.io.UncheckedIOException(path + ": " + e.getMessage(), (IOException) e);
        }
    }

    private static final long CHUNK = 1L << 30;

    private static void writeTensor(FileChannel ch, Tensor t, long bytes) throws IOException {
        if (bytes == 0) return;
        // One confined arena per tensor: the host copy lives only while it is written out.
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(bytes, 8);
            Native.check(xft_copy_to_host(t.h(), buf, bytes), "save: copy to host");
            for (long pos = 0; pos < bytes; pos += CHUNK)
                writeFully(ch, buf.asSlice(pos, Math.min(CHUNK, bytes - pos)).asByteBuffer());
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
