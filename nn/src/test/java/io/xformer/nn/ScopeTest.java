package io.xformer.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class ScopeTest {
    record Inner(Tensor a, String label) implements TensorRecord {}

    record Outer(Tensor x, Tensor same, Tensor foreign, Tensor none, Inner inner) implements TensorRecord {}

    @Test
    void keepAllHandsOnWhatTheScopeOwnsOfARecord() {
        long base = Live.settled();
        try (Scope outer = Scope.open()) {
            Tensor foreign = Torch.ones(2);
            Outer r;
            try (Scope inner = Scope.open()) {
                Tensor x = Torch.ones(3), a = x.add(1);
                Tensor scratch = x.mul(3);
                r = inner.keepAll(new Outer(x, x, foreign, null, new Inner(a, "a")));
                assertEquals(List.of(x, x, foreign, a), r.tensors(), "declaration order, nested flattened, nulls left out");
                assertFalse(inner.owns(x));
                assertFalse(inner.owns(a));
                assertTrue(inner.owns(scratch), "what the record does not hold stays");
            }
            assertEquals(base + 3, Torch.liveTensors(), "x (once, though listed twice), a and foreign survive; scratch freed");
            assertTrue(outer.owns(r.x()) && outer.owns(r.inner().a()) && outer.owns(foreign));
            assertEquals(2.0, r.inner().a().toFloatArray()[0]);
        }
        assertEquals(base, Torch.liveTensors());
    }

    @Test
    void scopeFreesWhatItCreatedExceptKept() {
        long base = Live.settled();
        Tensor kept;
        try (Scope outer = Scope.open()) {
            try (Scope inner = Scope.open()) {
                Tensor a = Torch.ones(3);
                Tensor b = a.add(1);
                kept = inner.keep(b.mul(2));
                assertEquals(base + 3, Torch.liveTensors());
                assertEquals(2, inner.size());
            }
            assertEquals(base + 1, Torch.liveTensors(), "inner scope freed a and b");
            assertFalse(kept.isClosed());
            assertArrayEquals(new float[] {4, 4, 4}, kept.toFloatArray());
            assertEquals(1, outer.size(), "kept tensor moved to the enclosing scope");
        }
        assertTrue(kept.isClosed());
        assertEquals(base, Torch.liveTensors());
    }

    @Test
    void keptOutsideAnyScopeBelongsToTheCaller() {
        long base = Live.settled();
        Tensor t;
        try (Scope s = Scope.open()) {
            t = s.keep(Torch.zeros(2));
        }
        assertFalse(t.isClosed());
        t.close();
        t.close(); // idempotent
        assertEquals(base, Torch.liveTensors());
    }

    @Test
    void closingFreesEveryOwnedTensorInOneCallWhateverTheirNumber() {
        long base = Torch.liveTensors();
        Tensor[] made = new Tensor[300]; // past the per-thread buffer's first size (64)
        Tensor kept;
        try (Scope outer = Scope.open()) {
            try (Scope s = Scope.open()) {
                for (int i = 0; i < made.length; i++) made[i] = Torch.ones(2);
                made[7].close(); // closed early: a hole in the scope
                kept = s.keep(made[100]);
                assertEquals(base + made.length - 1, Torch.liveTensors());
            }
            assertEquals(base + 1, Torch.liveTensors(), "all but the kept one freed");
            assertTrue(made[0].isClosed() && made[299].isClosed() && !kept.isClosed());
            assertThrows(IllegalStateException.class, () -> made[5].add(made[6]));
            assertEquals(2.0, kept.sum().item());
        }
        assertEquals(base, Torch.liveTensors());
    }

    @Test
    void earlyCloseInLoopsKeepsScopeSmall() {
        long base = Live.settled();
        try (Scope s = Scope.open()) {
            Tensor a = Torch.ones(4);
            for (int i = 0; i < 1000; i++) a.add(a).close();
            assertEquals(1, s.size());
            assertEquals(base + 1, Torch.liveTensors());
        }
        assertEquals(base, Torch.liveTensors());
    }

    @Test
    void misuseIsReported() {
        Scope outer = Scope.open();
        Scope inner = Scope.open();
        IllegalStateException e = assertThrows(IllegalStateException.class, outer::close);
        assertTrue(e.getMessage().contains("innermost first"), e.getMessage());
        inner.close();
        outer.close();
        Tensor t;
        try (Scope s = Scope.open()) {
            t = Torch.ones(1);
        }
        assertTrue(assertThrows(IllegalStateException.class, t::item).getMessage().contains("after close"));
        Scope closed = Scope.open();
        Tensor owned = Torch.ones(1);
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.keep(owned));
        try (Scope a = Scope.open()) {
            Tensor x = Torch.ones(1);
            try (Scope b = Scope.open()) {
                assertThrows(IllegalArgumentException.class, () -> b.keep(x), "not owned by b");
            }
        }
    }

    @Test
    void scopesAreThreadConfined() throws Exception {
        try (Scope s = Scope.open()) {
            Tensor t = Torch.ones(1);
            Throwable[] err = new Throwable[1];
            Thread th = new Thread(() -> {
                try {
                    t.close();
                } catch (Throwable x) {
                    err[0] = x;
                }
            });
            th.start();
            th.join();
            assertInstanceOf(IllegalStateException.class, err[0]);
            // another thread without a scope gets caller-owned tensors
            long[] live = new long[1];
            Thread worker = new Thread(() -> {
                Tensor u = Torch.ones(2);
                u.close();
                live[0] = Scope.current() == null ? 1 : 0;
            });
            worker.start();
            worker.join();
            assertEquals(1, live[0]);
        }
    }

    @Test
    void cleanerFreesUnreachableUnscopedTensors() throws Exception {
        long base = Live.settled();
        for (int i = 0; i < 200; i++) Torch.ones(8);
        for (int i = 0; i < 50 && Torch.liveTensors() > base; i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertEquals(base, Torch.liveTensors(), "the Cleaner safety net released dropped tensors");
    }
}
