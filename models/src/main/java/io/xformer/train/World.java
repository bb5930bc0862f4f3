package io.xformer.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Parameter;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;
import io.xformer.nn.dist.Collectives;
import io.xformer.nn.dist.GradientSync;
import io.xformer.nn.dist.ProcessGroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The ranks a training run is spread over (DESIGN.md "Distributed"); {@link #SINGLE} is one
 * process. train.batch_size is the global batch: each of the N ranks reads its slice of B/N of
 * every global batch, so a run gives the same steps whatever N (up to random draws, see
 * {@link #checkResume}). Rank 0 alone writes metrics, checkpoints and the final model.
 */
public final class World {
    public static final World SINGLE = new World(null);
    static final String FILE = "world.json";

    private final ProcessGroup group;

    private World(ProcessGroup group) {
        this.group = group;
    }

    /** A run over group's ranks (the caller keeps and closes the group); null means one process. */
    public static World of(ProcessGroup group) {
        return new World(group);
    }

    public int rank() {
        return group == null ? 0 : group.rank();
    }

    public int size() {
        return group == null ? 1 : group.worldSize();
    }

    public boolean isMain() {
        return rank() == 0;
    }

    public Collectives collectives() {
        return group == null ? Collectives.LOCAL : group;
    }

    /** This rank's share of the global batch. */
    public int localBatch(int globalBatch, Path config) {
        if (globalBatch % size() != 0)
            throw new io.xformer.nn.ConfigException(config + ": train.batch_size " + globalBatch + " (the global batch) does not divide by the "
                    + size() + " ranks");
        return globalBatch / size();
    }

    /**
     * The seed of this rank's dropout stream: rank 0 keeps the single-process one, the others are
     * salted so that ranks do not draw the same masks on different data (as LAVIS seeds seed + rank).
     */
    public long rankSeed(long seed) {
        return rank() == 0 ? seed : TrainLoop.mix(seed, 0x5EED0000L + rank());
    }

    /** Gradient averaging over the ranks (rank 0's weights broadcast first); null in one process. */
    public GradientSync gradientSync(Map<String, Parameter> trainable) {
        if (size() == 1) return null;
        Map<String, Tensor> ts = new LinkedHashMap<>();
        trainable.forEach((k, p) -> ts.put(k, p.get()));
        return GradientSync.create(group, ts, GradientSync.DEFAULT_BUCKET_BYTES);
    }

    /** The mean over ranks of each (scalar) value, in one all-reduce. */
    public Map<String, Double> mean(Map<String, Tensor> values) {
        Map<String, Double> out = new LinkedHashMap<>();
        if (size() == 1) {
            values.forEach((k, v) -> out.put(k, v.item()));
            return out;
        }
        Tensor[] parts = values.values().stream().map(v -> v.detach().reshape(1).to(DType.F64)).toArray(Tensor[]::new);
        Tensor all = Torch.cat(0, parts).to(group.device());
        group.allReduce(all, ProcessGroup.Op.AVG);
        double[] d = all.to(Device.CPU).toDoubleArray();
        int i = 0;
        for (String k : values.keySet()) out.put(k, d[i++]);
        return out;
    }

    /** True on every rank when ok is true on every rank (one all-reduce); ok itself in one process. */
    public boolean allAgree(boolean ok) {
        if (size() == 1) return ok;
        try (io.xformer.nn.Scope s = io.xformer.nn.Scope.open()) {
            return mean(Map.of("ok", Torch.scalar(ok ? 1 : 0, io.xformer.nn.DType.F64))).get("ok") > 0.999999;
        }
    }

    public void barrier() {
        if (group != null) group.barrier();
    }

    /** Rank 0 records the run's world size at a fresh start. */
    void recordSize(Path runDir) throws IOException {
        if (isMain()) Files.writeString(runDir.resolve(FILE), "{\"world_size\": " + size() + "}\n");
    }

    /**
     * Resuming needs the world size the run started with: ITM negatives, dropout masks and (with
     * LAVIS's gradient-free ITC gather) the gradients depend on how the batch is split.
     */
    void checkResume(Path runDir) throws IOException {
        Path f = runDir.resolve(FILE);
        int was = Files.isRegularFile(f) ? new ObjectMapper().readTree(f.toFile()).path("world_size").asInt(1) : 1;
        if (was != size())
            throw new io.xformer.nn.InputException(runDir + ": the run was started on " + was + " rank(s), this resume has " + size()
                    + "; a resume is exact only on the same number of ranks (random draws and, with LAVIS's ITC gather,"
                    + " gradients depend on how the batch is split); resume with " + (was == 1 ? "no --nproc" : "--nproc " + was)
                    + " or start a new run");
    }
}
