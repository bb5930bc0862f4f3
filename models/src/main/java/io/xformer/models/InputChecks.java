package io.xformer.models;

import io.xformer.nn.DType;
import io.xformer.nn.InputException;
import io.xformer.nn.Tensor;

/**
 * Checks of token ids against the model, on the host before upload (so the check costs no device
 * sync): an out-of-vocabulary id or an over-long prompt would otherwise end in libtorch's
 * "index out of range in self", which names neither the input nor the limit.
 */
public final class InputChecks {
    private InputChecks() {}

    /**
     * ids (B, T) on the CPU: integer, every id in [0, vocab), T + extraPositions <= maxPositions.
     * Tensors already on a device are left to the model (checking them would sync).
     */
    public static void ids(Tensor ids, String name, String origin, String model, long vocab, long maxPositions, long extraPositions) {
        if (ids.device().isCuda()) return;
        if (ids.dtype().isFloatingPoint() || ids.dtype() == DType.BOOL)
            throw new InputException(origin + ": input '" + name + "' must hold integer token ids, got " + ids.dtype());
        long[] shape = ids.shape();
        long len = shape.length == 0 ? 1 : shape[shape.length - 1];
        if (len + extraPositions > maxPositions)
            throw new InputException(origin + ": input '" + name + "' has " + len + " positions" + (extraPositions > 0
                    ? " + " + extraPositions + " new tokens" : "") + ", more than the " + maxPositions + " " + model + " takes (max_position_embeddings)");
        long[] v = ids.to(DType.I64).toLongArray();
        for (int i = 0; i < v.length; i++) {
            if (v[i] < 0 || v[i] >= vocab)
                throw new InputException(origin + ": input '" + name + "' holds id " + v[i] + " at " + at(i, len) + ", outside the "
                        + model + " vocabulary of " + vocab + " (ids 0.." + (vocab - 1) + ")");
        }
    }

    private static String at(int flat, long len) {
        return "[" + flat / len + ", " + flat % len + "]";
    }

    /**
     * The number of ids a tokenizer.json can produce (1 + the largest id in model.vocab and
     * added_tokens), or -1 when the file cannot be read as one (Tokenizer.open reports that).
     */
    public static long tokenizerVocab(java.nio.file.Path file) {
        try {
            com.fasterxml.jackson.databind.JsonNode root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(file.toFile());
            long max = -1;
            com.fasterxml.jackson.databind.JsonNode vocab = root.path("model").path("vocab");
            if (vocab.isObject()) for (var it = vocab.elements(); it.hasNext(); ) max = Math.max(max, it.next().asLong());
            else if (vocab.isArray()) max = Math.max(max, vocab.size() - 1); // Unigram: [[piece, score], ...]
            for (var t : root.path("added_tokens")) max = Math.max(max, t.path("id").asLong());
            return max < 0 ? -1 : max + 1;
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
    }
}
