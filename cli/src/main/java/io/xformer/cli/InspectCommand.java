package io.xformer.cli;

import io.xformer.hf.HfCheckpoint;
import io.xformer.nn.DType;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** Loads a HuggingFace checkpoint folder through libtorch and summarises it. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Load a HuggingFace model folder (single-file or sharded safetensors) and print a summary.")
final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL_DIR", description = "folder with config.json and model.safetensors[.index.json]")
    Path dir;

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        try (Scope s = Scope.open(); HfCheckpoint ckpt = HfCheckpoint.open(dir)) {
            Map<String, long[]> byPrefix = new TreeMap<>();
            Map<DType, Integer> byDtype = new TreeMap<>();
            long params = 0;
            double absSum = 0;
            for (String name : ckpt.names()) {
                HfCheckpoint.Entry e = ckpt.entry(name);
                String prefix = name.contains(".") ? name.substring(0, name.indexOf('.')) : name;
                long[] acc = byPrefix.computeIfAbsent(prefix, k -> new long[2]);
                acc[0]++;
                acc[1] += e.numel();
                params += e.numel();
                byDtype.merge(e.dtype(), 1, Integer::sum);
                try (Scope inner = Scope.open()) {
                    Tensor t = ckpt.get(name);
                    absSum += t.to(DType.F64).abs().sum().item();
                }
            }
            long bytes = 0;
            for (Path f : ckpt.files()) bytes += Files.size(f);
            System.out.printf("model        %s%n", dir);
            System.out.printf("architecture %s (model_type %s)%n", ckpt.architecture(),
                    ckpt.config().path("model_type").asText("?"));
            System.out.printf("files        %d weight file(s), %.2f MB%n", ckpt.files().size(), bytes / 1e6);
            System.out.printf("tensors      %d  %s%n", ckpt.names().size(), byDtype);
            System.out.printf("parameters   %,d%n", params);
            for (var e : byPrefix.entrySet())
                System.out.printf("  %-28s %5d tensors %,14d%n", e.getKey(), e.getValue()[0], e.getValue()[1]);
            System.out.printf("sum |w|      %.6f (float64, computed by %s)%n", absSum, Torch.version());
            System.out.printf("loaded in    %.1f ms%n", (System.nanoTime() - t0) / 1e6);
        }
        return 0;
    }
}
