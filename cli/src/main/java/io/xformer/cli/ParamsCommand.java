package io.xformer.cli;

import io.xformer.train.ParamCount;
import io.xformer.train.TrainConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "params", mixinStandardHelpOptions = true,
        description = "Trainable and frozen parameter counts of a config's model, computed without allocating weights.")
final class ParamsCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "training config (JSON) whose model is counted")
    Path config;

    @Option(names = "--stage", defaultValue = "1", paramLabel = "1|2|vqa",
            description = "1 (Q-Former pre-training), 2 (with the language model) or vqa (VQA fine-tuning)")
    String stage;

    @Option(names = "--json", description = "print {\"trainable\": N, \"frozen\": M}")
    boolean json;

    @Override
    public Integer call() {
        ParamCount.Counts c = ParamCount.of(TrainConfig.load(config), stage);
        if (json) System.out.println("{\"trainable\": " + c.trainable() + ", \"frozen\": " + c.frozen() + "}");
        else System.out.printf("stage %s: trainable %,d  frozen %,d%n", stage, c.trainable(), c.frozen());
        return 0;
    }
}
