package io.xformer.nn;

/** Test helper: a live-handle baseline that tensors dropped by earlier tests cannot move. */
final class Live {
    private Live() {}

    /** Collects garbage until the Cleaner has freed every unreachable tensor, then returns the count. */
    static long settled() {
        long prev = -1, now = Torch.liveTensors();
        for (int i = 0; i < 50 && now != prev; i++) {
            System.gc();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            prev = now;
            now = Torch.liveTensors();
        }
        return now;
    }
}
