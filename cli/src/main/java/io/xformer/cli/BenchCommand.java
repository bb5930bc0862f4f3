package io.xformer.cli;

import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Profiler;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Threads;
import io.xformer.nn.Torch;
import io.xformer.train.Stage1Bench;
import io.xformer.train.TrainConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks that print figures.",
        subcommands = {BenchCommand.Ops.class, BenchCommand.Stage1.class})
final class BenchCommand {

    @Command(name = "stage1", mixinStandardHelpOptions = true,
            description = "Times stage-1 training steps at a config's dimensions: start-up, warm-up and the steady state "
                    + "(median and spread), img/s, peak memory; optionally side by side with the PyTorch reference.")
    static final class Stage1 implements Callable<Integer> {
        @Option(names = "--config", required = true, paramLabel = "FILE", description = "training config whose model is timed")
        Path config;

        @Option(names = "--batch", defaultValue = "2", description = "images per step")
        int batch;

        @Option(names = "--warmup", defaultValue = "10", description = "untimed steps first (JIT, allocator), at least 1 (default ${DEFAULT-VALUE})")
        int warmup;

        @Option(names = "--steps", defaultValue = "20", description = "timed steps (per round with --compare-pytorch; default ${DEFAULT-VALUE})")
        int steps;

        @Option(names = "--random-weights", description = "initialise randomly instead of from the config's init sources")
        boolean randomWeights;

        @Option(names = "--device", description = "override train.device (cpu, cuda, cuda:N); default: the config's")
        String device;

        @Option(names = "--text-len", defaultValue = "32", description = "caption length in tokens")
        int textLen;

        @Option(names = "--encoders-only", description = "time the frozen encoders' forward (inference mode) instead of a training step")
        boolean encodersOnly;

        @Option(names = "--profile", description = "print libtorch op counts and self times of one step (the reference's --profile form)")
        boolean profile;

        @Option(names = "--profile-top", defaultValue = "40", description = "ops listed by --profile (default ${DEFAULT-VALUE})")
        int profileTop;

        @Option(names = "--compare-pytorch", description = "run the PyTorch reference interleaved on the same config, check the losses, print the ratio")
        boolean comparePytorch;

        @Option(names = "--pytorch-script", paramLabel = "FILE",
                description = "the reference (default ../shared/bench/pytorch_stage1_cpu.py relative to the repository root)")
        Path pytorchScript;

        @Option(names = "--python", paramLabel = "EXE", description = "the Python with torch (default /usr/bin/python3, Debian's python3-torch, else python3)")
        String python;

        @Option(names = "--rounds", defaultValue = "3", description = "interleaved rounds with --compare-pytorch (default ${DEFAULT-VALUE})")
        int rounds;

