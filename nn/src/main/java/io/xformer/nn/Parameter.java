package io.xformer.nn;

import java.util.Arrays;

/**
 * A named slot for a module's weight or buffer. Layers read {@link #get()} at forward time,
 * so loading a checkpoint swaps the tensor in the slot (zero-copy when dtype and device
 * already match) without touching the layer. The slot owns its tensor.
 */
public final class Parameter {
    private final long[] shape;
    private final boolean buffer;
    private Tensor value;
    private boolean trainable;

    Parameter(long[] shape, boolean buffer) {
        this.shape = shape.clone();
        this.buffer = buffer;
        this.trainable = !buffer;
    }

    /** The tensor; IllegalStateException until loaded or initialised. */
    public Tensor get() {
        if (value == null || value.isClosed())
            throw new IllegalStateException("parameter of shape " + Arrays.toString(shape) + " is not initialised or loaded");
        return value;
    }

    public boolean isSet() {
        return value != null && !value.isClosed();
    }

    public long[] shape() {
        return shape.clone();
    }

    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    public boolean isBuffer() {
        return buffer;
    }

    public boolean trainable() {
        return trainable;
    }

    /** Replaces the tensor (its shape must match); takes ownership of {@code t}. */
    public void set(Tensor t) {
        if (!Arrays.equals(t.shape(), shape))
            throw new TorchException("parameter expects shape " + Arrays.toString(shape) + ", got " + Arrays.toString(t.shape()));
        Tensor old = value;
        // A parameter is a leaf: a tensor with history (e.g. w.clone()) would send gradients to its source.
        value = Scope.unscoped(t.isLeaf() ? t : t.detach());
        if (trainable && value.dtype().isFloatingPoint() && !value.requiresGrad()) value.requiresGrad_(true);
        if (!trainable && value.requiresGrad()) value.requiresGrad_(false);
        if (old != null && old != t) old.close();
    }

    /** Freezes or unfreezes this one parameter (modules: {@link Module#requiresGrad}). */
    public void setTrainable(boolean on) {
        trainable = on && !buffer;
        if (value != null && !value.isClosed() && value.dtype().isFloatingPoint() && value.isLeaf())
            value.requiresGrad_(trainable);
    }

    void close() {
        if (value != null) value.close();
        value = null;
    }
}
