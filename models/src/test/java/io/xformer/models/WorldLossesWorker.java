package io.xformer.models;

import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Generator;
import io.xformer.nn.Guard;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import io.xformer.nn.dist.DistEnv;
import io.xformer.nn.dist.GradientSync;
import io.xformer.nn.dist.ProcessGroup;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One rank of {@link WorldLossesTest}: computes the single-process losses and gradients of the
 * whole batch (every rank can, the data is seeded), then its share with {@link WorldLosses} and
 * gradient sync, and prints both as "name value" lines for the test to compare.
 * Arguments: variant itcWithGrad rank world port.
 */
public final class WorldLossesWorker {
    static final int B = 6;

    public static void main(String[] args) throws Exception {
        String variant = args[0];
        boolean withGrad = Boolean.parseBoolean(args[1]);
        int rank = Integer.parseInt(args[2]), world = Integer.parseInt(args[3]), port = Integer.parseInt(args[4]);
        int b = B / world;
        try (ProcessGroup pg = ProcessGroup.init(new DistEnv(rank, rank, world, world, "127.0.0.1", port), ProcessGroup.Backend.GLOO,
                Duration.ofSeconds(60)); Scope s = Scope.open()) {
            XFormer m = XFormerLossTest.model(variant, DType.F64);
            m.visionModel.requiresGrad(false);
            if (m.mae != null) m.mae.requiresGrad(false);
            Map<String, Tensor> params = new LinkedHashMap<>();
            m.namedParameters().forEach((k, p) -> {
                if (p.trainable()) params.put(k, p.get());
            });
            Generator g = new Generator(123);
            Tensor px = Torch.randn(g, DType.F64, Device.CPU, B, 3, 16, 16), pm = Torch.randn(g, DType.F64, Device.CPU, B, 3, 16, 16);
            Tensor noise = Torch.rand(g, DType.F64, Device.CPU, B, 4);
            Tensor ids = Torch.randint(6, 30, g, Device.CPU, B, 7);
            long[] mk = new long[B * 7];
            for (int i = 0; i < B; i++) for (int j = 0; j < 7; j++) mk[i * 7 + j] = j < 3 + i % 4 ? 1 : 0;  // 3..6 real tokens
            Tensor mask = Torch.tensor(mk, B, 7);
            // deterministic negatives in world indices: text i+1, image i+2
            long[] nt = new long[B], ni = new long[B];
            for (int i = 0; i < B; i++) {
                nt[i] = (i + 1) % B;
                ni[i] = (i + 2) % B;
            }
            // ---- the whole batch in one process ----
            XFormer.Vision v = vision(m, px, variant.equals("blip2") ? null : pm, noise);
            XFormer.Output ref = m.losses(v, pm, ids, mask, sim -> new XFormer.Negatives(Torch.tensor(nt, B), Torch.tensor(ni, B)));
            ref.loss().backward();
            Map<String, Tensor> refGrad = new LinkedHashMap<>();
            for (var e : params.entrySet()) {
                Tensor gr = e.getValue().grad();
                refGrad.put(e.getKey(), gr == null ? null : gr.clone());
                e.getValue().setGradNone();
            }
            // ---- this rank's share ----
            try (GradientSync sync = GradientSync.create(pg, params, 4096)) {
                long lo = (long) rank * b;
                Tensor lids = ids.narrow(0, lo, b), lmask = mask.narrow(0, lo, b);
                // the local batch is padded only to its own longest text, as the loader does
                long len = 0;
                for (int i = (int) lo; i < lo + b; i++) len = Math.max(len, 3 + i % 4);
                lids = lids.narrow(1, 0, len);
                lmask = lmask.narrow(1, 0, len);
                Tensor lpm = pm.narrow(0, lo, b);
                XFormer.Vision lv = vision(m, px.narrow(0, lo, b), variant.equals("blip2") ? null : lpm, noise.narrow(0, lo, b));
                XFormer.Output o = WorldLosses.losses(m, lv, lpm, lids, lmask, (i2t, t2i, off) -> new XFormer.Negatives(
                        Torch.tensor(nt, B).narrow(0, off, b), Torch.tensor(ni, B).narrow(0, off, b)), pg, withGrad);
                o.loss().backward();
                sync.finish();
                String[] names = {"loss", "loss_itc", "loss_itm", "loss_itg", "loss_rec"};
                Tensor[] mine = {o.loss(), o.lossItc(), o.lossItm(), o.lossItg(), o.lossRec()};
                Tensor[] theirs = {ref.loss(), ref.lossItc(), ref.lossItm(), ref.lossItg(), ref.lossRec()};
                for (int k = 0; k < names.length; k++) {
                    if (mine[k] == null) continue;
                    Tensor avg = mine[k].detach().clone();
                    pg.allReduce(avg, ProcessGroup.Op.AVG);
                    System.out.println(names[k] + " " + avg.item() + " " + theirs[k].item());
                }
                double worst = 0, norm = 0;
                for (var e : params.entrySet()) {
                    Tensor got = e.getValue().grad(), want = refGrad.get(e.getKey());
                    if (want == null && got == null) continue;
                    double d = got == null || want == null ? Double.POSITIVE_INFINITY : got.sub(want).abs().amax().item();
                    worst = Math.max(worst, d);
                    norm += want == null ? 0 : want.square().sum().item();
                }
                System.out.println("grad_maxdiff " + worst + " " + Math.sqrt(norm));
            }
        }
        System.out.println("ok");
        System.out.flush();
        System.exit(0);
    }

    static XFormer.Vision vision(XFormer m, Tensor px, Tensor pm, Tensor noise) {
        XFormer.Encoded e;
        try (Guard g = Guard.noGrad()) {
            e = m.encode(px, pm, pm == null ? null : noise);
        }
        return m.queries(e);
    }
}
