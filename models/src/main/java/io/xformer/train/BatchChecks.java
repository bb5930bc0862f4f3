package io.xformer.train;

import io.xformer.nn.TorchException;

/**
 * Checks on a batch's host arrays before upload: cheap on the host, while the same check on a
 * device tensor reads values back (a host sync per check on CUDA).
 */
final class BatchChecks {
    private BatchChecks() {}

    /** Every id in [0, vocab), else an error naming the array, the position and the value. */
    static void ids(long[] ids, long vocab, String what) {
        for (int i = 0; i < ids.length; i++) {
            long v = ids[i];
            if (v < 0 || v >= vocab)
                throw new TorchException(what + ": id " + v + " at flat position " + i + " is outside the vocabulary [0, " + vocab + ")");
        }
    }
}