        @Override
        public Integer call() throws Exception {
            if (warmup < 1 || steps < 1 || rounds < 1) throw new IllegalArgumentException("--warmup, --steps and --rounds must be at least 1");
            TrainConfig cfg = TrainConfig.load(config);
            Device dev = Device.parse(device != null ? device : cfg.train().device());
            if (dev.isCuda() && !Torch.cudaIsAvailable()) throw new IllegalArgumentException("CUDA requested but " + Torch.version());
            PyTorchReference ref = null;
            if (comparePytorch) {
                if (dev.isCuda()) throw new IllegalArgumentException("--compare-pytorch: the reference runs on the CPU only");
                Path root = Path.of(System.getProperty("xformer.root", "."));
                String py = python != null ? python : Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
                ref = new PyTorchReference(py, pytorchScript != null ? pytorchScript
                        : root.resolve("../shared/bench/pytorch_stage1_cpu.py").normalize());
                String why = ref.unavailable();
                if (why != null) throw new IllegalArgumentException("--compare-pytorch: " + why);
            }
            var budget = Threads.budget();
            String what = encodersOnly ? "frozen encoders forward (inference mode)" : "stage-1 training step";
            System.out.printf("bench stage1: %s; %s, batch %d, text %d, %d warm-up + %d timed steps%s on %s (%s)%n", what, config, batch,
                    textLen, warmup, steps, comparePytorch ? " x " + rounds + " interleaved rounds" : "", dev, Torch.version());
            System.out.println("  " + budget);
            try (var b = new Stage1Bench(cfg.model(), cfg.init(), randomWeights, batch, textLen, dev, cfg.train().amp(),
                    encodersOnly)) {
                boolean checkLosses = ref != null && !encodersOnly;
                boolean dropout = Stage1Bench.hasDropout(cfg.model());
                Path weights = null;
                if (checkLosses && !dropout) weights = b.exportWeights(cfg.model(), Files.createTempDirectory("xformer-bench"));
                double startup = sinceProcessStart();
                long w0 = System.nanoTime();
                Map<String, Double> firstLosses = b.step(!encodersOnly);
                double firstMs = (System.nanoTime() - w0) / 1e6;
                for (int i = 1; i < warmup; i++) b.step(false);
                double warmupMs = (System.nanoTime() - w0) / 1e6;
                b.resetPeak();
                System.out.printf("  start-up (launch to first step) %.2f s; first step %.1f ms; warm-up (%d steps) %.2f s%n",
                        startup, firstMs, warmup, warmupMs / 1e3);
                if (firstLosses != null) System.out.println("  losses first step: " + fmt(firstLosses));
                List<double[]> javaRounds = new ArrayList<>(), torchRounds = new ArrayList<>();
                List<Double> torchProcess = new ArrayList<>();
                List<String> refArgs = new ArrayList<>(List.of("--config", config.toString(), "--batch", "" + batch, "--text-len", "" + textLen,
                        "--threads", "" + budget.intraOp(), "--java-data"));
                if (encodersOnly) refArgs.add("--encoders-only");
                for (int r = 0; r < (ref == null ? 1 : rounds); r++) {
                    if (ref != null) { // the reference first: both sides see the same machine state, round after round
                        List<String> a = new ArrayList<>(refArgs);
                        a.addAll(List.of("--warmup", "" + warmup, "--steps", "" + steps));
                        PyTorchReference.Run run = ref.run(a, budget);
                        torchRounds.add(run.stepMs());
                        torchProcess.add(run.processSeconds());
                    }
                    javaRounds.add(b.time(steps));
                }
                var java = Stage1Bench.Stats.of(concat(javaRounds));
                System.out.printf("  java    steady state %s   %.2f img/s   %s %.3f GiB%n", fmt(java), batch * 1000.0 / java.median(),
                        b.peakKind(), b.peakBytes() / (1024.0 * 1024 * 1024));
                if (ref != null) {
                    var torch = Stage1Bench.Stats.of(concat(torchRounds));
                    System.out.printf("  pytorch steady state %s   %.2f img/s   (torch %s, whole process per round %s s)%n", fmt(torch),
                            batch * 1000.0 / torch.median(), ref.torchVersion(), roundsFmt(torchProcess));
                    System.out.printf("  round medians ms: java %s; pytorch %s%n", roundMedians(javaRounds), roundMedians(torchRounds));
                    System.out.printf("  ratio java / pytorch (medians): %.3f%n", java.median() / torch.median());
                    if (checkLosses) {
                        if (dropout) {
                            System.out.println("  loss check skipped: the config has dropout, drawn from each process's own global generator");
                        } else {
                            List<String> a = new ArrayList<>(refArgs);
                            a.addAll(List.of("--init-checkpoint", weights.toString(), "--print-losses", "--warmup", "0", "--steps", "1"));
                            PyTorchReference.Run check = ref.run(a, budget);
                            System.out.println("  " + lossCheck(firstLosses, check.firstLosses()));
                        }
                    }
                }
                if (profile) printProfile(b.profile(), batch, profileTop);
            }
            return 0;
        }

