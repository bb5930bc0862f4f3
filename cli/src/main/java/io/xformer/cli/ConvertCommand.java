package io.xformer.cli;

import io.xformer.hf.HfCheckpoint;
import io.xformer.hf.SafetensorsExport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Rewrites a checkpoint (PyTorch pickles, LAVIS .pth, sharded or not) as a safetensors model folder. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Write the safetensors equivalent of a model folder or weights file (pytorch_model.bin[.index.json], "
                + "a torch.save .pth/.bin, safetensors); LAVIS names become transformers' names.")
final class ConvertCommand implements Callable<Integer> {
    @Option(names = "--to", required = true, paramLabel = "FORMAT", description = "output format: safetensors")
    String to;

    @Option(names = "--state-key", paramLabel = "KEY", description = "dict of a torch.save training checkpoint holding the state dict")
    String stateKey;

    @Option(names = "--max-shard-size", defaultValue = "5GB", paramLabel = "SIZE",
            description = "shard above this size, with model.safetensors.index.json (default ${DEFAULT-VALUE})")
    String maxShardSize;

    @Parameters(index = "0", paramLabel = "DIR|FILE", description = "model folder, weights file or ORG/NAME[@REV] in the HF cache")
    Path source;

    @Parameters(index = "1", paramLabel = "OUT", description = "output folder")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (!to.equals("safetensors")) throw new IllegalArgumentException("--to " + to + ": only 'safetensors' is supported");
        long limit = SafetensorsExport.parseSize(maxShardSize);
        long t0 = System.nanoTime();
        try (HfCheckpoint c = HfCheckpoint.open(source, stateKey)) {
            List<Path> files = SafetensorsExport.write(c, out, limit);
            long bytes = 0;
            for (Path f : files) bytes += Files.size(f);
            System.out.printf("converted %d tensors from %d file(s)%s into %s: %d file(s), %.2f MB, %.1f s%n", c.names().size(),
                    c.files().size(), c.isLavis() ? " (LAVIS names mapped to transformers')" : "", out, files.size(), bytes / 1e6,
                    (System.nanoTime() - t0) / 1e9);
            for (Path f : files) System.out.println("  " + f.getFileName());
        }
        return 0;
    }
}
