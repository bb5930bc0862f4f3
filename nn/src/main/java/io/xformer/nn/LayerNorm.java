package io.xformer.nn;

/** Layer normalisation over the last dimension, with affine {@code weight} and {@code bias}. */
public final class LayerNorm extends Module {
    public final Parameter weight;
    public final Parameter bias;
    private final long[] shape;
    private final double eps;

    public LayerNorm(long dim, double eps) {
        this.shape = new long[] {dim};
        this.eps = eps;
        this.weight = parameter("weight", dim);
        this.bias = parameter("bias", dim);
    }

    public Tensor forward(Tensor x) {
        return F.layerNorm(x, shape, weight.get(), bias.get(), eps);
    }

    @Override
    protected void resetParameters(Generator gen, DType dtype, Device device, double std) {
        weight.set(Torch.ones(dtype, device, shape));
        bias.set(Torch.zeros(dtype, device, shape));
    }
}
