package io.xformer.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A tree of layers whose dotted parameter paths equal HuggingFace state-dict keys
 * ({@code encoder.layer.0.attention.attention.query.weight}), so loading a checkpoint is a
 * name match with a strict report. Modules start in eval mode.
 */
public abstract class Module implements AutoCloseable {
    private final Map<String, Parameter> params = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    protected boolean training;

    protected final Parameter parameter(String name, long... shape) {
        return add(name, new Parameter(shape, false));
    }

    protected final Parameter buffer(String name, long... shape) {
        return add(name, new Parameter(shape, true));
    }

    private Parameter add(String name, Parameter p) {
        if (params.containsKey(name) || children.containsKey(name))
            throw new IllegalArgumentException("duplicate member '" + name + "' in " + getClass().getSimpleName());
        params.put(name, p);
        return p;
    }

    protected final <M extends Module> M child(String name, M m) {
        if (params.containsKey(name) || children.containsKey(name))
            throw new IllegalArgumentException("duplicate member '" + name + "' in " + getClass().getSimpleName());
        children.put(name, m);
        return m;
    }

    /** register_parameter: a trainable slot under {@code name}. */
    public final Parameter registerParameter(String name, long... shape) {
        return parameter(name, shape);
    }

    /** register_buffer: a non-trainable slot under {@code name}, saved with the weights. */
    public final Parameter registerBuffer(String name, long... shape) {
        return buffer(name, shape);
    }

    /** add_module. */
    public final <M extends Module> M registerChild(String name, M m) {
        return child(name, m);
    }

