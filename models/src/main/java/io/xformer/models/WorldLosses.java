package io.xformer.models;

import io.xformer.nn.DType;
import io.xformer.nn.F;
import io.xformer.nn.Generator;
import io.xformer.nn.Guard;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;
import io.xformer.nn.dist.Collectives;
import io.xformer.nn.dist.ProcessGroup;

/**
 * The stage-1 losses of a batch split over ranks (DESIGN.md "Distributed"), as LAVIS's
 * Blip2Qformer computes them: ITC of the local queries against every rank's texts and of the
 * local texts against every rank's queries; ITM negatives drawn from those similarities over the
 * whole world batch, negative image embeddings gathered with gradient; ITG and reconstruction on
 * the local rows. Each rank's loss is scaled so that the mean over ranks (what gradient averaging
 * differentiates) is the loss of the whole batch in one process: ITG divides by the world's
 * token count. In one process this is exactly {@link XFormer#losses}.
 *
 * <p>{@code itcWithGrad}: LAVIS gathers the ITC features without gradient, so a rank's ITC
 * gradient misses the terms through the other ranks' rows; with gradient (summed back to the
 * owning rank) the step equals the single-process step.
 */
public final class WorldLosses {
    /** How the local rows' ITM negatives are chosen, as indices into the world batch (text and image, each (b)). */
    @FunctionalInterface
    public interface NegativeRule {
        /** simI2t, simT2i: (b, world * b); the local rows' positives are at columns offset + i. */
        XFormer.Negatives pick(Tensor simI2t, Tensor simT2i, long offset);
    }

    private WorldLosses() {}

    public static XFormer.Output losses(XFormer m, XFormer.Vision v, Tensor pixelsMae, Tensor ids, Tensor mask, NegativeRule negatives,
                                        Collectives world, boolean itcWithGrad) {
        if (world.worldSize() == 1)
            return m.losses(v, pixelsMae, ids, mask, sim -> negatives.pick(sim, sim.transpose(0, 1), 0));
        try (Scope s = Scope.open()) {
            long b = ids.size(0), offset = world.rank() * b;
            Tensor cls = m.textCls(ids, mask);                                            // (b, D)
            Tensor img = m.heads.imageFeatures(v.zPrime());                              // (b, Q, E)
            Tensor txt = m.heads.textFeatures(cls);                                      // (b, E)
            Tensor imgAll = itcWithGrad ? world.allGatherWithGrad(img) : world.allGather(img);  // (W b, Q, E)
            Tensor txtAll = itcWithGrad ? world.allGatherWithGrad(txt) : world.allGather(txt);  // (W b, E)
            Tensor temp = m.temp.get();
            Tensor simI2t = Blip2Heads.itcLogits(img, txtAll).div(temp);                 // (b, W b)
            Tensor simT2i = Blip2Heads.itcLogits(imgAll, txt).transpose(0, 1).div(temp); // (W b, b) -> (b, W b)
            Tensor target = Torch.arange(offset, offset + b, 1, DType.I64, ids.device());
            double ls = m.cfg.labelSmoothing();
            Tensor lItc = F.crossEntropy(simI2t, target, null, F.Reduction.MEAN, F.IGNORE_INDEX, ls)
                    .add(F.crossEntropy(simT2i, target, null, F.Reduction.MEAN, F.IGNORE_INDEX, ls)).div(2);

            XFormer.Negatives neg = negatives.pick(simI2t, simT2i, offset);
            // every rank pads its text to the world's longest so rows can be gathered
            long[] len = {ids.size(1)};
            try (Tensor l = Torch.tensor(len, 1).to(ids.device())) {
                world.allReduce(l, ProcessGroup.Op.MAX);
                len[0] = l.itemLong();
            }
            Tensor idsP = pad(ids, len[0]), maskP = pad(mask, len[0]);                   // (b, L)
            Tensor idsNeg = world.allGather(idsP).indexSelect(0, neg.text());                // (b, L)
            Tensor maskNeg = world.allGather(maskP).indexSelect(0, neg.text());
            Tensor clipNeg = world.allGatherWithGrad(v.clip()).indexSelect(0, neg.image());  // (b, S, Dv)
            Tensor m2Neg = v.m2() == null ? null : world.allGatherWithGrad(v.m2()).indexSelect(0, neg.image());
            Tensor itm = itmLogits(m, v, clipNeg, m2Neg, idsP, maskP, idsNeg, maskNeg);
            Tensor lItm = m.itmLoss(itm);

            Tensor itg = m.itgLogits(v, ids, mask);
            Tensor lItg = itgLoss(itg, ids, mask, m.cfg.labelSmoothing(), world);
            Tensor loss = lItc.add(lItm).add(lItg);
            Tensor projected = null, rec = null, lRec = null;
            if (m.block != null) {
                projected = m.block.projOut.forward(v.m2()); // M' = W_out m2, the decoder's input
                rec = m.mae.decoder.forward(projected, v.mae().idsRestore()); // (b, N, p*p*C)
                lRec = m.mae.loss(pixelsMae, rec, v.mae().mask());  // the same masked-patch count on every rank
                loss = loss.add(lRec);
            }
            return s.keepAll(new XFormer.Output(null, cls, simI2t, itm, itg, projected, rec, lItc, lItm, lItg, lRec, loss));
        }
    }

