package io.xformer.nn;

import static io.xformer.bindings.xft.xft_h.XFT_ADAMW_FOREACH;
import static io.xformer.bindings.xft.xft_h.XFT_ADAMW_FUSED;
import static io.xformer.bindings.xft.xft_h.xft_adamw_step;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW as torch.optim.AdamW (decoupled weight decay, bias-corrected moments), over named
 * parameters. Weight decay applies to matrices only (ndim >= 2), as BLIP-2/X-Former train.
 * The state (moments and step) saves to and restores from tensors by name, for exact resumes.
 */
public final class AdamW implements AutoCloseable {
    /** torch.optim.AdamW's default eps, which LAVIS keeps. */
    public static final double DEFAULT_EPS = 1e-8;
    /**
     * COMPOSED: ~9 ops per tensor (the reference); FOREACH: one multi-tensor op per formula term
     * (every libtorch, same arithmetic as COMPOSED); FUSED: libtorch's fused kernel (2.4+ on CPU,
     * 2.0+ on CUDA; equal to COMPOSED within float rounding); AUTO: FUSED where the libtorch has
     * it, else FOREACH.
     */
    public enum Impl { AUTO, COMPOSED, FOREACH, FUSED }

    private final Map<String, Parameter> params;
    private Impl impl = Impl.AUTO;
    private final double beta1, beta2, eps, weightDecay;
    private final Map<String, Tensor> expAvg = new LinkedHashMap<>(), expAvgSq = new LinkedHashMap<>();
    /** Per parameter, whether weight decay applies (a matrix or more); read once, not once per step. */
    private final Map<String, Boolean> decays = new java.util.HashMap<>();
    private long step;

