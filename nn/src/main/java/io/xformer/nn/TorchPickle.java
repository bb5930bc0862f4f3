package io.xformer.nn;

import static io.xformer.bindings.xft.xft_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A PyTorch checkpoint written by {@code torch.save} (the zip format of PyTorch >= 1.6), read by
 * libtorch's own zip reader and restricted unpickler (C++ behind {@code xft_pickle_open}).
 *
 * <p>Unlike Python's {@code torch.load} without {@code weights_only}, that unpickler cannot import
 * or call anything a file names: it knows tensors, storages, dicts, lists, tuples and scalars and
 * rejects every other global, so a hostile file fails to load instead of running code.
 * Nested dicts become dotted names; tensors that shared a storage in the file still share it.
 */
public final class TorchPickle implements AutoCloseable {
    /** One tensor's name, dtype and shape, known without creating a handle. */
    public record Entry(String name, DType dtype, long[] shape) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    private final Path path;
    private final String stateKey;
    private final Map<String, Integer> index;
    private final Map<String, Entry> entries;
    private MemorySegment handle;

    private TorchPickle(Path path, String stateKey, Map<String, Integer> index, Map<String, Entry> entries, MemorySegment handle) {
        this.path = path;
        this.stateKey = stateKey;
        this.index = index;
        this.entries = entries;
        this.handle = handle;
    }

    /**
     * Reads a file. {@code stateKey} null or empty: the top-level dict when it holds only tensors,
     * else its {@code state_dict} or {@code model} dict (training checkpoints such as LAVIS's);
     * otherwise the dotted path of the dict to read.
     */
    public static TorchPickle open(Path path, String stateKey) {
        Native.init();
        MemorySegment h;
        try (Arena a = Arena.ofConfined()) {
            h = xft_pickle_open(a.allocateFrom(path.toString()),
                    stateKey == null || stateKey.isEmpty() ? MemorySegment.NULL : a.allocateFrom(stateKey));
        }
        // what the reader refuses is the file (hostile, legacy format, truncated): bad input, not a libtorch failure
        if (h.address() == 0) throw new InputException(xft_last_error().getString(0));
        try {
            long n = xft_pickle_count(h);
            Map<String, Integer> index = new LinkedHashMap<>();
            Map<String, Entry> entries = new LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                String name = Native.check(xft_pickle_name(h, i), path.toString()).getString(0);
                try (Tensor t = Tensor.wrap(xft_pickle_tensor(h, i), path + " tensor '" + name + "'")) {
                    entries.put(name, new Entry(name, t.dtype(), t.shape()));
                }
                index.put(name, i);
            }
            String key = Native.check(xft_pickle_state_key(h), path.toString()).getString(0);
            return new TorchPickle(path, key, Collections.unmodifiableMap(index), Collections.unmodifiableMap(entries), h);
        } catch (RuntimeException e) {
            xft_pickle_free(h);
            throw e;
        }
    }

    /** Every tensor of a file (owned by the current scope, if any). */
    public static Map<String, Tensor> load(Path path, String stateKey) {
        try (TorchPickle p = open(path, stateKey)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String name : p.names()) out.put(name, p.get(name));
            return out;
        }
    }

    /**
     * Writes tensors with libtorch's {@code torch::pickle_save} in the zip format {@code torch.load}
     * reads: a flat dict, or {@code {stateKey: dict}} when stateKey is given. Tensors are copied to
     * the CPU; the whole file is built in memory, so this suits test fixtures, not large models.
     */
    public static void save(Path path, Map<String, Tensor> tensors, String stateKey) {
        Native.init();
        try (Arena a = Arena.ofConfined()) {
            int n = tensors.size();
            MemorySegment names = a.allocate(ValueLayout.ADDRESS, Math.max(n, 1));
            MemorySegment handles = a.allocate(ValueLayout.ADDRESS, Math.max(n, 1));
            int i = 0;
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                names.setAtIndex(ValueLayout.ADDRESS, i, a.allocateFrom(e.getKey()));
                handles.setAtIndex(ValueLayout.ADDRESS, i, e.getValue().h());
                i++;
            }
            Native.check(xft_pickle_save(a.allocateFrom(path.toString()), names, handles, n,
                    stateKey == null || stateKey.isEmpty() ? MemorySegment.NULL : a.allocateFrom(stateKey)), "save " + path);
        }
    }

    public Path path() {
        return path;
    }

    /** The dict that was read: "" for the whole file, else its dotted key (e.g. "model"). */
    public String stateKey() {
        return stateKey;
    }

    /** Tensor names in file order. */
    public List<String> names() {
        return List.copyOf(entries.keySet());
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new InputException(path + ": no tensor named '" + name + "'");
        return e;
    }

    /** A CPU tensor sharing the loaded storage (owned by the current scope, if any); valid after close(). */
    public Tensor get(String name) {
        if (handle == null) throw new IllegalStateException(path + ": closed");
        Integer i = index.get(name);
        if (i == null) throw new InputException(path + ": no tensor named '" + name + "'");
        return Tensor.wrap(xft_pickle_tensor(handle, i), path + " tensor '" + name + "'");
    }

    @Override
    public void close() {
        if (handle != null) {
            xft_pickle_free(handle);
            handle = null;
        }
    }
}
