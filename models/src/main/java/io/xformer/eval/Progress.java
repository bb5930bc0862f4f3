package io.xformer.eval;

/** Where tasks report progress; the cli draws it (a bar on a terminal, nothing otherwise). */
@FunctionalInterface
public interface Progress {
    Progress NONE = (phase, done, total) -> {};

    /** {@code done} of {@code total} units of {@code phase} are finished. */
    void update(String phase, long done, long total);
}
