package io.xformer.train;

import io.xformer.nn.InputException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A training run's output folder, held exclusively for the run's lifetime.
 *
 * <ul>
 *   <li>An exclusive lock on {@code DIR/.xformer.lock} (an OS file lock, so it dies with its
 *       holder: a lock file left by a killed run is stale and simply taken over), the holder's pid
 *       written inside; a second run into the folder is refused naming that pid.
 *   <li>A folder that already holds a run (metrics.jsonl, checkpoints/, model/, eval.json) is
 *       refused without --resume, naming the two ways on; --overwrite moves the old run aside to
 *       {@code DIR.replaced-TIMESTAMP/} (nothing is deleted).
 *   <li>With --resume, the latest checkpoint is validated and its config fingerprint compared
 *       before anything is built or written.
 * </ul>
 */
public final class RunFolder implements AutoCloseable {
    public static final String LOCK = ".xformer.lock";
    static final List<String> RUN_FILES = List.of("metrics.jsonl", "checkpoints", "model", "eval.json");

    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;
    private final Checkpoints checkpoints;
    private final Path resumeFrom;
    private final List<String> configChanges;
    private final Path movedAside;

    private RunFolder(Path dir, FileChannel channel, FileLock lock, Checkpoints checkpoints, Path resumeFrom, List<String> changes,
                      Path movedAside) {
        this.dir = dir;
        this.channel = channel;
        this.lock = lock;
        this.checkpoints = checkpoints;
        this.resumeFrom = resumeFrom;
        this.configChanges = changes;
        this.movedAside = movedAside;
    }

    /** Locks dir for a run without config checks (no fingerprint stored). */
    public static RunFolder open(Path dir, boolean resume, boolean overwrite) {
        return open(dir, resume, overwrite, false, Map.of(), null);
    }

