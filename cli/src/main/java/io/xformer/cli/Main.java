package io.xformer.cli;

import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "xformer", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "X-Former and BLIP-2 on libtorch: train, evaluate and inspect HuggingFace-compatible checkpoints.",
        subcommands = {TrainCommand.class, InspectCommand.class, ForwardCommand.class, GenerateCommand.class, TokenizeCommand.class,
            ParamsCommand.class, SyntheticCommand.class, CaptionCommand.class, AskCommand.class, ConvertCommand.class, PlotCommand.class,
            ScoreCommand.class, EvalCommand.class,
            BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs one command line; returns its exit code (0 ok, 2 bad input, 1 other failure). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        // One clear line for errors users cause (bad files, shapes, flags); stack traces only with XFORMER_DEBUG.
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            if (System.getenv("XFORMER_DEBUG") != null) ex.printStackTrace();
            line.getErr().println("xformer: error: " + ex.getMessage());
            return ex instanceof TorchException || ex instanceof IllegalArgumentException
                    || ex instanceof IllegalStateException ? 2 : 1;
        });
        return cl.execute(args);
    }

    static String projectVersion() {
        try (InputStream in = Main.class.getResourceAsStream("/xformer-version.properties")) {
            Properties p = new Properties();
            if (in != null) p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {
                "xformer " + projectVersion(),
                Torch.version() + (Torch.cudaIsAvailable() ? "" : " (CPU only)"),
                "java " + Runtime.version()
            };
        }
    }
}
