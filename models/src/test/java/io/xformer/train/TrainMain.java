package io.xformer.train;

import java.nio.file.Path;

/** Entry point for the kill test's child process: train CONFIG into DIR (resuming if asked). */
public final class TrainMain {
    public static void main(String[] args) throws Exception {
        Training.run(TrainConfig.load(Path.of(args[0])), "1", Path.of(args[1]), null, null, args.length > 2, TrainListener.SILENT);
    }
}
