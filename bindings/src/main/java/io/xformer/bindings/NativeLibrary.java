package io.xformer.bindings;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds and loads libxft before any binding in {@code io.xformer.bindings.xft} is touched
 * (the generated code resolves symbols through the class loader's loaded libraries).
 *
 * <p>The load runs inside {@link SignalGuard#around}, so libraries libtorch pulls in cannot take
 * the JVM's signal handlers (libtorch 2.x with OpenMPI/UCX would otherwise crash the JVM).
 *
 * <p>Search order: the system property {@code xft.library}, the environment variable
 * {@code XFT_LIBRARY}, then {@code native-build/build/libxft.so} in the current directory,
 * the code's location, or any of their parents (a source checkout).
 */
public final class NativeLibrary {
    private static final String RELATIVE = "native-build/build/libxft.so";
    private static volatile Path loaded;

    private NativeLibrary() {}

    /** Loads libxft once; later calls return the path it was loaded from. */
    public static synchronized Path ensureLoaded() {
        if (loaded != null) return loaded;
        List<Path> tried = new ArrayList<>();
        for (Path candidate : candidates()) {
            tried.add(candidate);
            if (Files.isRegularFile(candidate)) {
                Path abs = candidate.toAbsolutePath().normalize();
                NativeEnv.applyDefaults();
                try {
                    SignalGuard.around(() -> System.load(abs.toString()));
                } catch (UnsatisfiedLinkError e) {
                    throw new UnsatisfiedLinkError("libxft at " + abs + " could not be loaded (is libtorch installed,"
                            + " or LIBTORCH_HOME's lib/ on the loader path?): " + e.getMessage());
                }
                loaded = abs;
                return abs;
            }
        }
        throw new UnsatisfiedLinkError("libxft not found; build it with `mvn -q package` (or ./xformer) or set"
                + " -Dxft.library / XFT_LIBRARY. Looked at: " + tried);
    }

    private static List<Path> candidates() {
        List<Path> out = new ArrayList<>();
        String prop = System.getProperty("xft.library");
        if (prop != null && !prop.isBlank()) return List.of(Path.of(prop));
        String env = System.getenv("XFT_LIBRARY");
        if (env != null && !env.isBlank()) return List.of(Path.of(env));
        addParents(out, Path.of("").toAbsolutePath());
        try {
            Path code = Path.of(NativeLibrary.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            addParents(out, code.toAbsolutePath());
        } catch (URISyntaxException | SecurityException | NullPointerException ignored) {
            // no code location (e.g. an exotic class loader): the other candidates remain
        }
        return out;
    }

    private static void addParents(List<Path> out, Path start) {
        for (Path p = start; p != null; p = p.getParent()) out.add(p.resolve(RELATIVE));
    }
}
