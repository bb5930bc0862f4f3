package io.xformer.models;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import org.junit.jupiter.api.Test;

class PositionEmbeddingsTest {
    /**
     * A 2x2 grid to 4x4, one channel holding the column index (0, 1) and one the row index.
     * Output 0 samples at (0 + 0.5) * 2/4 - 0.5 = -0.25: floor -1, t = 0.75; cubic weights (A = -0.75)
     * for taps -2, -1, 0, 1: w(1.75) = A(1.75^3 - 5*1.75^2 + 8*1.75 - 4) = -0.03515625,
     * w(0.75) = 1.25*0.75^3 - 2.25*0.75^2 + 1 = 0.26171875, w(0.25) = 0.87890625,
     * w(1.25) = A(1.25^3 - 5*1.25^2 + 8*1.25 - 4) = -0.10546875. Taps clamp to 0, 0, 0, 1, so the
     * value is 1 * -0.10546875. Output 1 samples at 0.25: taps -1, 0, 1, 2 -> 0, 0, 1, 1 with t = 0.25:
     * w(1.25) + w(0.25) = -0.10546875 + 0.87890625 = 0.7734375 on the 0s, w(0.75) + w(1.75) = 0.2265625 on the 1s.
     */
    @Test
    void bicubicResizeMatchesHandComputedWeights() {
        try (Scope s = Scope.open()) {
            // (1, 1 + 4, 2): cls, then (row, col) = (0,0), (0,1), (1,0), (1,1); channel 0 = col, channel 1 = row
            Tensor pos = Torch.tensor(new float[] {7, 9, 0, 0, 1, 0, 0, 1, 1, 1}, 1, 5, 2);
            Tensor out = PositionEmbeddings.interpolate(pos, 4);
            assertArrayEquals(new long[] {1, 17, 2}, out.shape());
            float[] v = out.toFloatArray();
            assertEquals(7, v[0], 0);
            assertEquals(9, v[1], 0);
            double[] cols = {-0.10546875, 0.2265625, 1 - 0.2265625, 1 + 0.10546875};
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++) {
                    assertEquals(cols[x], v[2 * (1 + y * 4 + x)], 1e-6, "col channel at " + y + "," + x);
                    assertEquals(cols[y], v[2 * (1 + y * 4 + x) + 1], 1e-6, "row channel at " + y + "," + x);
                }
            // the same size is a copy
            assertArrayEquals(pos.toFloatArray(), PositionEmbeddings.interpolate(pos, 2).toFloatArray());
        }
    }
}