    private static Tensor pad(Tensor t, long len) {
        long l = t.size(1);
        if (l == len) return t;
        return Torch.cat(1, t, Torch.zeros(t.dtype(), t.device(), t.size(0), len - l));
    }

    /** ITM logits (3b, 2) over images [i, neg, i] x texts [i, i, neg], negatives given as embeddings and token rows. */
    static Tensor itmLogits(XFormer m, XFormer.Vision v, Tensor clipNeg, Tensor m2Neg, Tensor ids, Tensor mask, Tensor idsNeg,
                            Tensor maskNeg) {
        try (Scope s = Scope.open()) {
            Tensor clip = Torch.cat(0, v.clip(), clipNeg, v.clip()); // (3b, S, Dv)
            Tensor m2 = v.m2() == null ? null : Torch.cat(0, v.m2(), m2Neg, v.m2());
            Tensor allIds = Torch.cat(0, ids, ids, idsNeg); // (3b, L)
            Tensor allMask = Torch.cat(0, mask, mask, maskNeg);
            return s.keep(m.heads.itmLogits(allIds, allMask, (emb, nq, selfMask) -> m.pass(emb, nq, selfMask, clip, m2).postBlock()));
        }
    }

    /** Next-token cross-entropy summed over the local tokens, divided by the world's token count over world size. */
    static Tensor itgLoss(Tensor logits, Tensor ids, Tensor mask, double labelSmoothing, Collectives world) {
        try (Scope s = Scope.open()) {
            long l = ids.size(1);
            Tensor keep = mask.narrow(1, 1, l - 1);
            Tensor target = ids.narrow(1, 1, l - 1).maskedFill(keep.eq(0), F.IGNORE_INDEX); // (b, L-1)
            Tensor pred = logits.narrow(1, 0, l - 1);
            Tensor sum = F.crossEntropy(pred.reshape(-1, pred.size(2)), target.reshape(-1), null, F.Reduction.SUM, F.IGNORE_INDEX, labelSmoothing);
            Tensor count = keep.ne(0).sum().to(DType.F64);
            world.allReduce(count, ProcessGroup.Op.SUM);
            double tokens = count.item();
            if (tokens == 0) throw new TorchException("ITG: no text token to predict in the world batch");
            return s.keep(sum.mul(world.worldSize() / tokens));
        }
    }

    /**
     * LAVIS's hard negatives over the world batch: for each local image a text and for each local
     * text an image, drawn from the softmax of the similarities with the positive masked out.
     */
    public static XFormer.Negatives sampleNegatives(Tensor simI2t, Tensor simT2i, long offset, Generator gen) {
        long b = simI2t.size(0), n = simI2t.size(1);
        if (n < 2) throw new TorchException("ITM needs a world batch of at least 2 to draw negatives");
        try (Scope s = Scope.open(); Guard g = Guard.noGrad()) {
            Tensor rows = Torch.arange(offset, offset + b, 1, DType.I64, simI2t.device()).view(b, 1);
            Tensor cols = Torch.arange(0, n, 1, DType.I64, simI2t.device()).view(1, n);
            Tensor positive = rows.eq(cols);                                                // (b, n)
            Tensor wI2t = simI2t.detach().to(DType.F32).maskedFill(positive, XFormer.POSITIVE_PAIR_MASK).softmax(1);
            Tensor wT2i = simT2i.detach().to(DType.F32).maskedFill(positive, XFormer.POSITIVE_PAIR_MASK).softmax(1);
            Tensor negText = Torch.multinomial(wI2t, 1, false, gen).view(b); // (b)
            Tensor negImage = Torch.multinomial(wT2i, 1, false, gen).view(b);
            return s.keepAll(new XFormer.Negatives(negText, negImage));
        }
    }
}
