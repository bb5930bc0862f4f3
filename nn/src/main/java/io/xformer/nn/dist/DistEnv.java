package io.xformer.nn.dist;

import java.util.Map;
import java.util.Optional;

/**
 * One rank's place in a job, as torchrun describes it: {@code RANK}, {@code LOCAL_RANK},
 * {@code WORLD_SIZE}, {@code LOCAL_WORLD_SIZE}, {@code MASTER_ADDR}, {@code MASTER_PORT}.
 * torchrun, Slurm scripts and {@code xformer train --nproc N} all set these.
 */
public record DistEnv(int rank, int localRank, int worldSize, int localWorldSize, String masterAddr, int masterPort) {
    public static final String[] VARIABLES = {"RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"};

    public DistEnv {
        if (worldSize < 1) throw new IllegalArgumentException("WORLD_SIZE must be >= 1, got " + worldSize);
        if (rank < 0 || rank >= worldSize)
            throw new IllegalArgumentException("RANK " + rank + " is not in 0.." + (worldSize - 1) + " (WORLD_SIZE " + worldSize + ")");
        if (localWorldSize < 1 || localWorldSize > worldSize)
            throw new IllegalArgumentException("LOCAL_WORLD_SIZE " + localWorldSize + " is not in 1..WORLD_SIZE (" + worldSize + ")");
        if (localRank < 0 || localRank >= localWorldSize)
            throw new IllegalArgumentException("LOCAL_RANK " + localRank + " is not in 0.." + (localWorldSize - 1));
        if (masterAddr == null || masterAddr.isBlank()) throw new IllegalArgumentException("MASTER_ADDR is empty");
        if (masterPort < 1 || masterPort > 65535) throw new IllegalArgumentException("MASTER_PORT " + masterPort + " is not in 1..65535");
    }

    /** A single process on its own (world size 1, loopback). */
    public static DistEnv single(int port) {
        return new DistEnv(0, 0, 1, 1, "127.0.0.1", port);
    }

    /**
     * The job described by the environment, or empty when {@code WORLD_SIZE} is unset. Once it
     * is set, every other variable must be too (LOCAL_* default to a single node).
     */
    public static Optional<DistEnv> fromEnvironment(Map<String, String> env) {
        String ws = env.get("WORLD_SIZE");
        if (ws == null || ws.isBlank()) return Optional.empty();
        int world = integer(env, "WORLD_SIZE", null);
        int rank = integer(env, "RANK", null);
        int localRank = integer(env, "LOCAL_RANK", String.valueOf(rank));
        int localWorld = integer(env, "LOCAL_WORLD_SIZE", String.valueOf(world));
        String addr = env.get("MASTER_ADDR");
        if (addr == null || addr.isBlank()) throw new IllegalArgumentException("WORLD_SIZE is set but MASTER_ADDR is not");
        int port = integer(env, "MASTER_PORT", null);
        return Optional.of(new DistEnv(rank, localRank, world, localWorld, addr.strip(), port));
    }

    private static int integer(Map<String, String> env, String name, String fallback) {
        String v = env.get(name);
        if (v == null || v.isBlank()) v = fallback;
        if (v == null) throw new IllegalArgumentException("WORLD_SIZE is set but " + name + " is not");
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + "='" + v + "' is not an integer");
        }
    }
}