    public AdamW(Map<String, Parameter> trainable, double beta1, double beta2, double eps, double weightDecay) {
        this.params = new LinkedHashMap<>(trainable);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    public long step() {
        return step;
    }

    public AdamW impl(Impl impl) {
        this.impl = impl;
        return this;
    }

    /** The implementation a step on device would use. */
    public Impl resolvedImpl(Device device) {
        if (impl != Impl.AUTO) return impl;
        return Torch.hasFeature(device.isCuda() ? "fused_adamw_cuda" : "fused_adamw_cpu") ? Impl.FUSED : Impl.FOREACH;
    }

    /** One update at learning rate lr; parameters without a gradient are skipped. */
    public void step(double lr) {
        step++;
        List<Map.Entry<String, Parameter>> withGrad = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : params.entrySet())
            if (e.getValue().isSet() && e.getValue().get().hasGrad()) withGrad.add(e);
        if (withGrad.isEmpty()) return;
        Impl use = resolvedImpl(withGrad.get(0).getValue().get().device());
        if (use == Impl.COMPOSED) {
            composedStep(lr);
            return;
        }
        // Two groups: weight decay on matrices only.
        List<Tensor[]> decayed = new ArrayList<>(), plain = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : withGrad) {
            Tensor p = e.getValue().get();
            Tensor[] triple = {p, moment(expAvg, e.getKey(), p), moment(expAvgSq, e.getKey(), p)};
            (weightDecay != 0 && decays(e.getKey(), p) ? decayed : plain).add(triple);
        }
        int code = use == Impl.FUSED ? XFT_ADAMW_FUSED() : XFT_ADAMW_FOREACH();
        multiTensorStep(decayed, lr, weightDecay, code);
        multiTensorStep(plain, lr, 0, code);
    }

    private boolean decays(String name, Tensor p) {
        return decays.computeIfAbsent(name, k -> p.dim() >= 2);
    }

    private static Tensor moment(Map<String, Tensor> moments, String name, Tensor p) {
        return moments.computeIfAbsent(name, k -> Scope.unscoped(Torch.zeros(p.dtype(), p.device(), p.shape())));
    }

    private void multiTensorStep(List<Tensor[]> group, double lr, double wd, int code) {
        if (group.isEmpty()) return;
        int n = group.size();
        Tensor[] ps = new Tensor[n], ms = new Tensor[n], vs = new Tensor[n];
        for (int i = 0; i < n; i++) {
            ps[i] = group.get(i)[0];
            ms[i] = group.get(i)[1];
            vs[i] = group.get(i)[2];
        }
        // Arena.ofConfined: the three handle arrays live for this call only.
        try (Arena arena = Arena.ofConfined()) {
            Native.check(xft_adamw_step(Native.handles(arena, ps), Native.handles(arena, ms), Native.handles(arena, vs), n, lr,
                    beta1, beta2, eps, wd, step, code), "adamw_step");
        }
    }

    private void composedStep(double lr) {
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        double stepSize = lr / bc1, bc2Sqrt = Math.sqrt(bc2);
        try (Guard g = Guard.noGrad()) {
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                try (Scope s = Scope.open()) {
                    Tensor p = e.getValue().get();
                    Tensor grad = p.grad();
                    if (grad == null) continue;
                    Tensor m = moment(expAvg, e.getKey(), p), v = moment(expAvgSq, e.getKey(), p);
                    if (weightDecay != 0 && decays(e.getKey(), p)) p.mul_(1 - lr * weightDecay);
                    m.mul_(beta1).add_(grad, 1 - beta1);
                    v.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
                    Tensor denom = v.sqrt().div(bc2Sqrt).add(eps);
                    p.addcdiv_(m, denom, -stepSize);
                }
            }
        }
    }

    /** Clears gradients (set to None, as zero_grad(set_to_none=True)). */
    public void zeroGrad() {
        Tensor.setGradsNone(params.values().stream().filter(Parameter::isSet).map(Parameter::get).toArray(Tensor[]::new));
    }

    /** Scales gradients so their global L2 norm is at most maxNorm; returns the norm before clipping (a host read). */
    public double clipGradNorm(double maxNorm) {
        try (Scope s = Scope.open()) {
            Tensor norm = clipGradNormOnDevice(maxNorm);
            return norm == null ? 0 : norm.item();
        }
    }

    /**
     * {@link #clipGradNorm} without reading the norm back: the clip factor min(1, maxNorm /
     * (norm + 1e-6)) stays on the device (as torch.nn.utils.clip_grad_norm_), so the step makes
     * no host sync; the same gradients bit for bit. Returns the norm (0-dim F64), or null without gradients.
     */
    public Tensor clipGradNormOnDevice(double maxNorm) {
        try (Scope s = Scope.open(); Guard g = Guard.noGrad()) {
            Tensor total = null;
            for (Parameter p : params.values()) {
                Tensor grad = p.isSet() ? p.get().grad() : null;
                if (grad == null) continue;
                Tensor sq = grad.to(DType.F32).square().sum();
                total = total == null ? sq : total.add(sq);
            }
            if (total == null) return null;
            Tensor norm = total.to(DType.F64).sqrt();
            Tensor coef = Torch.full(maxNorm, DType.F64, norm.device()).div(norm.add(1e-6)).clampMax(1.0);
            for (Parameter p : params.values()) {
                Tensor grad = p.isSet() ? p.get().grad() : null;
                if (grad != null) grad.mul_(coef);
            }
            return s.keep(norm);
        }
    }

    /** Moments under {@code exp_avg.<name>} / {@code exp_avg_sq.<name>} (shared, not copied). */
    public Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        expAvg.forEach((k, v) -> out.put("exp_avg." + k, v));
        expAvgSq.forEach((k, v) -> out.put("exp_avg_sq." + k, v));
        return out;
    }

    /** Restores moments saved by {@link #state} and the step count. Unknown names are an error. */
    public void load(Map<String, Tensor> state, long step) {
        close();
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            String key = e.getKey();
            Map<String, Tensor> target = key.startsWith("exp_avg_sq.") ? expAvgSq : key.startsWith("exp_avg.") ? expAvg : null;
            String name = target == expAvgSq ? key.substring(11) : key.substring(Math.min(key.length(), 8));
            if (target == null || !params.containsKey(name))
                throw new TorchException("optimizer state has '" + key + "', which matches no trainable parameter");
            Parameter p = params.get(name);
            if (!Arrays.equals(p.shape(), e.getValue().shape()))
                throw new TorchException("optimizer state '" + key + "' has shape " + Arrays.toString(e.getValue().shape())
                        + ", parameter has " + Arrays.toString(p.shape()));
            try (Scope s = Scope.open()) {
                Tensor t = e.getValue().to(p.get().device(), p.get().dtype(), false).clone();
                target.put(name, Scope.unscoped(t));
            }
        }
        this.step = step;
    }

    public List<String> names() {
        return List.copyOf(params.keySet());
    }

    @Override
    public void close() {
        expAvg.values().forEach(Tensor::close);
        expAvgSq.values().forEach(Tensor::close);
        expAvg.clear();
        expAvgSq.clear();
    }
}
