package io.xformer.train;

import io.xformer.nn.Generator;
import io.xformer.nn.Parameter;
import io.xformer.nn.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * What one training stage computes, for {@link TrainLoop}: the trainable parameters, the losses of
 * a micro-batch and what the finished run leaves behind. The loop owns everything else
 * (optimizer, schedule, accumulation, clipping, checkpoints, resume, metrics).
 *
 * @param <B> the host-side batch the stage's {@link DataStream} yields
 */
public interface Objective<B> extends AutoCloseable {
    /** Trainable parameters by module path; the optimizer's state uses these names. */
    Map<String, Parameter> trainable();

    /** Before a step's micro-batches: train / eval modes, clamps. */
    void beginStep();

    /**
     * The losses of one micro-batch, scalars in the order metrics.jsonl lists them; "loss" is the
     * one the loop backpropagates. gen is the step's generator (seeded from (seed, step)).
     */
    Map<String, Tensor> losses(B batch, Generator gen);

    /** The trainable weights under their checkpoint names. */
    default Map<String, Tensor> checkpointState() {
        return Checkpoints.trainableState(trainable());
    }

    /** Restores the trainable weights from a checkpoint's trainable.safetensors (strict on the trainable ones). */
    void loadCheckpoint(Path trainableFile);

    /** After the last step: writes the model folder under runDir and evaluates; returns the evaluation (may be empty). */
    Finished finish(Path runDir) throws IOException;

    record Finished(Path modelDir, Map<String, Double> evaluation) {}

    @Override
    void close();
}