    /**
     * Locks dir and checks that the run may go there. fingerprint: the config's ({@link
     * Fingerprint#of}); configFile names the config in errors.
     */
    public static RunFolder open(Path dir, boolean resume, boolean overwrite, boolean allowConfigChange, Map<String, Object> fingerprint,
                                 Path configFile) {
        if (resume && overwrite) throw new IllegalArgumentException("--resume and --overwrite exclude each other");
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new InputException(dir + ": exists and is not a folder; pick another --output");
        FileChannel ch = null;
        try {
            Files.createDirectories(dir);
            ch = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // held by this very process (another run in this JVM)
            }
            if (lock == null) {
                String holder = holder(ch);
                ch.close();
                throw new InputException(dir + ": in use by another training run (" + holder + "); wait for it to finish, "
                        + "or train into another folder with --output DIR");
            }
            writeHolder(ch);
            Path moved = null;
            List<String> present = present(dir);
            if (!resume && !present.isEmpty()) {
                if (!overwrite)
                    throw new InputException(dir + " already holds a run (" + String.join(", ", present) + "); continue it with --resume, "
                            + "or train into a new folder with --output DIR (--overwrite starts over here, moving the old run aside)");
                moved = moveAside(dir, present);
            }
            Checkpoints ck = new Checkpoints(dir).fingerprint(fingerprint);
            Path latest = null;
            List<String> changes = List.of();
            if (resume) {
                latest = ck.latest();
                if (latest == null)
                    throw new InputException(dir + ": --resume given but there is no checkpoint to resume from (" + ck.dir().resolve("latest")
                            + " is missing); drop --resume to start a new run");
                Checkpoints.readState(latest); // validates, or offers an older checkpoint
                changes = Fingerprint.check(latest, fingerprint, allowConfigChange, configFile == null ? dir : configFile);
            }
            return new RunFolder(dir, ch, lock, ck, latest, changes, moved);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new UncheckedIOException(dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    /**
     * As {@link #open(Path, boolean, boolean, boolean, Map, Path)} for one rank of world: rank 0
     * alone locks, checks, moves aside and validates while the others wait; all ranks then learn
     * in one all-reduce whether it succeeded, so a refusal stops every rank (rank 0 throws its
     * error, the others one pointing at it) instead of leaving them waiting in a collective. The
     * other ranks hold no lock: they follow rank 0's folder, resuming from the checkpoint it validated.
     */
    public static RunFolder open(Path dir, boolean resume, boolean overwrite, boolean allowConfigChange, Map<String, Object> fingerprint,
                                 Path configFile, World world) {
        if (world.size() == 1) return open(dir, resume, overwrite, allowConfigChange, fingerprint, configFile);
        RunFolder main = null;
        RuntimeException failed = null;
        if (world.isMain()) {
            try {
                main = open(dir, resume, overwrite, allowConfigChange, fingerprint, configFile);
            } catch (RuntimeException e) {
                failed = e;
            }
        }
        if (!world.allAgree(failed == null)) {
            if (main != null) main.close();
            if (failed != null) throw failed;
            throw new InputException(dir + ": the run folder was refused on rank 0 (its error says why)");
        }
        if (main != null) return main;
        Checkpoints ck = new Checkpoints(dir).fingerprint(fingerprint);
        return new RunFolder(dir, null, null, ck, resume ? ck.latest() : null, List.of(), null);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            if (ch != null) ch.close(); // releases the lock
        } catch (IOException ignored) {
            // nothing more to release
        }
    }

    private static String holder(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(256);
        ch.read(b, 0);
        String s = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
        return s.isEmpty() ? "holder unknown" : s;
    }

    private static void writeHolder(FileChannel ch) throws IOException {
        ch.truncate(0);
        String who = "pid " + ProcessHandle.current().pid() + ", since " + Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        ch.write(ByteBuffer.wrap(who.getBytes(StandardCharsets.UTF_8)), 0);
        ch.force(false);
    }

    static List<String> present(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        for (String f : RUN_FILES) {
            Path p = dir.resolve(f);
            if (!Files.exists(p)) continue;
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.list(p)) {
                    if (s.findAny().isEmpty()) continue;
                }
            }
            out.add(f + (Files.isDirectory(p) ? "/" : ""));
        }
        return out;
    }

    /** Moves the run's files (not the lock) to a sibling folder named by the time; returns it. */
    private static Path moveAside(Path dir, List<String> present) throws IOException {
        String stamp = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC).format(Instant.now());
        Path aside = dir.resolveSibling(dir.getFileName() + ".replaced-" + stamp);
        for (int i = 2; Files.exists(aside); i++) aside = dir.resolveSibling(dir.getFileName() + ".replaced-" + stamp + "-" + i);
        Files.createDirectories(aside);
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                if (p.getFileName().toString().equals(LOCK)) continue;
                Files.move(p, aside.resolve(p.getFileName()));
            }
        }
        return aside;
    }

    public Path dir() {
        return dir;
    }

    /** Checkpoints of this folder, writing the run's fingerprint into each. */
    public Checkpoints checkpoints() {
        return checkpoints;
    }

    /** The validated checkpoint a --resume continues from (null for a new run). */
    public Path resumeFrom() {
        return resumeFrom;
    }

    /** "key: old -> new" for each setting changed since the checkpoint (--allow-config-change). */
    public List<String> configChanges() {
        return configChanges;
    }

    /** Where --overwrite moved the previous run, or null. */
    public Path movedAside() {
        return movedAside;
    }

    /** Records accepted config changes in metrics.jsonl at the resumed step. */
    public void recordConfigChange(Path metricsFile, long step) throws IOException {
        MetricsFile.recordConfigChange(metricsFile, step, configChanges);
    }

    @Override
    public void close() {
        if (channel == null) return; // a rank other than 0 holds no lock
        try {
            if (channel.isOpen()) channel.truncate(0);
        } catch (IOException ignored) {
            // the lock goes with the channel either way
        }
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        closeQuietly(channel);
    }
}
