package io.xformer.cli;

import io.xformer.train.Stage1Trainer;
import io.xformer.train.TrainConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Stage-1 training (ITC + ITM + ITG + MAE reconstruction); writes DIR/metrics.jsonl, DIR/checkpoints/, DIR/model/.")
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE")
    Path config;

    @Option(names = "--stage", defaultValue = "1", description = "training stage (stage 1 is implemented)")
    int stage;

    @Option(names = "--output", defaultValue = "runs/train", paramLabel = "DIR", description = "run folder (default ${DEFAULT-VALUE})")
    Path output;

    @Option(names = "--max-steps", paramLabel = "N", description = "override train.max_steps")
    Long maxSteps;

    @Option(names = "--resume", description = "continue from DIR/checkpoints/latest")
    boolean resume;

    @Option(names = "--stop-after", paramLabel = "N",
            description = "stop after step N with a checkpoint (the schedule still spans max_steps); continue with --resume")
    Long stopAfter;

    // ---- distributed (issue 10): --nproc spawns local workers; see Launcher ----
    @Option(names = "--nproc", paramLabel = "N", description = "run N local worker processes, one rank each (Gloo on CPU, NCCL on CUDA)")
    Integer nproc;

    @Option(names = "--nnodes", defaultValue = "1", paramLabel = "M", description = "machines in the job, each running --nproc workers (default 1)")
    int nnodes;

    @Option(names = "--node-rank", defaultValue = "0", paramLabel = "K", description = "this machine's index, 0..nnodes-1 (node 0 hosts the rendezvous)")
    int nodeRank;

    @Option(names = "--master-addr", defaultValue = "127.0.0.1", paramLabel = "HOST", description = "node 0's address (default ${DEFAULT-VALUE})")
    String masterAddr;

    @Option(names = "--master-port", paramLabel = "PORT", description = "rendezvous port on node 0 (default: a free port; required with --nnodes > 1)")
    Integer masterPort;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (nproc != null) {
            var launch = new Launcher.Spec(nproc, nnodes, nodeRank, masterAddr, masterPort);
            return Launcher.launch(launch, Launcher.sameJavaCommand(spec.commandLine().getParseResult().originalArgs()), System.out);
        }
        if (stage != 1) throw new IllegalArgumentException("--stage " + stage + " is not implemented yet (stage 1 is)");
        TrainConfig cfg = TrainConfig.load(config);
        Stage1Trainer.Result r = Stage1Trainer.run(cfg, output, maxSteps, stopAfter, resume, System.console() != null);
        if (r.modelDir() == null) {
            System.out.println("stopped after step " + r.steps() + "; continue with --resume; skipped images: " + r.skipped());
            return 0;
        }
        System.out.println("trained " + r.steps() + " steps; model saved to " + r.modelDir() + "; skipped images: " + r.skipped());
        if (!r.retrieval().isEmpty())
            System.out.printf("held-out retrieval over %.0f pairs: image->text R@1 %.3f, text->image R@1 %.3f (chance %.3f)%n",
                    r.retrieval().get("pairs"), r.retrieval().get("i2t_r1"), r.retrieval().get("t2i_r1"), r.retrieval().get("chance_r1"));
        return 0;
    }
}
