package io.xformer.nn;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Each op group against values computed by hand (or by PyTorch, noted where so). */
class OpsTest {
    static void close(double[] expected, Tensor t, double tol) {
        double[] got = t.toDoubleArray();
        assertEquals(expected.length, got.length, "element count of " + t);
        for (int i = 0; i < got.length; i++)
            assertEquals(expected[i], got[i], tol, "element " + i + " of " + t);
    }

    static void close(double[] expected, Tensor t) {
        close(expected, t, 1e-6);
    }

    @Test
    void creation() {
        try (Scope s = Scope.open()) {
            assertArrayEquals(new long[] {2, 3}, Torch.zeros(2, 3).shape());
            close(new double[] {0, 0, 0}, Torch.zeros(3));
            close(new double[] {1, 1}, Torch.ones(2));
            close(new double[] {2.5, 2.5}, Torch.full(2.5, DType.F64, Device.CPU, 2));
            close(new double[] {1, 3, 5}, Torch.arange(1, 6, 2, DType.F32, Device.CPU));
            assertEquals(DType.I64, Torch.arange(4).dtype());
            assertEquals(DType.BF16, Torch.empty(DType.BF16, Device.CPU, 4, 4).dtype());
            assertEquals(0, Torch.zeros().dim());
            assertEquals(42.0, Torch.scalar(42, DType.F32).item());
        }
    }

