package io.xformer.nn.dist;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.TorchException;
import io.xformer.nn.Torch;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Collectives, gather-with-gradient and gradient sync across 2 JVMs over Gloo on the loopback. */
class ProcessGroupTest {
    private static void runAll(String scenario) throws Exception {
        try (Ranks r = Ranks.start(scenario, 2, 60_000)) {
            for (int rank = 0; rank < 2; rank++)
                assertEquals(0, r.await(rank, 120), "rank " + rank + " of " + scenario + "\n" + r.log());
            for (int rank = 0; rank < 2; rank++)
                assertTrue(r.lines.get(rank).contains("ok " + scenario), r.log());
        }
    }

    @Test
    void collectivesAgreeAcrossTwoProcesses() throws Exception {
        runAll("collectives");
    }

    @Test
    void gatherWithGradientSendsEachRankItsOwnSlice() throws Exception {
        runAll("gather_grad");
    }

    @Test
    void gradientSyncAveragesBucketsAndBroadcastsRankZerosWeights() throws Exception {
        runAll("ddp");
    }

    @Test
    void deadPeerFailsTheOtherRankQuicklyNamingIt() throws Exception {
        // a long collective timeout: the failure must come from the closed connection, not the timeout
        try (Ranks r = Ranks.start("dead_peer", 2, 60_000)) {
            r.awaitLine(1, "ready", 60);
            Thread.sleep(300);  // rank 0 is blocked in its second all_reduce
            long t0 = System.nanoTime();
            r.processes.get(1).destroyForcibly();  // SIGKILL
            assertEquals(0, r.await(0, 30), r.log());
            double secs = (System.nanoTime() - t0) / 1e9;
            assertTrue(secs < 20, "rank 0 took " + secs + " s to notice\n" + r.log());
            assertTrue(r.log().contains("rank 1 stopped responding"), r.log());
            System.out.println("dead peer noticed after " + secs + " s:\n" + r.log());
        }
    }

    @Test
    void stuckPeerTimesOutNamingIt() throws Exception {
        try (Ranks r = Ranks.start("stuck_peer", 2, 3_000)) {
            r.awaitLine(1, "ready", 60);
            assertEquals(0, r.await(0, 40), r.log());
            assertTrue(r.log().contains("is alive but stuck behind"), r.log());
            System.out.println(r.log());
        }
    }

    @Test
    void portInUseIsAClearError() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            DistEnv env = new DistEnv(0, 0, 2, 2, "127.0.0.1", taken.getLocalPort());
            TorchException e = assertThrows(TorchException.class,
                    () -> ProcessGroup.init(env, ProcessGroup.Backend.GLOO, Duration.ofSeconds(5)));
            assertTrue(e.getMessage().contains("port " + taken.getLocalPort()) && e.getMessage().contains("already in use"),
                    e.getMessage());
        }
    }

    @Test
    void singleRankCollectivesAreIdentities() throws Exception {
        try (ProcessGroup pg = ProcessGroup.init(DistEnv.single(Ranks.freePort()), ProcessGroup.Backend.GLOO, Duration.ofSeconds(20));
             Scope s = Scope.open()) {
            Tensor t = Torch.tensor(new double[] {1, 2, 3}, 3);
            pg.allReduce(t, ProcessGroup.Op.AVG);
            assertArrayEquals(new double[] {1, 2, 3}, t.toDoubleArray());
            Tensor x = Torch.randn(2, 3).requiresGrad_(true);
            Tensor g = pg.allGatherWithGrad(x);
            assertArrayEquals(x.detach().toFloatArray(), g.detach().toFloatArray());
            g.mul(2.0).sum().backward();
            assertArrayEquals(new float[] {2, 2, 2, 2, 2, 2}, x.grad().toFloatArray());
            pg.barrier();
            assertThrows(TorchException.class, () -> pg.allGather(Torch.scalar(1, DType.F32)));
            assertThrows(TorchException.class, () -> pg.broadcast(Torch.ones(2), 3));
        }
    }

    @Test
    void environmentVariablesDescribeTheJob() {
        assertTrue(DistEnv.fromEnvironment(Map.of()).isEmpty());
        DistEnv e = DistEnv.fromEnvironment(Map.of("WORLD_SIZE", "4", "RANK", "3", "LOCAL_RANK", "1", "LOCAL_WORLD_SIZE", "2",
                "MASTER_ADDR", "node0", "MASTER_PORT", "29500")).orElseThrow();
        assertEquals(new DistEnv(3, 1, 4, 2, "node0", 29500), e);
        var bad = assertThrows(IllegalArgumentException.class,
                () -> DistEnv.fromEnvironment(Map.of("WORLD_SIZE", "2", "RANK", "2", "MASTER_ADDR", "x", "MASTER_PORT", "1")));
        assertTrue(bad.getMessage().contains("RANK 2"), bad.getMessage());
        var missing = assertThrows(IllegalArgumentException.class, () -> DistEnv.fromEnvironment(Map.of("WORLD_SIZE", "2", "RANK", "0")));
        assertTrue(missing.getMessage().contains("MASTER_ADDR"), missing.getMessage());
    }
}
