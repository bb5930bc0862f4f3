package io.xformer.cli;

import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Threads;
import io.xformer.nn.Torch;
import io.xformer.train.Stage1Bench;
import io.xformer.train.TrainConfig;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks that print figures.",
        subcommands = {BenchCommand.Ops.class, BenchCommand.Stage1.class})
final class BenchCommand {

    @Command(name = "stage1", mixinStandardHelpOptions = true,
            description = "Times full stage-1 training steps at a config's dimensions: ms/step, img/s, peak memory.")
    static final class Stage1 implements Callable<Integer> {
        @Option(names = "--config", required = true, paramLabel = "FILE")
        Path config;

        @Option(names = "--batch", defaultValue = "2")
        int batch;

        @Option(names = "--steps", defaultValue = "3")
        int steps;

        @Option(names = "--random-weights", description = "initialise randomly instead of from the config's init sources")
        boolean randomWeights;

        @Option(names = "--device", description = "override train.device (cpu, cuda, cuda:N)")
        String device;

        @Option(names = "--text-len", defaultValue = "32")
        int textLen;

        @Override
        public Integer call() throws Exception {
            TrainConfig cfg = TrainConfig.load(config);
            Device dev = Device.parse(device != null ? device : cfg.train().device());
            if (dev.isCuda() && !Torch.cudaIsAvailable()) throw new IllegalArgumentException("CUDA requested but " + Torch.version());
            var r = Stage1Bench.run(cfg.model(), cfg.init(), randomWeights, batch, steps, textLen, dev, cfg.train().amp());
            System.out.printf("bench stage1: %s, batch %d, %d timed steps on %s (%s)%n", config, batch, steps, dev, Torch.version());
            System.out.printf("  %.1f ms/step   %.2f img/s   %s %.2f GiB%n", r.msPerStep(), r.imagesPerSecond(), r.peakKind(),
                    r.peakBytes() / (1024.0 * 1024 * 1024));
            System.out.println("  " + Threads.budget());
            return 0;
        }
    }

    /**
     * Per-call cost of one small op through the Java layer against the same call sequence
     * timed inside libxft: the difference is what FFM + Tensor + Scope add.
     */
    @Command(name = "ops", mixinStandardHelpOptions = true,
            description = "Per-call cost of add(16 floats) + free: Java layer vs native loop, in microseconds.")
    static final class Ops implements Callable<Integer> {
        @Option(names = "--iters", defaultValue = "1000000", description = "iterations per round (default ${DEFAULT-VALUE})")
        long iters;

        @Option(names = "--rounds", defaultValue = "7", description = "rounds; the median is reported (default ${DEFAULT-VALUE})")
        int rounds;

        @Override
        public Integer call() {
            Torch.setNumThreads(1);
            double[] java = new double[rounds], nat = new double[rounds];
            try (Scope s = Scope.open()) {
                Tensor a = Torch.ones(16), b = Torch.full(2, DType.F32, Device.CPU, 16);
                javaLoop(a, b, Math.max(iters / 2, 1)); // JIT warm-up
                Torch.nativeAddMicros(Math.max(iters / 10, 1));
                for (int r = 0; r < rounds; r++) {
                    // interleaved so both see the same machine state
                    nat[r] = Torch.nativeAddMicros(iters);
                    java[r] = javaLoop(a, b, iters);
                }
            }
            double n = median(nat), j = median(java);
            System.out.printf("bench ops: add of two 16-element f32 CPU tensors + free, %,d iterations x %d rounds (median)%n",
                    iters, rounds);
            System.out.printf("  native loop inside libxft     %.3f us/op%n", n);
            System.out.printf("  Java layer (Tensor + Scope)   %.3f us/op%n", j);
            System.out.printf("  Java layer overhead           %+.3f us/op%n", j - n);
            System.out.printf("  %s; java %s%n", Torch.version(), Runtime.version());
            return 0;
        }

        private static double javaLoop(Tensor a, Tensor b, long iters) {
            long t0 = System.nanoTime();
            for (long i = 0; i < iters; i++) {
                Tensor c = a.add(b);
                c.close();
            }
            return (System.nanoTime() - t0) / 1e3 / iters;
        }

        private static double median(double[] v) {
            double[] s = v.clone();
            Arrays.sort(s);
            return s[s.length / 2];
        }
    }
}
