package io.xformer.cli;

import io.xformer.nn.InputException;
import io.xformer.nn.TorchException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.channels.ClosedByInterruptException;

/** Exit codes by kind of failure, so that scripts can tell a typo from a full disk from libtorch. */
final class ExitCodes {
    static final int OK = 0, INTERNAL = 1, USAGE = 2, BAD_INPUT = 3, IO = 4, TORCH = 5, INTERRUPTED = 130;

    private ExitCodes() {}

    static int of(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof InterruptedException || t instanceof ClosedByInterruptException
                    || t instanceof InterruptedIOException && !(t instanceof java.net.SocketTimeoutException)) return INTERRUPTED;
        }
        if (ex instanceof InputException) return BAD_INPUT; // ConfigException included
        if (ex instanceof IllegalArgumentException) return USAGE; // flag values the parser could not judge
        if (ex instanceof IOException || ex instanceof UncheckedIOException) return IO;
        if (ex instanceof TorchException || ex instanceof OutOfMemoryError) return TORCH;
        return INTERNAL;
    }
}