        /** Seconds from this process's start (JVM launch) to now. */
        /**
         * Seconds since ./xformer started (its {@code xformer.launched}, bash's EPOCHREALTIME), else
         * since the JVM started. Not ProcessHandle's start instant: Linux derives it from a boot
         * time rounded to the second, which put start-up 0.7 s too high here.
         */
        static double sinceProcessStart() {
            double now = System.currentTimeMillis() / 1e3;
            String launched = System.getProperty("xformer.launched", "").replace(',', '.');
            try {
                if (!launched.isEmpty()) return now - Double.parseDouble(launched);
            } catch (NumberFormatException ignored) {
                // fall back to the JVM's own start
            }
            return now - java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime() / 1e3;
        }

        static String lossCheck(Map<String, Double> java, Map<String, Double> torch) {
            if (torch == null) return "loss check: the reference printed no losses";
            double worst = 0;
            StringBuilder sb = new StringBuilder();
            for (var e : java.entrySet()) {
                Double t = torch.get(e.getKey());
                if (t == null) continue;
                double rel = Math.abs(e.getValue() - t) / Math.max(Math.abs(t), 1e-12);
                worst = Math.max(worst, rel);
                sb.append(String.format(" %s %.9g/%.9g", e.getKey(), e.getValue(), t));
            }
            return String.format("loss check (first step, same weights, data and generator seeds; java/pytorch):%s -> worst relative "
                    + "difference %.2e %s", sb, worst, worst < 1e-5 ? "PASS" : "FAIL");
        }

        static void printProfile(List<Profiler.Op> ops, int batch, int top) {
            List<Profiler.Op> byCount = new ArrayList<>(ops);
            byCount.sort(java.util.Comparator.comparingLong(o -> -o.calls())); // stable: first-call order among equals
            System.out.printf("one step, batch %d (libtorch RecordFunction callbacks)%n", batch);
            System.out.printf("aten op calls (top %d by count):%n", top);
            for (var o : byCount.subList(0, Math.min(top, byCount.size())))
                System.out.printf("  %-40s %6d  self cpu %8.2f ms%n", o.name(), o.calls(), o.selfMicros() / 1e3);
            System.out.printf("total distinct ops %d, total calls %d%n", ops.size(), ops.stream().mapToLong(Profiler.Op::calls).sum());
        }

        private static String fmt(Stage1Bench.Stats s) {
            return String.format("median %.1f ms/step (IQR %.1f-%.1f, min %.1f, max %.1f, mean %.1f, n %d)", s.median(), s.q1(), s.q3(),
                    s.min(), s.max(), s.mean(), s.n());
        }

        private static String fmt(Map<String, Double> losses) {
            StringBuilder sb = new StringBuilder();
            losses.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ", ").append(k).append(' ').append(String.format("%.6f", v)));
            return sb.toString();
        }

        private static double[] concat(List<double[]> rounds) {
            return rounds.stream().flatMapToDouble(Arrays::stream).toArray();
        }

        private static String roundMedians(List<double[]> rounds) {
            StringBuilder sb = new StringBuilder();
            for (double[] r : rounds) sb.append(sb.isEmpty() ? "" : " ").append(String.format("%.1f", Stage1Bench.Stats.of(r).median()));
            return sb.toString();
        }

        private static String roundsFmt(List<Double> v) {
            StringBuilder sb = new StringBuilder();
            for (double d : v) sb.append(sb.isEmpty() ? "" : " ").append(String.format("%.2f", d));
            return sb.toString();
        }
    }

    /**
     * Per-call cost of one small op through the Java layer against the same call sequence
     * timed inside libxft: the difference is what FFM + Tensor + Scope add.
     */
    @Command(name = "ops", mixinStandardHelpOptions = true,
            description = "Per-call cost of add(16 floats) + free: Java layer vs native loop, in microseconds.")
    static final class Ops implements Callable<Integer> {
        @Option(names = "--iters", defaultValue = "1000000", description = "iterations per round")
        long iters;

        @Option(names = "--rounds", defaultValue = "7", description = "rounds; the median is reported")
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
