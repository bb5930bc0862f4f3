package io.xformer.train;

import java.nio.file.Path;

/** Entry point for the kill tests' child process: train CONFIG into DIR [STAGE] [resume]. */
public final class TrainMain {
    public static void main(String[] args) throws Exception {
        String stage = args.length > 2 ? args[2] : "1";
        Training.run(TrainConfig.load(Path.of(args[0])), stage, Path.of(args[1]), null, null, args.length > 3, TrainListener.SILENT);
    }
}
