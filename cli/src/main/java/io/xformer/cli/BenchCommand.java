package io.xformer.cli;

import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks that print figures.",
        subcommands = {BenchCommand.Ops.class})
final class BenchCommand {

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
                Tensor a = Torch.ones(16), b = Torch.full(2, io.xformer.nn.DType.F32, io.xformer.nn.Device.CPU, 16);
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
