package io.xformer.train;

import java.nio.file.Path;

/** Child process of the lock test: holds a run folder until killed. */
public final class LockMain {
    public static void main(String[] args) throws Exception {
        RunFolder f = RunFolder.open(Path.of(args[0]), false, false);
        System.out.println("locked");
        System.out.flush();
        Thread.sleep(600_000);
        f.close();
    }
}
