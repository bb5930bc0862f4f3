package io.xformer.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Training curves of one or more runs as one PNG: a panel per loss term, lr and img/s. */
@Command(name = "plot", mixinStandardHelpOptions = true,
        description = "Plot each loss term, the learning rate and img/s against step from RUN_DIR/metrics.jsonl; "
                + "several runs are overlaid, one colour each.")
final class PlotCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "RUN_DIR", description = "training output folders (each with metrics.jsonl)")
    List<Path> runs = new ArrayList<>();

    @Option(names = "--out", paramLabel = "FILE.png", description = "image to write (default: RUN_DIR/curves.png of the first run)")
    Path out;

    @Option(names = "--width", defaultValue = "1400", description = "image width in pixels (default ${DEFAULT-VALUE})")
    int width;

    @Override
    public Integer call() throws Exception {
        Path png = out != null ? out : runs.get(0).resolve("curves.png");
        List<RunCurves.Run> loaded = new ArrayList<>();
        for (Path r : runs) loaded.add(RunCurves.read(r));
        RunCurves.Figure f = RunCurves.write(loaded, png, width);
        System.out.printf("wrote %s (%dx%d px): %d panels (%s), %d run(s)%n", png, f.width(), f.height(), f.panels().size(),
                String.join(", ", f.panels()), loaded.size());
        return 0;
    }

    /** The line a finished training run prints so that its curves are one command away. */
    public static String hint(Path runDir) {
        return "plot the curves: ./xformer plot " + runDir + " --out " + runDir.resolve("curves.png");
    }
}