    /** Every parameter and buffer under its dotted path, in registration order. */
    public final Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collect("", out);
        return out;
    }

    private void collect(String prefix, Map<String, Parameter> out) {
        params.forEach((n, p) -> out.put(prefix + n, p));
        children.forEach((n, c) -> c.collect(prefix + n + ".", out));
    }

    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    public final long numParameters() {
        return namedParameters().values().stream().filter(p -> !p.isBuffer()).mapToLong(Parameter::numel).sum();
    }

    public final long numTrainable() {
        return namedParameters().values().stream().filter(Parameter::trainable).mapToLong(Parameter::numel).sum();
    }

    public final void train(boolean on) {
        training = on;
        children.values().forEach(c -> c.train(on));
    }

    public final boolean isTraining() {
        return training;
    }

    /** Freezes (no gradients) or unfreezes every parameter of this subtree. */
    public final void requiresGrad(boolean on) {
        namedParameters().values().forEach(p -> p.setTrainable(on));
    }

    /** Tensors of every set parameter and buffer, for saving. */
    public final Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        namedParameters().forEach((n, p) -> {
            if (p.isSet()) out.put(n, p.get());
        });
        return out;
    }

    /** What a load found: keys the model has and the source lacks, and the reverse, and shape clashes. */
    public record LoadReport(List<String> missing, List<String> unexpected, List<String> mismatched) {
        public boolean clean() {
            return missing.isEmpty() && unexpected.isEmpty() && mismatched.isEmpty();
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder();
            if (!missing.isEmpty()) b.append("missing keys ").append(missing).append("; ");
            if (!unexpected.isEmpty()) b.append("unexpected keys ").append(unexpected).append("; ");
            if (!mismatched.isEmpty()) b.append("shape mismatches ").append(mismatched).append("; ");
            return b.isEmpty() ? "clean" : b.substring(0, b.length() - 2);
        }
    }

    /** Where a load reads tensors from: names, shapes, and the tensor for a name. */
    public interface TensorSource {
        List<String> names();

        long[] shape(String name);

        Tensor get(String name);

        static TensorSource of(Map<String, Tensor> map) {
            return new TensorSource() {
                public List<String> names() {
                    return List.copyOf(map.keySet());
                }

                public long[] shape(String name) {
                    return map.get(name).shape();
                }

                public Tensor get(String name) {
                    return map.get(name);
                }
            };
        }
    }

    /**
     * Loads tensors by name, converting to {@code dtype} (null keeps the file's) and {@code device}.
     * {@code rename} maps a source key to this module's key (null drops the key). Strict: any
     * missing, unexpected or mis-shaped key throws, listing every one, before anything is set.
     */
    public final LoadReport loadStateDict(TensorSource src, Function<String, String> rename, DType dtype, Device device,
                                          boolean strict) {
        Map<String, Parameter> mine = namedParameters();
        Map<String, String> sourceOf = new LinkedHashMap<>();
        Set<String> seen = new HashSet<>();
        List<String> unexpected = new ArrayList<>(), mismatched = new ArrayList<>(), missing = new ArrayList<>();
        for (String key : src.names()) {
            String k = rename == null ? key : rename.apply(key);
            if (k == null) continue;
            Parameter p = mine.get(k);
            if (p == null) {
                unexpected.add(key);
                continue;
            }
            seen.add(k);
            long[] shape = src.shape(key);
            if (!Arrays.equals(shape, p.shape())) {
                mismatched.add(key + " (checkpoint " + Arrays.toString(shape) + ", model " + Arrays.toString(p.shape()) + ")");
                continue;
            }
            sourceOf.put(k, key);
        }
        for (String k : mine.keySet()) if (!seen.contains(k)) missing.add(k);
        LoadReport report = new LoadReport(List.copyOf(missing), List.copyOf(unexpected), List.copyOf(mismatched));
        if (strict && !report.clean()) throw new InputException("state dict does not match " + getClass().getSimpleName() + ": " + report);
        try (Scope s = Scope.open(); Guard g = Guard.noGrad()) {
            for (Map.Entry<String, String> e : sourceOf.entrySet()) {
                Tensor t = src.get(e.getValue());
                Parameter p = mine.get(e.getKey());
                DType want = dtype == null || !t.dtype().isFloatingPoint() ? t.dtype() : dtype;
                // detach(): a new handle on the same storage (zero-copy), independent of the source's handle
                p.set(t.dtype() == want && t.device().equals(device) ? t.detach() : t.to(device, want, false));
            }
        }
        return report;
    }

    /** Converts every set parameter to dtype (floating point only) and/or device. */
    public final void to(Device device, DType dtype) {
        try (Scope s = Scope.open(); Guard g = Guard.noGrad()) {
            for (Parameter p : namedParameters().values()) {
                if (!p.isSet()) continue;
                Tensor t = p.get();
                DType want = dtype == null || !t.dtype().isFloatingPoint() ? t.dtype() : dtype;
                if (t.dtype() != want || !t.device().equals(device)) p.set(t.to(device, want, false));
            }
        }
    }

    /**
     * Fresh weights for this subtree (training from scratch, benchmarks with random weights):
     * each module initialises its own parameters in {@link #resetParameters}, children after.
     */
    public final void initialize(Generator gen, DType dtype, Device device) {
        initialize(gen, dtype, device, 0.02);
    }

    /** As {@link #initialize(Generator, DType, Device)} with normal(0, std) for matrices and embeddings. */
    public final void initialize(Generator gen, DType dtype, Device device, double std) {
        try (Guard g = Guard.noGrad()) {
            resetParameters(gen, dtype, device, std);
        }
        children.values().forEach(c -> c.initialize(gen, dtype, device, std));
    }

    /** Default initialisation: normal(0, std) matrices and embeddings, zero vectors. Layers override. */
    protected void resetParameters(Generator gen, DType dtype, Device device, double std) {
        for (Parameter p : params.values()) {
            long[] s = p.shape();
            if (s.length >= 2) p.set(Torch.randn(gen, dtype, device, s).mul_(std));
            else p.set(Torch.zeros(dtype, device, s));
        }
    }

    /** Frees every parameter's tensor. */
    @Override
    public void close() {
        namedParameters().values().forEach(Parameter::close);
    }
}