    @Test
    void randomnessIsSeedable() {
        try (Scope s = Scope.open()) {
            Torch.manualSeed(7);
            float[] a = Torch.randn(8).toFloatArray();
            Torch.manualSeed(7);
            assertArrayEquals(a, Torch.randn(8).toFloatArray());
            try (Generator g1 = new Generator(3); Generator g2 = new Generator(3)) {
                assertArrayEquals(Torch.rand(g1, DType.F32, Device.CPU, 5).toFloatArray(),
                        Torch.rand(g2, DType.F32, Device.CPU, 5).toFloatArray());
                long[] perm = Torch.randperm(10, g1, Device.CPU).toLongArray();
                assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, java.util.Arrays.stream(perm).sorted().toArray());
                for (long v : Torch.randint(3, 6, g1, Device.CPU, 100).toLongArray()) assertTrue(v >= 3 && v < 6);
            }
            float[] u = Torch.rand(1000).toFloatArray();
            for (float v : u) assertTrue(v >= 0 && v < 1);
            double mean = Torch.randn(null, DType.F64, Device.CPU, 20000).mean().item();
            assertEquals(0, mean, 0.05);
        }
    }

    @Test
    void arraysRoundTripInEveryDtype() {
        try (Scope s = Scope.open()) {
            assertArrayEquals(new float[] {1.5f, -2}, Torch.tensor(new float[] {1.5f, -2}, 2).toFloatArray());
            assertArrayEquals(new double[] {1e-300, 3}, Torch.tensor(new double[] {1e-300, 3}, 2).toDoubleArray());
            assertArrayEquals(new long[] {Long.MAX_VALUE, -1}, Torch.tensor(new long[] {Long.MAX_VALUE, -1}, 2).toLongArray());
            assertArrayEquals(new int[] {7, -8, 9}, Torch.tensor(new int[] {7, -8, 9}, 3).toIntArray());
            assertArrayEquals(new boolean[] {true, false}, Torch.tensor(new boolean[] {true, false}, 2).toBooleanArray());
            // bf16 1.0 = 0x3F80, -2.0 = 0xC000; f16 1.0 = 0x3C00
            Tensor bf = Torch.fromBits(new short[] {0x3F80, (short) 0xC000}, DType.BF16, 2);
            assertArrayEquals(new float[] {1, -2}, bf.toFloatArray());
            assertArrayEquals(new short[] {0x3F80, (short) 0xC000}, bf.toShortArray());
            assertArrayEquals(new float[] {1}, Torch.fromBits(new short[] {0x3C00}, DType.F16, 1).toFloatArray());
            assertArrayEquals(new short[] {0x3C00}, Torch.ones(1).to(DType.F16).toShortArray());
            assertArrayEquals(new long[] {2, 3}, Torch.fromBytes(new byte[] {2, 3}, DType.U8, 2).toLongArray());
            assertArrayEquals(new long[] {-1}, Torch.fromBytes(new byte[] {-1}, DType.I8, 1).toLongArray());
            assertArrayEquals(new long[] {-2}, Torch.fromBytes(new byte[] {-2, -1}, DType.I16, 1).toLongArray());
            assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3F}, Torch.ones(1).toByteArray());
            Tensor m = Torch.tensor(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, m.transpose(0, 1).toFloatArray(), "non-contiguous copy-out");
        }
    }

    @Test
    void dtypeAndDeviceMoves() {
        try (Scope s = Scope.open()) {
            Tensor x = Torch.tensor(new float[] {1.7f, -1.7f}, 2);
            assertArrayEquals(new long[] {1, -1}, x.to(DType.I64).toLongArray());
            assertEquals(DType.F64, x.to(DType.F64).dtype());
            assertEquals(Device.CPU, x.cpu().device());
            Tensor c = x.to(Device.CPU, DType.BF16, false);
            assertEquals(DType.BF16, c.dtype());
            Tensor d = x.clone();
            d.add_(1.0);
            close(new double[] {1.7, -1.7}, x);
            Tensor y = Torch.zeros(2);
            y.copy_(x);
            close(new double[] {1.7, -1.7}, y);
            assertTrue(Torch.zeros(2, 3).transpose(0, 1).contiguous().isContiguous());
            assertFalse(Torch.zeros(2, 3).transpose(0, 1).isContiguous());
        }
    }

    @Test
    void viewsAndIndexing() {
        try (Scope s = Scope.open()) {
            Tensor x = Torch.arange(0, 6, 1, DType.F32, Device.CPU);
            Tensor m = x.view(2, 3);
            close(new double[] {0, 3, 1, 4, 2, 5}, m.transpose(0, 1));
            close(new double[] {0, 3, 1, 4, 2, 5}, m.permute(1, 0));
            assertArrayEquals(new long[] {3, 2}, m.reshape(3, -1).shape());
            close(new double[] {1, 2, 4, 5}, m.narrow(1, 1, 2));
            close(new double[] {0, 2, 3, 5}, m.slice(1, 0, 3, 2));
            close(new double[] {3, 4, 5}, m.select(0, 1));
            close(new double[] {3, 4, 5, 0, 1, 2}, m.indexSelect(0, Torch.tensor(new long[] {1, 0}, 2)));
            close(new double[] {2, 0, 3, 5}, m.gather(1, Torch.tensor(new long[] {2, 0, 0, 2}, 2, 2)));
            close(new double[] {9, 0, 0, 0, 0, 8},
                    Torch.zeros(2, 3).scatter(1, Torch.tensor(new long[] {0, 2}, 2, 1), Torch.tensor(new float[] {9, 8}, 2, 1)));
            close(new double[] {2, 0, 0},
                    Torch.zeros(3).scatterAdd(0, Torch.tensor(new long[] {0, 0}, 2), Torch.ones(2)));
            close(new double[] {-1, 1, -1, 3, -1, 5}, x.maskedFill(x.remainder(2).eq(0), -1));
            close(new double[] {0, 10, 2}, Torch.where(Torch.tensor(new boolean[] {true, false, true}, 3),
                    x.narrow(0, 0, 3), Torch.full(10, DType.F32, Device.CPU, 3)));
            close(new double[] {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}, Torch.cat(0, x, x));
            assertArrayEquals(new long[] {2, 6}, Torch.stack(0, x, x).shape());
            assertArrayEquals(new long[] {6, 2}, Torch.stack(1, x, x).shape());
            close(new double[] {0, 1, 2, 0, 1, 2}, x.narrow(0, 0, 3).view(1, 3).expand(2, 3));
            close(new double[] {0, 1, 0, 1, 0, 1}, x.narrow(0, 0, 2).repeat(3));
            close(new double[] {0, 1, 1, 2, 2, 3}, x.narrow(0, 0, 4).unfold(0, 2, 1));
            assertArrayEquals(new long[] {1, 6}, x.unsqueeze(0).shape());
            assertArrayEquals(new long[] {6}, x.unsqueeze(0).squeeze(0).shape());
            assertArrayEquals(new long[] {6}, m.flatten(0, 1).shape());
            close(new double[] {1, 0, 1, 1}, Torch.ones(2, 2).tril(0));
            close(new double[] {0, 1, 3, 6, 10, 15}, x.cumsum(0));
            close(new double[] {0, 1, 3, 3, 7, 12}, m.cumsum(1));
            close(new double[] {9, 1, 8, 3},
                    x.narrow(0, 0, 4).maskedScatter(Torch.tensor(new boolean[] {true, false, true, false}, 4), Torch.tensor(new float[] {9, 8}, 2)));
            close(new double[] {0, 1, 0, 0}, Torch.ones(2, 2).triu(1));
        }
    }

    @Test
    void arithmeticBroadcastsAndCompares() {
        try (Scope s = Scope.open()) {
            Tensor a = Torch.tensor(new float[] {1, 2, 3, 4}, 2, 2);
            Tensor col = Torch.tensor(new float[] {10, 20}, 2, 1);
            close(new double[] {11, 12, 23, 24}, a.add(col));
            close(new double[] {-9, -8, -17, -16}, a.sub(col));
            close(new double[] {10, 20, 60, 80}, a.mul(col));
            close(new double[] {0.1, 0.2, 0.15, 0.2}, a.div(col));
            close(new double[] {1, 4, 9, 16}, a.pow(2));
            close(new double[] {3, 4, 5, 6}, a.add(2));
            close(new double[] {2, 4, 6, 8}, a.mul(2));
            close(new double[] {-1, -2, -3, -4}, a.neg());
            close(new double[] {Math.exp(1), Math.exp(2)}, a.narrow(0, 0, 1).exp(), 1e-5);
            close(new double[] {0, Math.log(2)}, a.narrow(0, 0, 1).log());
            close(new double[] {1, Math.sqrt(2)}, a.narrow(0, 0, 1).sqrt());
            close(new double[] {1, 1 / Math.sqrt(2)}, a.narrow(0, 0, 1).rsqrt());
            close(new double[] {Math.tanh(1), Math.tanh(2)}, a.narrow(0, 0, 1).tanh());
            close(new double[] {1 / (1 + Math.exp(-1)), 1 / (1 + Math.exp(-2))}, a.narrow(0, 0, 1).sigmoid());
            close(new double[] {0, 0, 3}, Torch.tensor(new float[] {-1, 0, 3}, 3).relu());
            close(new double[] {1, 0, 3}, Torch.tensor(new float[] {-1, 0, 3}, 3).abs());
            close(new double[] {2, 2, 3, 3}, a.clamp(2, 3));
            close(new double[] {2, 2, 3, 4}, a.clampMin(2));
            close(new double[] {1, 2, 2, 2}, a.clampMax(2));
            close(new double[] {1, 0.5, 1 / 3.0, 0.25}, a.reciprocal());
            close(new double[] {5, 5, 5, 5}, a.maximum(Torch.full(5, DType.F32, Device.CPU, 1)));
            assertArrayEquals(new boolean[] {false, true, false, false}, a.eq(2).toBooleanArray());
            assertArrayEquals(new boolean[] {true, false, true, true}, a.ne(2).toBooleanArray());
            assertArrayEquals(new boolean[] {true, false, false, false}, a.lt(2).toBooleanArray());
            assertArrayEquals(new boolean[] {true, true, false, false}, a.le(2).toBooleanArray());
            assertArrayEquals(new boolean[] {false, false, true, true}, a.gt(2).toBooleanArray());
            assertArrayEquals(new boolean[] {false, true, true, true}, a.ge(2).toBooleanArray());
            assertArrayEquals(new boolean[] {false, false, true, false}, a.gt(2).logicalAnd(a.lt(4)).toBooleanArray());
            assertArrayEquals(new boolean[] {true, false, false, true}, a.lt(2).logicalOr(a.gt(3)).toBooleanArray());
            assertArrayEquals(new boolean[] {true, false, true, true}, a.eq(2).logicalNot().toBooleanArray());
            // integral tensors keep their dtype with integral scalars, as in PyTorch
            assertEquals(DType.I64, Torch.arange(3).add(1).dtype());
            assertEquals(DType.F32, Torch.arange(3).mul(0.5).dtype());
            Tensor acc = Torch.zeros(2);
            acc.add_(Torch.ones(2), 3).addcmul_(Torch.full(2, DType.F32, Device.CPU, 2), Torch.ones(2), 0.5)
                    .addcdiv_(Torch.ones(2), Torch.full(4, DType.F32, Device.CPU, 2), 2).mul_(2);
            close(new double[] {9, 9}, acc);
            acc.zero_();
            close(new double[] {0, 0}, acc);
        }
    }

    @Test
    void reductions() {
        try (Scope s = Scope.open()) {
            Tensor a = Torch.tensor(new float[] {1, 5, 3, 4, 2, 6}, 2, 3);
            assertEquals(21, a.sum().item(), 1e-6);
            close(new double[] {5, 7, 9}, a.sum(0));
            close(new double[] {9, 12}, a.sum(new long[] {1}, false));
            assertArrayEquals(new long[] {2, 1}, a.sum(new long[] {1}, true).shape());
            assertEquals(3.5, a.mean().item(), 1e-6);
            close(new double[] {3, 4}, a.mean(1));
            close(new double[] {5, 6}, a.amax(new long[] {1}, false));
            close(new double[] {1, 2, 3}, a.amin(new long[] {0}, false));
            assertEquals(6, a.amax().item());
            assertEquals(5, a.argmax().item());
            close(new double[] {1, 2}, a.argmax(1, false));
            close(new double[] {0, 1}, a.argmin(1, false));
            close(new double[] {15, 48}, a.prod(new long[] {1}, false));
            assertEquals(720, a.prod().item(), 1e-3);
            close(new double[] {Math.log(Math.exp(1) + Math.exp(5) + Math.exp(3)), Math.log(Math.exp(4) + Math.exp(2) + Math.exp(6))},
                    a.logsumexp(new long[] {1}, false), 1e-5);
            close(new double[] {4, 4}, a.var(new long[] {1}, 1, false));
            close(new double[] {8 / 3.0, 8 / 3.0}, a.var(new long[] {1}, 0, false), 1e-5);
            close(new double[] {Math.sqrt(35), Math.sqrt(56)}, a.norm(2, new long[] {1}, false), 1e-5);
            try (Tensor.ValuesIndices m = a.max(1, false)) {
                close(new double[] {5, 6}, m.values());
                assertArrayEquals(new long[] {1, 2}, m.indices().toLongArray());
            }
            assertTrue(a.gt(0).all().item() != 0);
            assertTrue(a.gt(5).any().item() != 0);
            assertFalse(a.gt(6).any().item() != 0);
        }
    }

    @Test
    void linearAlgebra() {
        try (Scope s = Scope.open()) {
            Tensor a = Torch.tensor(new float[] {1, 2, 3, 4}, 2, 2);
            Tensor b = Torch.tensor(new float[] {5, 6, 7, 8}, 2, 2);
            close(new double[] {19, 22, 43, 50}, a.matmul(b));
            close(new double[] {19, 22, 43, 50}, a.unsqueeze(0).bmm(b.unsqueeze(0)));
            // linear: x W^T + b
            close(new double[] {17 + 1, 23 + 1, 39 + 1, 53 + 1}, F.linear(a, b, Torch.ones(2)));
            close(new double[] {17, 23, 39, 53}, F.linear(a, b, null));
            close(new double[] {19, 22, 43, 50}, Torch.einsum("ij,jk->ik", a, b));
            assertEquals(5 + 12 + 21 + 32, Torch.einsum("ij,ij->", a, b).item(), 1e-6);
        }
    }

    @Test
    void neuralNetworkFunctions() {
        try (Scope s = Scope.open()) {
            Tensor x = Torch.tensor(new float[] {1, 2, 3}, 1, 3);
            double z = Math.exp(1) + Math.exp(2) + Math.exp(3);
            close(new double[] {Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z}, F.softmax(x, -1));
            close(new double[] {1 - Math.log(z), 2 - Math.log(z), 3 - Math.log(z)}, F.logSoftmax(x, -1), 1e-5);
            // layer norm of [1,2,3]: mean 2, biased var 2/3
            double sd = Math.sqrt(2 / 3.0 + 1e-5);
            close(new double[] {-1 / sd * 2 + 1, 1, 1 / sd * 2 + 1},
                    F.layerNorm(x, new long[] {3}, Torch.full(2, DType.F32, Device.CPU, 3), Torch.ones(3), 1e-5), 1e-5);
            close(new double[] {-1 / sd, 0, 1 / sd}, F.layerNorm(x, new long[] {3}, null, null, 1e-5), 1e-5);
            // gelu(1): exact 0.8413447, tanh approximation 0.8411920 (PyTorch)
            close(new double[] {0.8413447}, F.gelu(Torch.ones(1)), 1e-6);
            close(new double[] {0.8411920}, F.gelu(Torch.ones(1), true), 1e-6);
            close(new double[] {1, 1, 1}, F.dropout(x, 0.5, false).div(x));
            Torch.manualSeed(1);
            double[] d = F.dropout(Torch.ones(10000), 0.25, true).toDoubleArray();
            int zeros = 0;
            for (double v : d) {
                if (v == 0) zeros++;
                else assertEquals(1 / 0.75, v, 1e-6);
            }
            assertEquals(2500, zeros, 200);
            Tensor table = Torch.tensor(new float[] {0, 1, 10, 11, 20, 21}, 3, 2);
            close(new double[] {20, 21, 0, 1, 20, 21}, F.embedding(Torch.tensor(new long[] {2, 0, 2}, 3), table));
            close(new double[] {0.6, 0.8}, F.normalize(Torch.tensor(new float[] {3, 4}, 1, 2), 1));
            close(new double[] {0, 0}, F.normalize(Torch.zeros(1, 2), 1));
            // mse
            assertEquals((1 + 4) / 2.0, F.mseLoss(Torch.tensor(new float[] {1, 2}, 2), Torch.tensor(new float[] {0, 0}, 2),
                    F.Reduction.MEAN).item(), 1e-6);
            assertEquals(5, F.mseLoss(Torch.tensor(new float[] {1, 2}, 2), Torch.zeros(2), F.Reduction.SUM).item(), 1e-6);
        }
    }

    /** libxft's CPU dropout draws its own mask (compat::dropout): the mask's law, scale and gradient. */
    @Test
    void dropoutMaskKeepsOneMinusPScalesAndIsTheGradient() {
        try (Scope s = Scope.open()) {
            Torch.manualSeed(3);
            int n = 200_000;
            for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F64}) { // F64 takes libtorch's own dropout
                Tensor x = Torch.ones(n).to(dt).requiresGrad_(true);
                Tensor y = F.dropout(x, 0.1, true);
                assertEquals(dt, y.dtype());
                double[] v = y.toDoubleArray();
                int kept = 0;
                for (double e : v) {
                    if (e != 0) {
                        kept++;
                        assertEquals(1 / 0.9, e, dt == DType.F32 ? 1e-6 : 1e-2, "kept elements are scaled by 1/(1-p)");
                    }
                }
                // Binomial(n, 0.9): sd 134; a bf16 uniform would keep 0.9023 (p resolved to 2^-8), 4.6 sd off
                assertEquals(0.9 * n, kept, 400, dt + ": kept " + kept + " of " + n);
                y.sum().backward();
                assertArrayEquals(v, x.grad().toDoubleArray(), "d dropout(x)/dx is the scaled mask");
            }
            Torch.manualSeed(5);
            double[] a = F.dropout(Torch.ones(64), 0.5, true).toDoubleArray();
            Torch.manualSeed(5);
            assertArrayEquals(a, F.dropout(Torch.ones(64), 0.5, true).toDoubleArray(), "the mask follows the global seed");
            close(new double[] {0, 0}, F.dropout(Torch.ones(2), 1.0, true));
            // attention dropout: every row of probabilities is either dropped or scaled by 1/(1-p)
            Tensor q = Torch.zeros(1, 1, 4, 8), v = Torch.ones(1, 1, 16, 1);
            double[] out = F.scaledDotProductAttention(q, Torch.zeros(1, 1, 16, 8), v, null, 0.25, false, 0).toDoubleArray();
            for (double o : out) assertEquals(0, Math.IEEEremainder(o * 16 * 0.75, 1), 1e-5, "sum of kept 1/16 weights, scaled: " + o);
        }
    }

    @Test
    void crossEntropyWithIgnoreIndexAndLabelSmoothing() {
        try (Scope s = Scope.open()) {
            Tensor logits = Torch.tensor(new float[] {2, 0, 0, 0, 1, 0}, 2, 3);
            Tensor target = Torch.tensor(new long[] {0, 1}, 2);
            double l0 = -(2 - Math.log(Math.exp(2) + 2)), l1 = -(1 - Math.log(Math.exp(1) + 2));
            assertEquals((l0 + l1) / 2, F.crossEntropy(logits, target).item(), 1e-6);
            close(new double[] {l0, l1}, F.crossEntropy(logits, target, null, F.Reduction.NONE, -100, 0), 1e-6);
            assertEquals(l0, F.crossEntropy(logits, Torch.tensor(new long[] {0, -100}, 2)).item(), 1e-6);
            assertEquals(l0, F.crossEntropy(logits, Torch.tensor(new long[] {0, 5}, 2), null, F.Reduction.MEAN, 5, 0).item(), 1e-6);
            // label smoothing eps: (1-eps) * nll + eps * mean over classes of -log p
            double eps = 0.1;
            double[] lp0 = {2 - Math.log(Math.exp(2) + 2), -Math.log(Math.exp(2) + 2), -Math.log(Math.exp(2) + 2)};
            double smooth0 = (1 - eps) * -lp0[0] - eps * (lp0[0] + lp0[1] + lp0[2]) / 3;
            assertEquals(smooth0, F.crossEntropy(logits.narrow(0, 0, 1), target.narrow(0, 0, 1), null, F.Reduction.MEAN, -100, eps)
                    .item(), 1e-6);
            // (N, C, d) layout
            assertArrayEquals(new long[] {2, 1},
                    F.crossEntropy(logits.unsqueeze(2), target.unsqueeze(1), null, F.Reduction.NONE, -100, 0).shape());
        }
    }

    @Test
    void attentionMatchesItsDefinition() {
        try (Scope s = Scope.open()) {
            Torch.manualSeed(0);
            Tensor q = Torch.randn(2, 3, 4), k = Torch.randn(2, 5, 4), v = Torch.randn(2, 5, 4);
            Tensor ref = q.matmul(k.transpose(-2, -1)).mul(0.5).softmax(-1).matmul(v);
            close(ref.toDoubleArray(), F.scaledDotProductAttention(q, k, v, null), 1e-5);
            // bool mask (true = attend) equals an additive mask of 0 / -inf
            Tensor keep = Torch.tensor(new boolean[] {true, true, false, true, false}, 1, 1, 5);
            Tensor additive = keep.logicalNot().to(DType.F32).mul(-1e30);
            close(F.scaledDotProductAttention(q, k, v, additive).toDoubleArray(),
                    F.scaledDotProductAttention(q, k, v, keep), 1e-5);
            // causal on square attention: row 0 sees only key 0, so equals v[:, 0]
            Tensor kk = Torch.randn(2, 3, 4), vv = Torch.randn(2, 3, 4);
            Tensor causal = F.scaledDotProductAttention(q, kk, vv, null, 0, true, 0);
            close(vv.select(1, 0).toDoubleArray(), causal.select(1, 0), 1e-6);
            Tensor tri = Torch.ones(3, 3).tril(0).gt(0);
            close(F.scaledDotProductAttention(q, kk, vv, tri).toDoubleArray(), causal, 1e-6);
            // explicit scale
            Tensor scaled = q.matmul(k.transpose(-2, -1)).mul(0.1).softmax(-1).matmul(v);
            close(scaled.toDoubleArray(), F.scaledDotProductAttention(q, k, v, null, 0, false, 0.1), 1e-5);
        }
    }

    @Test
    void sortingAndSampling() {
        try (Scope s = Scope.open()) {
            Tensor x = Torch.tensor(new float[] {3, 1, 2, 5}, 4);
            assertArrayEquals(new long[] {1, 2, 0, 3}, x.argsort(0, false).toLongArray());
            assertArrayEquals(new long[] {3, 0, 2, 1}, x.argsort(0, true).toLongArray());
            try (Tensor.ValuesIndices top = x.topk(2, 0, true, true)) {
                close(new double[] {5, 3}, top.values());
                assertArrayEquals(new long[] {3, 0}, top.indices().toLongArray());
            }
            try (Tensor.ValuesIndices low = x.topk(1, 0, false, true)) {
                assertArrayEquals(new long[] {1}, low.indices().toLongArray());
            }
            Tensor probs = Torch.tensor(new float[] {0, 1, 0, 0, 0, 0, 0, 1}, 2, 4);
            assertArrayEquals(new long[] {1, 3}, Torch.multinomial(probs, 1, false, null).toLongArray());
            try (Generator g = new Generator(5)) {
                long[] draws = Torch.multinomial(Torch.tensor(new float[] {1, 3}, 2), 4000, true, g).toLongArray();
                long ones = java.util.Arrays.stream(draws).filter(v -> v == 1).count();
                assertEquals(3000, ones, 150);
            }
        }
    }

    @Test
    void versionNamesLibtorch() {
        assertTrue(Torch.version().startsWith("libtorch "), Torch.version());
        assertTrue(Torch.version().contains("cuda "), Torch.version());
        assertEquals(Torch.cudaIsAvailable(), Torch.cudaDeviceCount() > 0);
    }
}
