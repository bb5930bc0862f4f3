package io.xformer.nn.dist;

import io.xformer.nn.Tensor;

/**
 * What a loss needs from the other ranks: gathers of their batch rows and reductions.
 * {@link #LOCAL} is a job of one process, where every collective is the identity, so one
 * code path serves both.
 */
public interface Collectives {
    int rank();

    int worldSize();

    /** (B, ...) on every rank -> (worldSize * B, ...) in rank order, without gradient. */
    Tensor allGather(Tensor t);

    /** As {@link #allGather}; the gradient flows back to each rank's own rows (summed over ranks). */
    Tensor allGatherWithGrad(Tensor t);

    /** In place. */
    void allReduce(Tensor t, ProcessGroup.Op op);

    Collectives LOCAL = new Collectives() {
        @Override
        public int rank() {
            return 0;
        }

        @Override
        public int worldSize() {
            return 1;
        }

        @Override
        public Tensor allGather(Tensor t) {
            return t.detach();
        }

        @Override
        public Tensor allGatherWithGrad(Tensor t) {
            return t.view(t.shape());
        }

        @Override
        public void allReduce(Tensor t, ProcessGroup.Op op) {
            // one rank: the reduction of one value is the value
        }
    };
}
