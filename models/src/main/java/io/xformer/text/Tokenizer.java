package io.xformer.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.xformer.nn.InputException;
import io.xformer.nn.TorchException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A HuggingFace {@code tokenizer.json} (WordPiece, BPE, ...) run by the Rust tokenizers
 * library through DJL, whose jar carries the native library: works offline. Special tokens
 * are added as the file's post-processor says, as {@code tokenizer(text)} does in Python.
 */
public final class Tokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tok;
    private final Path file;

    private Tokenizer(HuggingFaceTokenizer tok, Path file) {
        this.tok = tok;
        this.file = file;
    }

    /** tokenizer.json itself, or a folder holding one. */
    public static Tokenizer open(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        if (!Files.isRegularFile(file)) throw new InputException(file + ": no such tokenizer file");
        try {
            return new Tokenizer(HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "true",
                    "padding", "false", "truncation", "false")), file);
        } catch (IOException | RuntimeException e) {
            throw new InputException(file + ": cannot load tokenizer: " + e.getMessage(), e);
        }
    }

    public long[] encode(String text) {
        return tok.encode(text).getIds();
    }

    /** Ids and 0/1 attention masks of several texts, right-padded with padId to the longest. */
    public record Batch(long[][] ids, long[][] attentionMask) {}

    public Batch encode(List<String> texts, long padId) {
        Encoding[] enc = tok.batchEncode(texts);
        int len = 0;
        for (Encoding e : enc) len = Math.max(len, e.getIds().length);
        long[][] ids = new long[enc.length][len], mask = new long[enc.length][len];
        for (int i = 0; i < enc.length; i++) {
            long[] e = enc[i].getIds();
            Arrays.fill(ids[i], padId);
            System.arraycopy(e, 0, ids[i], 0, e.length);
            Arrays.fill(mask[i], 0, e.length, 1);
        }
        return new Batch(ids, mask);
    }

    public String decode(long[] ids, boolean skipSpecialTokens) {
        return tok.decode(ids, skipSpecialTokens);
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() {
        tok.close();
    }
}
