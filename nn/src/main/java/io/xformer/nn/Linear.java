package io.xformer.nn;

/** y = x W^T + b, with PyTorch's parameter names ({@code weight} (out, in), {@code bias} (out)). */
public final class Linear extends Module {
    public final Parameter weight;
    public final Parameter bias;

    public Linear(long in, long out, boolean bias) {
        this.weight = parameter("weight", out, in);
        this.bias = bias ? parameter("bias", out) : null;
    }

    public Tensor forward(Tensor x) {
        return F.linear(x, weight.get(), bias == null ? null : bias.get());
    }
}
