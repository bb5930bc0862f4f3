package io.xformer.train;

import io.xformer.models.XFormer;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import io.xformer.nn.dist.DistEnv;
import io.xformer.nn.dist.ProcessGroup;
import io.xformer.text.Tokenizer;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Stage-1 training as one rank (or, with world 1, one process), ITM negatives by a fixed rule:
 * global row g pairs with text g+1 and image g+2 (mod the global batch).
 * Arguments: config outDir steps rank world port.
 */
public final class DistTrainMain {
    public static void main(String[] args) throws Exception {
        Path cfgFile = Path.of(args[0]), out = Path.of(args[1]);
        long steps = Long.parseLong(args[2]);
        int rank = Integer.parseInt(args[3]), world = Integer.parseInt(args[4]), port = Integer.parseInt(args[5]);
        ProcessGroup pg = world == 1 ? null
                : ProcessGroup.init(new DistEnv(rank, rank, world, world, "127.0.0.1", port), ProcessGroup.Backend.GLOO, Duration.ofSeconds(60));
        try {
            train(TrainConfig.load(cfgFile), out, steps, World.of(pg));
        } finally {
            if (pg != null) pg.close();
        }
        System.exit(0);
    }

    static void train(TrainConfig cfg, Path out, long steps, World world) throws Exception {
        int globalBatch = cfg.train().batchSize();
        try (Scope root = Scope.open(); Tokenizer tok = Tokenizer.open(cfg.tokenizer());
             Stage1Objective obj = new Stage1Objective(cfg, tok, world)) {
            obj.useNegatives((i2t, t2i, off) -> {
                long b = i2t.size(0);
                long[] nt = new long[(int) b], ni = new long[(int) b];
                for (int i = 0; i < b; i++) {
                    nt[i] = (off + i + 1) % globalBatch;
                    ni[i] = (off + i + 2) % globalBatch;
                }
                return new XFormer.Negatives(Torch.tensor(nt, b), Torch.tensor(ni, b));
            });
            TrainLoop.run(cfg.train(), out, steps, null, false, obj, Stage1Objective.data(cfg, tok, world), TrainListener.SILENT, world);
        }
    }
}
