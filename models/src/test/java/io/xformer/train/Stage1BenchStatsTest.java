package io.xformer.train;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class Stage1BenchStatsTest {
    @Test
    void quartilesInterpolateBetweenOrderStatisticsAsNumpy() {
        // sorted 1 2 3 4 5: positions 0.25*4 = 1 -> 2, 0.5*4 = 2 -> 3, 0.75*4 = 3 -> 4
        var s = Stage1Bench.Stats.of(new double[] {5, 1, 3, 2, 4});
        assertEquals(3, s.median());
        assertEquals(2, s.q1());
        assertEquals(4, s.q3());
        assertEquals(1, s.min());
        assertEquals(5, s.max());
        assertEquals(3, s.mean());
        assertEquals(5, s.n());
        // sorted 1 2 3 10: q1 at 0.75 -> 1 + 0.75 * (2 - 1) = 1.75; median at 1.5 -> 2.5; q3 at 2.25 -> 3 + 0.25 * 7 = 4.75
        var e = Stage1Bench.Stats.of(new double[] {10, 3, 2, 1});
        assertEquals(1.75, e.q1(), 1e-12);
        assertEquals(2.5, e.median(), 1e-12);
        assertEquals(4.75, e.q3(), 1e-12);
        assertEquals(4, e.mean(), 1e-12);
    }
}
