package io.xformer.train;

import java.nio.file.Path;
import java.util.Map;

/** What a training run tells the outside (progress, notes); presentation lives in the CLI. */
public interface TrainListener extends AutoCloseable {
    TrainListener SILENT = new TrainListener() {};

    /** The loop starts at startStep (0, or the resumed checkpoint's step) of maxSteps; resumedFrom is null on a fresh run. */
    default void started(long startStep, long maxSteps, Path resumedFrom) {}

    /** A logged step's metrics (the line written to metrics.jsonl). */
    default void logged(long step, long maxSteps, Map<String, Double> metrics) {}

    /** A note: a skipped sample, data generation, ... */
    default void message(String text) {}

    @Override
    default void close() {}
}
