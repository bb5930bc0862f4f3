package io.xformer.cli;

import io.xformer.nn.Torch;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "xformer", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "X-Former and BLIP-2 on libtorch: train, evaluate and inspect HuggingFace-compatible checkpoints.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:internal error (a bug: please report it with XFORMER_DEBUG=1)",
            "2:usage (unknown option, bad flag value)", "3:bad input or config (the message names the file, field or tensor)",
            "4:I/O error (disk full, unreadable file)", "5:libtorch error (out of memory included)", "130:interrupted"})
public final class Main {
    /**
     * The subcommands, in help order. They are registered on demand ({@link #commandLine}):
     * picocli's model of all of them took ~0.3 s of every run's start-up, of the one named a
     * few milliseconds.
     */
    static final List<Class<?>> COMMANDS = List.of(TrainCommand.class, InspectCommand.class, ForwardCommand.class,
            GenerateCommand.class, TokenizeCommand.class, ParamsCommand.class, SyntheticCommand.class, CaptionCommand.class,
            AskCommand.class, ConvertCommand.class, PlotCommand.class, ScoreCommand.class, EvalCommand.class, BenchCommand.class,
            CommandLine.HelpCommand.class);

    public static void main(String[] args) {
        int code = run(args);
        if (code == 0) markStartUpRecordUsable();
        System.exit(code);
    }

    /**
     * ./xformer's start-up cache is assembled from a recording run's class list only when that
     * run succeeded (a usage error records a fraction of the classes): the mark says so.
     */
    private static void markStartUpRecordUsable() {
        String mark = System.getProperty("xformer.aot.ok");
        if (mark == null || mark.isBlank()) return;
        try {
            java.nio.file.Files.writeString(java.nio.file.Path.of(mark), "");
        } catch (IOException | RuntimeException ignored) {
            // no cache next time; nothing else depends on it
        }
    }

    /**
     * The command line for {@code args}: when the first argument names a subcommand (other than
     * help), only that one is built; otherwise (no argument, an option, help, a typo) all are,
     * so that usage, help and picocli's suggestions list them.
     */
    static CommandLine commandLine(String... args) {
        CommandLine cl = new CommandLine(new Main());
        String first = args.length > 0 ? args[0] : "";
        for (Class<?> c : COMMANDS) {
            String name = c.getAnnotation(Command.class).name();
            if (!first.equals(name) || name.equals("help")) continue;
            cl.addSubcommand(name, newCommand(c));
            return cl;
        }
        for (Class<?> c : COMMANDS) cl.addSubcommand(c.getAnnotation(Command.class).name(), newCommand(c));
        return cl;
    }

    private static Object newCommand(Class<?> c) {
        try {
            var ctor = c.getDeclaredConstructor();
            ctor.setAccessible(true);
            return ctor.newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot create the " + c.getSimpleName() + " command", e);
        }
    }

    /** Runs one command line; returns its exit code ({@link ExitCodes}). */
    public static int run(String... args) {
        CommandLine cl = commandLine(args);
        showDefaults(cl);
        // One clear line for errors users cause (bad files, shapes, flags); stack traces only with XFORMER_DEBUG.
        cl.setExecutionExceptionHandler((ex, line, parsed) -> report(ex, line.getErr()));
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            return report(e, cl.getErr());
        }
    }

    /** "Default: X" under every option that has one, in every command's help. */
    private static void showDefaults(CommandLine cl) {
        cl.getCommandSpec().usageMessage().showDefaultValues(true);
        cl.getSubcommands().values().forEach(Main::showDefaults);
    }

    private static int report(Throwable ex, java.io.PrintWriter err) {
        if (System.getenv("XFORMER_DEBUG") != null) ex.printStackTrace();
        String msg = ex.getMessage();
        if (ex instanceof OutOfMemoryError) msg = "out of Java heap memory (" + msg + "); give the JVM more with -Xmx or use smaller inputs";
        else if (msg == null) msg = ex.getClass().getSimpleName();
        int code = ExitCodes.of(ex);
        if (code == ExitCodes.INTERNAL) msg = ex.getClass().getSimpleName() + ": " + msg;
        err.println("xformer: error: " + msg);
        err.flush();
        return code;
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
