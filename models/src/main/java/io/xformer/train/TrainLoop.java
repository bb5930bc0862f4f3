package io.xformer.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.xformer.nn.AdamW;
import io.xformer.nn.DType;
import io.xformer.nn.Generator;
import io.xformer.nn.LrSchedule;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;
import io.xformer.nn.dist.GradientSync;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The training loop of every stage, blind to what is trained: AdamW with warmup + cosine,
 * optional clipping and gradient accumulation over an {@link Objective}'s losses, atomic
 * checkpoints, metrics.jsonl and skipped-sample counting. Every random draw of step s is seeded
 * from (seed, s) and the data order from (seed, cursor), so a run resumed from a checkpoint
 * repeats the uninterrupted run.
 */
public final class TrainLoop {
    /** steps: the step reached; finished: the objective's output (null when the session stopped early). */
    public record Result(long steps, Objective.Finished finished, long skipped) {}

    private TrainLoop() {}

    static long mix(long seed, long step) {
        long z = seed * 0x9E3779B97F4A7C15L + step * 0xBF58476D1CE4E5B9L + 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Trains obj into outDir, locking it (a run already there is refused without resume); no config fingerprint, no first line. */
    public static <B> Result run(TrainConfig.Train t, Path outDir, long maxSteps, Long stopAfter, boolean resume, Objective<B> obj,
                                 DataStream.Opener<B> data, TrainListener listener) throws IOException {
        return run(t, outDir, maxSteps, stopAfter, resume, obj, data, listener, World.SINGLE);
    }

    /** As above over the ranks of world; rank 0 alone locks the folder (see {@link RunFolder#open(Path, boolean, boolean, boolean, Map, Path, World)}). */
    public static <B> Result run(TrainConfig.Train t, Path outDir, long maxSteps, Long stopAfter, boolean resume, Objective<B> obj,
                                 DataStream.Opener<B> data, TrainListener listener, World world) throws IOException {
        try (RunFolder folder = RunFolder.open(outDir, resume, false, false, Map.of(), null, world)) {
            return run(t, folder, maxSteps, stopAfter, obj, data, listener, null, world);
        }
    }

    /**
     * Trains obj for maxSteps (schedule length) into the locked run folder, resuming from the
     * folder's validated checkpoint when it has one. stopAfter: end the session after that many
     * steps (checkpointing there) while the schedule still spans maxSteps, for --resume later.
     * banner: the run's first line (null: none).
     */
    public static <B> Result run(TrainConfig.Train t, RunFolder folder, long maxSteps, Long stopAfter, Objective<B> obj,
                                 DataStream.Opener<B> data, TrainListener listener, RunBanner.First banner) throws IOException {
        return run(t, folder, maxSteps, stopAfter, obj, data, listener, banner, World.SINGLE);
    }

    /**
     * As above over the ranks of world (issue 10): gradients averaged over ranks (bucketed, during
     * backward), losses logged as their mean over ranks, img_per_s over all ranks; rank 0 alone
     * tells the listener (the banner included), writes metrics.jsonl, checkpoints (between
     * barriers) and the final model. The non-finite-loss check reads the losses averaged over the
     * ranks, so every rank stops at the same step.
     */
    public static <B> Result run(TrainConfig.Train t, RunFolder folder, long maxSteps, Long stopAfter, Objective<B> obj,
                                 DataStream.Opener<B> data, TrainListener listener, RunBanner.First banner, World world) throws IOException {
        if (!world.isMain()) listener = TrainListener.SILENT;
        Path outDir = folder.dir();
        Checkpoints ckpts = folder.checkpoints();
        Path metricsFile = outDir.resolve("metrics.jsonl");
        long startStep = 0, cursor = 0, skippedTotal = 0;
        try (AdamW opt = new AdamW(obj.trainable(), t.beta1(), t.beta2(), 1e-8, t.weightDecay())) {
            Path latest = folder.resumeFrom();
            if (latest != null) world.checkResume(outDir);
            if (latest != null) {
                Checkpoints.State st = Checkpoints.readState(latest);
                obj.loadCheckpoint(latest.resolve(Checkpoints.TRAINABLE));
                try (Scope s = Scope.open()) {
                    opt.load(SafeTensors.load(latest.resolve(Checkpoints.OPTIMIZER)), st.optimizerStep());
                }
                startStep = st.step();
                cursor = st.cursor();
                if (world.isMain()) {
                    MetricsFile.truncateAfter(metricsFile, startStep);
                    folder.recordConfigChange(metricsFile, startStep);
                }
            } else if (world.isMain()) {
                Files.deleteIfExists(metricsFile);
                world.recordSize(outDir);
            }
            LrSchedule schedule = new LrSchedule(t.lr(), t.minLr(), t.warmupLr(), t.warmupSteps(), maxSteps);
            ObjectMapper json = new ObjectMapper();
            if (banner != null) listener.message(banner.line(latest, startStep, maxSteps, folder.movedAside()));
            listener.started(startStep, maxSteps, latest);
            try (DataStream<B> stream = data.open(cursor); GradientSync sync = world.gradientSync(obj.trainable())) {
                long lastLog = System.nanoTime(), imagesSinceLog = 0;
                long endStep = stopAfter == null ? maxSteps : Math.min(maxSteps, stopAfter);
                for (long step = startStep; step < endStep; step++) {
                    double lr = schedule.at(step);
                    Torch.manualSeed(world.rankSeed(mix(t.seed(), step)));
                    try (Scope s = Scope.open(); Generator gen = new Generator(mix(t.seed() + 1, step))) {
                        obj.beginStep();
                        Map<String, Tensor> sums = new LinkedHashMap<>();
                        for (int micro = 0; micro < t.accumSteps(); micro++) {
                            DataStream.Fetched<B> b = stream.next();
                            cursor = b.cursorAfter();
                            skippedTotal += b.skipped().size();
                            for (String why : b.skipped()) listener.message("skipped: " + why);
                            imagesSinceLog += b.size();
                            Map<String, Tensor> losses = obj.losses(b.batch(), gen);
                            if (sync != null) sync.sync(micro == t.accumSteps() - 1);  // one all-reduce per step
                            losses.get("loss").div(t.accumSteps()).backward();
                            accumulate(sums, losses, t.accumSteps());
                        }
                        if (sync != null) sync.finish();
                        boolean logs = (step + 1) % t.logEvery() == 0 || step + 1 == maxSteps;
                        Map<String, Double> mean = null;
                        // a step whose loss is not finite must reach neither metrics.jsonl nor a checkpoint
                        if (logs || (step + 1) % t.checkpointEvery() == 0 || step + 1 == endStep) {
                            Map<String, Tensor> local = new LinkedHashMap<>(sums);
                            local.put("skipped", Torch.scalar(skippedTotal, io.xformer.nn.DType.F64));
                            mean = world.mean(local);  // one all-reduce: every rank decides on the same values
                            LossCheck.requireFiniteValues(mean, step + 1, ckpts);
                        }
                        Tensor norm = t.gradClip() > 0 ? opt.clipGradNormOnDevice(t.gradClip()) : null; // no host sync
                        double gradNorm = logs && norm != null ? norm.item() : Double.NaN;
                        opt.step(lr);
                        opt.zeroGrad();
                        if (logs) {
                            double secs = (System.nanoTime() - lastLog) / 1e9;
                            Map<String, Double> metrics = new LinkedHashMap<>();
                            metrics.put("step", (double) (step + 1));
                            metrics.put("lr", lr);
                            for (var e : sums.keySet()) metrics.put(e, mean.get(e));
                            if (!Double.isNaN(gradNorm)) metrics.put("grad_norm", gradNorm);
                            metrics.put("img_per_s", imagesSinceLog * world.size() / Math.max(secs, 1e-9));
                            metrics.put("skipped", (double) Math.round(mean.get("skipped") * world.size()));
                            if (world.isMain()) appendMetrics(metricsFile, json, metrics);
                            listener.logged(step + 1, maxSteps, metrics);
                            lastLog = System.nanoTime();
                            imagesSinceLog = 0;
                        }
                    } catch (TorchException e) {
                        throw LossCheck.explain(e, step + 1, ckpts);
                    }
                    if ((step + 1) % t.checkpointEvery() == 0 || step + 1 == endStep) {
                        // every rank has finished the step before rank 0 writes, and waits until it is on disk
                        world.barrier();
                        if (world.isMain())
                            ckpts.write(step + 1, obj.checkpointState(), opt.state(), new Checkpoints.State(step + 1, cursor, opt.step()));
                        world.barrier();
                    }
                }
            }
            if (stopAfter != null && stopAfter < maxSteps)
                return new Result(Math.max(startStep, Math.min(maxSteps, stopAfter)), null, skippedTotal);
            if (!world.isMain()) {
                world.barrier();  // rank 0 exports and evaluates
                return new Result(maxSteps, new Objective.Finished(outDir.resolve("model"), Map.of()), skippedTotal);
            }
            Objective.Finished f = obj.finish(outDir);
            if (!f.evaluation().isEmpty()) MetricsFile.writeEval(outDir.resolve("eval.json"), f.evaluation());
            world.barrier();
            return new Result(maxSteps, f, skippedTotal);
        }
    }

    private static void accumulate(Map<String, Tensor> sums, Map<String, Tensor> losses, int accum) {
        for (var e : losses.entrySet()) {
            Tensor v = e.getValue().detach().div(accum);
            Tensor prev = sums.get(e.getKey());
            sums.put(e.getKey(), prev == null ? v : prev.add(v));
        }
    }

    private static void appendMetrics(Path file, ObjectMapper json, Map<String, Double> m) throws IOException {
        ObjectNode o = json.createObjectNode();
        m.forEach((k, v) -> {
            if (k.equals("step") || k.equals("skipped")) o.put(k, v.longValue());
            else o.put(k, v);
        });
        Files.writeString(file, json.writeValueAsString(o) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }
}
