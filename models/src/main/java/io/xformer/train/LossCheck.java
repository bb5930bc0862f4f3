package io.xformer.train;

import io.xformer.nn.InputException;
import io.xformer.nn.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Stops a run whose loss is no longer finite, before its weights reach a checkpoint or its line
 * reaches metrics.jsonl: the last checkpoint written stays the last good one, and the error names
 * the step and the parts of the loss that went bad. The loop calls it on steps that log or save
 * anyway, so it adds one host sync there and none elsewhere.
 */
public final class LossCheck {
    private LossCheck() {}

    /** Thrown when training diverged: exit code 3 (the usual causes are the config's lr or the data). */
    public static final class NonFiniteLossException extends InputException {
        NonFiniteLossException(String message) {
            super(message);
        }
    }

    /** sums: "loss" and its parts, as the loop accumulates them over micro-batches. */
    public static void requireFinite(Map<String, Tensor> sums, long step, Checkpoints ckpts) {
        Tensor loss = sums.get("loss");
        if (loss == null) return;
        double v = loss.item();
        if (Double.isFinite(v)) return;
        List<String> parts = new ArrayList<>();
        sums.forEach((k, t) -> parts.add(k + " " + (k.equals("loss") ? v : t.item())));
        throw failure(step, String.join(", ", parts), ckpts);
    }

    /**
     * The same over values already averaged over the ranks ({@link World#mean}): every rank sees
     * the same numbers, so all ranks stop together at the same step instead of one rank leaving
     * the others waiting in the next collective.
     */
    public static void requireFiniteValues(Map<String, Double> values, long step, Checkpoints ckpts) {
        Double v = values.get("loss");
        if (v == null || Double.isFinite(v)) return;
        List<String> parts = new ArrayList<>();
        values.forEach((k, x) -> {
            if (!k.equals("skipped")) parts.add(k + " " + x);
        });
        throw failure(step, String.join(", ", parts), ckpts);
    }

    /**
     * A libtorch error raised because values went non-finite inside the step (ITM's negative
     * sampling draws from the ITC similarities, and multinomial refuses NaN) becomes the same
     * diverged-training error; any other error is returned unchanged.
     */
    public static RuntimeException explain(RuntimeException e, long step, Checkpoints ckpts) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        if (e instanceof io.xformer.nn.TorchException && m.contains("`inf`, `nan`"))
            return failure(step, "values went NaN or infinite in the forward pass: " + m, ckpts);
        return e;
    }

    static NonFiniteLossException failure(long step, String values, Checkpoints ckpts) {
        Path last = ckpts == null ? null : ckpts.latest();
        return new NonFiniteLossException("training stopped: the loss is not finite at step " + step + " (" + values + "); "
                + "nothing of that step was written; "
                + (last == null ? "no checkpoint was written before it" : "the last good checkpoint is " + last)
                + ". Lower train.lr or set train.grad_clip, then --resume (with --allow-config-change) or start over");
    }
}
