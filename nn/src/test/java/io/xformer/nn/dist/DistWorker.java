package io.xformer.nn.dist;

import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Generator;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.TorchException;
import io.xformer.nn.Torch;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One rank of a multi-process test (a separate JVM, started by {@link Ranks}). Checks its own
 * results and exits non-zero with the reason on stderr; prints "ok <scenario>" on success.
 * Arguments: scenario rank world port timeoutMillis.
 */
public final class DistWorker {
    public static void main(String[] args) throws Exception {
        String scenario = args[0];
        int rank = Integer.parseInt(args[1]), world = Integer.parseInt(args[2]), port = Integer.parseInt(args[3]);
        Duration timeout = Duration.ofMillis(Long.parseLong(args[4]));
        DistEnv env = new DistEnv(rank, rank, world, world, "127.0.0.1", port);
        try (ProcessGroup pg = ProcessGroup.init(env, ProcessGroup.Backend.GLOO, timeout); Scope s = Scope.open()) {
            switch (scenario) {
                case "collectives" -> collectives(pg);
                case "gather_grad" -> gatherGrad(pg);
                case "ddp" -> ddp(pg);
                case "dead_peer" -> deadPeer(pg);
                case "stuck_peer" -> stuckPeer(pg);
                default -> throw new IllegalArgumentException("unknown scenario " + scenario);
            }
        }
        System.out.println("ok " + scenario);
        System.out.flush();
        System.exit(0);
    }

    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError("rank check failed: " + what);
    }

    static void close(double[] got, double[] want, double tol, String what) {
        check(got.length == want.length, what + ": length " + got.length + " != " + want.length);
        for (int i = 0; i < got.length; i++)
            check(Math.abs(got[i] - want[i]) <= tol, what + "[" + i + "]: " + Arrays.toString(got) + " != " + Arrays.toString(want));
    }

    static void collectives(ProcessGroup pg) {
        int r = pg.rank(), w = pg.worldSize();
        // all-reduce: rank r holds (r+1) * [1, 2, 3]; sum is [1,2,3] * w(w+1)/2
        Tensor t = Torch.tensor(new double[] {r + 1, 2 * (r + 1), 3 * (r + 1)}, 3);
        pg.allReduce(t, ProcessGroup.Op.SUM);
        double tri = w * (w + 1) / 2.0;
        close(t.toDoubleArray(), new double[] {tri, 2 * tri, 3 * tri}, 0, "all_reduce sum");
        Tensor a = Torch.tensor(new double[] {r, 10 * r}, 2);
        pg.allReduce(a, ProcessGroup.Op.AVG);
        close(a.toDoubleArray(), new double[] {(w - 1) / 2.0, 10 * (w - 1) / 2.0}, 1e-12, "all_reduce avg");
        Tensor m = Torch.tensor(new long[] {r, -r}, 2);
        pg.allReduce(m, ProcessGroup.Op.MAX);
        check(Arrays.equals(m.toLongArray(), new long[] {w - 1, 0}), "all_reduce max " + Arrays.toString(m.toLongArray()));
        // a non-contiguous tensor is reduced in place too
        Tensor nc = Torch.tensor(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).transpose(0, 1);
        pg.allReduce(nc, ProcessGroup.Op.SUM);
        close(toD(nc.contiguous().toFloatArray()), new double[] {w, 4 * w, 2 * w, 5 * w, 3 * w, 6 * w}, 0, "all_reduce transposed");
        // broadcast from the last rank
        Tensor b = Torch.tensor(new float[] {r, r, r, r}, 2, 2);
        pg.broadcast(b, w - 1);
        close(toD(b.toFloatArray()), new double[] {w - 1, w - 1, w - 1, w - 1}, 0, "broadcast");
        // all-gather: rank r's (2, 3) rows are 100r + row*3 + col
        double[] mine = new double[6];
        for (int i = 0; i < 6; i++) mine[i] = 100 * r + i;
        Tensor g = pg.allGather(Torch.tensor(mine, 2, 3));
        check(Arrays.equals(g.shape(), new long[] {2L * w, 3}), "all_gather shape " + Arrays.toString(g.shape()));
        double[] want = new double[6 * w];
        for (int q = 0; q < w; q++) for (int i = 0; i < 6; i++) want[6 * q + i] = 100 * q + i;
        close(g.toDoubleArray(), want, 0, "all_gather");
        pg.barrier();
    }

    static double[] toD(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    // Rank q weights the gathered (2w, 3) tensor with (q+1) * (row+1): the gradient of the sum of
    // all ranks' losses w.r.t. rank r's local row i is sum_q (q+1) * (2r+i+1) = w(w+1)/2 * (2r+i+1).
    static void gatherGrad(ProcessGroup pg) {
        int r = pg.rank(), w = pg.worldSize();
        Tensor x = Torch.randn(new Generator(r), DType.F64, Device.CPU, 2, 3).requiresGrad_(true);
        Tensor g = pg.allGatherWithGrad(x);
        double[] wt = new double[2 * w * 3];
        for (int row = 0; row < 2 * w; row++) for (int c = 0; c < 3; c++) wt[row * 3 + c] = (r + 1) * (row + 1);
        g.mul(Torch.tensor(wt, 2L * w, 3)).sum().backward();
        double tri = w * (w + 1) / 2.0;
        double[] want = new double[6];
        for (int i = 0; i < 2; i++) for (int c = 0; c < 3; c++) want[i * 3 + c] = tri * (2 * r + i + 1);
        close(x.grad().toDoubleArray(), want, 1e-12, "gather-with-grad gradient of rank " + r);
        // the forward values are every rank's x in order
        Tensor all = pg.allGather(x.detach());
        close(g.detach().toDoubleArray(), all.toDoubleArray(), 0, "gather-with-grad values");
    }

    // Two linear layers; every rank starts from different weights (rank 0's must win), sees its
    // own batch, and after finish() holds the mean of the ranks' gradients, which each rank
    // recomputes alone from every rank's batch. "unused" never gets a gradient anywhere.
    static void ddp(ProcessGroup pg) {
        int r = pg.rank(), w = pg.worldSize();
        Map<String, Tensor> params = new LinkedHashMap<>();
        Generator init = new Generator(1000 + r);
        params.put("w1", Torch.randn(init, DType.F64, Device.CPU, 5, 4).requiresGrad_(true));
        params.put("b1", Torch.randn(init, DType.F64, Device.CPU, 5).requiresGrad_(true));
        params.put("unused", Torch.randn(init, DType.F64, Device.CPU, 7).requiresGrad_(true));
        params.put("w2", Torch.randn(init, DType.F64, Device.CPU, 1, 5).requiresGrad_(true));
        Tensor[] rank0 = {Torch.randn(new Generator(1000), DType.F64, Device.CPU, 5, 4)};
        try (GradientSync sync = GradientSync.create(pg, params, 32)) {  // 32 bytes: one bucket per tensor
            close(params.get("w1").toDoubleArray(), rank0[0].toDoubleArray(), 0, "w1 broadcast from rank 0");
            check(sync.bucketCount() == 4, "bucket count " + sync.bucketCount());
            for (int step = 0; step < 3; step++) {
                for (Tensor p : params.values()) p.setGradNone();
                loss(params, batch(step, r)).backward();
                sync.finish();
                // expected: mean over ranks of each rank's gradient, on detached copies
                double[][] want = new double[3][];
                String[] names = {"w1", "b1", "w2"};
                for (int q = 0; q < w; q++) {
                    Map<String, Tensor> copy = new LinkedHashMap<>();
                    for (var e : params.entrySet()) copy.put(e.getKey(), e.getValue().detach().clone().requiresGrad_(true));
                    loss(copy, batch(step, q)).backward();
                    for (int k = 0; k < 3; k++) {
                        double[] gq = copy.get(names[k]).grad().toDoubleArray();
                        if (want[k] == null) want[k] = new double[gq.length];
                        for (int i = 0; i < gq.length; i++) want[k][i] += gq[i] / w;
                    }
                }
                for (int k = 0; k < 3; k++)
                    close(params.get(names[k]).grad().toDoubleArray(), want[k], 1e-12, "step " + step + " grad " + names[k]);
                check(params.get("unused").grad() == null, "unused parameter got a gradient");
                try (var g = io.xformer.nn.Guard.noGrad()) {
                    for (Tensor p : new Tensor[] {params.get("w1"), params.get("b1"), params.get("w2")}) p.sub_(p.grad().mul(0.1));
                }
            }
            // gradient accumulation: two micro-batches, only the last backward syncs
            for (Tensor p : params.values()) p.setGradNone();
            sync.sync(false);
            loss(params, batch(10, r)).backward();
            sync.sync(true);
            loss(params, batch(11, r)).backward();
            sync.finish();
            Map<String, Tensor> copy = new LinkedHashMap<>();
            for (var e : params.entrySet()) copy.put(e.getKey(), e.getValue().detach().clone().requiresGrad_(true));
            for (int q = 0; q < w; q++) for (int micro = 10; micro < 12; micro++) loss(copy, batch(micro, q)).div(w).backward();
            for (String name : new String[] {"w1", "b1", "w2"})
                close(params.get(name).grad().toDoubleArray(), copy.get(name).grad().toDoubleArray(), 1e-12, "accumulated grad " + name);
        }
    }

    static Tensor batch(int step, int rank) {
        return Torch.randn(new Generator(7 * step + rank), DType.F64, Device.CPU, 3, 4);
    }

    static Tensor loss(Map<String, Tensor> p, Tensor x) {
        Tensor h = x.matmul(p.get("w1").transpose(0, 1)).add(p.get("b1")).tanh();  // (3, 5)
        return h.matmul(p.get("w2").transpose(0, 1)).pow(2).mean();
    }

    // Rank 1 announces it is ready and waits to be killed (SIGKILL from the test); rank 0's next
    // collective must fail quickly and name rank 1.
    static void deadPeer(ProcessGroup pg) throws Exception {
        Tensor t = Torch.ones(2);
        pg.allReduce(t, ProcessGroup.Op.SUM);
        if (pg.rank() == 1) {
            System.out.println("ready");
            System.out.flush();
            Thread.sleep(600_000);
            return;
        }
        long t0 = System.nanoTime();
        try {
            pg.allReduce(t, ProcessGroup.Op.SUM);
            throw new AssertionError("all_reduce with a dead peer succeeded");
        } catch (TorchException e) {
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.println("failed after " + secs + " s: " + e.getMessage());
            check(e.getMessage().contains("rank 1 stopped responding"), "message names rank 1: " + e.getMessage());
        }
    }

    // Rank 1 stays alive but never joins the second collective: rank 0 times out and says rank 1
    // is behind.
    static void stuckPeer(ProcessGroup pg) throws Exception {
        Tensor t = Torch.ones(2);
        pg.allReduce(t, ProcessGroup.Op.SUM);
        if (pg.rank() == 1) {
            System.out.println("ready");
            System.out.flush();
            Thread.sleep(600_000);
            return;
        }
        long t0 = System.nanoTime();
        try {
            pg.allReduce(t, ProcessGroup.Op.SUM);
            throw new AssertionError("all_reduce with a stuck peer succeeded");
        } catch (TorchException e) {
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.println("failed after " + secs + " s: " + e.getMessage());
            check(e.getMessage().contains("rank 1 (at collective 1, this rank at 2) is alive but stuck behind"),
                    "message names rank 1 as stuck: " + e.getMessage());
        }
    }
}
