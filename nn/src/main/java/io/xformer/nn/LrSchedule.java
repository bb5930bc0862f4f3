package io.xformer.nn;

/** Linear warmup from warmupStart to peak over warmup steps, then cosine decay to min at total steps. */
public record LrSchedule(double peak, double min, double warmupStart, long warmupSteps, long totalSteps) {
    public double at(long step) {
        if (warmupSteps > 0 && step < warmupSteps) return warmupStart + (peak - warmupStart) * step / (double) warmupSteps;
        long span = Math.max(1, totalSteps - warmupSteps);
        double progress = Math.min(1.0, (step - warmupSteps) / (double) span);
        return min + (peak - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
}
