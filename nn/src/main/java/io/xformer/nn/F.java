package io.xformer.nn;

import static io.xformer.bindings.xft.xft_h.*;
import static io.xformer.nn.Tensor.handle;
import static io.xformer.nn.Tensor.handleOrNull;

/** The {@code torch.nn.functional} namespace. */
public final class F {
    private F() {}

    /** torch's ignore_index: targets with this value add no loss (labels of padding, prompts and image placeholders). */
    public static final long IGNORE_INDEX = -100;

    public enum Reduction {
        NONE(0), MEAN(1), SUM(2);

        final int code;

        Reduction(int code) {
            this.code = code;
        }
    }

    /** x W^T + b ; bias may be null. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        return Tensor.wrap(xft_linear(handle(x, "input"), handle(weight, "weight"), handleOrNull(bias)), "linear");
    }

    public static Tensor softmax(Tensor x, long dim) {
        return x.softmax(dim);
    }

    public static Tensor logSoftmax(Tensor x, long dim) {
        return x.logSoftmax(dim);
    }

    /** weight and bias may be null. */
    public static Tensor layerNorm(Tensor x, long[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        return Tensor.wrap(xft_layer_norm(handle(x, "input"), Native.longs(normalizedShape), normalizedShape.length,
                handleOrNull(weight), handleOrNull(bias), eps), "layer_norm");
    }

    /** Exact (erf) GELU. */
    public static Tensor gelu(Tensor x) {
        return gelu(x, false);
    }

    /** tanh = true: the tanh approximation (gelu_new / gelu_pytorch_tanh). */
    public static Tensor gelu(Tensor x, boolean tanh) {
        return Tensor.wrap(xft_gelu(handle(x, "input"), tanh ? 1 : 0), "gelu");
    }

    public static Tensor dropout(Tensor x, double p, boolean train) {
        return Tensor.wrap(xft_dropout(handle(x, "input"), p, train ? 1 : 0), "dropout");
    }

    /** Rows of weight picked by int64 indices. */
    public static Tensor embedding(Tensor indices, Tensor weight) {
        return Tensor.wrap(xft_embedding(handle(weight, "weight"), handle(indices, "indices")), "embedding");
    }

    /**
     * softmax(q k^T * scale + mask) v over (..., L, E) inputs. mask: null, bool (true = may
     * attend) or additive float, broadcastable to (..., L, S). scale <= 0 means 1/sqrt(E).
     */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, Tensor mask, double dropoutP,
                                                   boolean isCausal, double scale) {
        return Tensor.wrap(xft_scaled_dot_product_attention(handle(q, "query"), handle(k, "key"), handle(v, "value"),
                handleOrNull(mask), dropoutP, isCausal ? 1 : 0, scale), "scaled_dot_product_attention");
    }

    /** Attention composed of matmul, softmax, matmul (what libtorch 1.13 runs): the yardstick for the public kernel. */
    public static Tensor attentionReference(Tensor q, Tensor k, Tensor v, Tensor mask, boolean isCausal, double scale) {
        return Tensor.wrap(xft_attention_reference(handle(q, "query"), handle(k, "key"), handle(v, "value"),
                handleOrNull(mask), 0, isCausal ? 1 : 0, scale), "attention_reference");
    }

    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, Tensor mask) {
        return scaledDotProductAttention(q, k, v, mask, 0, false, 0);
    }

    /** logits (N, C) or (N, C, d...), int64 targets; weight may be null. */
    public static Tensor crossEntropy(Tensor logits, Tensor target, Tensor weight, Reduction reduction, long ignoreIndex,
                                      double labelSmoothing) {
        return Tensor.wrap(xft_cross_entropy(handle(logits, "logits"), handle(target, "target"), handleOrNull(weight),
                reduction.code, ignoreIndex, labelSmoothing), "cross_entropy");
    }

    public static Tensor crossEntropy(Tensor logits, Tensor target) {
        return crossEntropy(logits, target, null, Reduction.MEAN, IGNORE_INDEX, 0);
    }

    public static Tensor mseLoss(Tensor input, Tensor target, Reduction reduction) {
        return Tensor.wrap(xft_mse_loss(handle(input, "input"), handle(target, "target"), reduction.code), "mse_loss");
    }

    /** x / max(||x||_p, eps) along dim. */
    public static Tensor normalize(Tensor x, double p, long dim, double eps) {
        return Tensor.wrap(xft_normalize(handle(x, "input"), p, dim, eps), "normalize");
    }

    public static Tensor normalize(Tensor x, long dim) {
        return normalize(x, 2, dim, 1e-12);
    }
}
