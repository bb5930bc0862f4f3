package io.xformer.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** 10,000 forward+backward steps of a small MLP inside scopes: no handle leaks, flat resident memory. */
class LeakTest {
    static long rssKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status")))
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        throw new IOException("no VmRSS in /proc/self/status");
    }

    @Test
    void tenThousandTrainingStepsLeakNothing() throws IOException {
        Torch.manualSeed(0);
        Tensor w1, b1, w2, b2, x, y;
        try (Scope s = Scope.open()) {
            w1 = s.keep(Torch.randn(32, 16).mul(0.1).requiresGrad_(true));
            b1 = s.keep(Torch.zeros(32).requiresGrad_(true));
            w2 = s.keep(Torch.randn(4, 32).mul(0.1).requiresGrad_(true));
            b2 = s.keep(Torch.zeros(4).requiresGrad_(true));
            x = s.keep(Torch.randn(8, 16));
            y = s.keep(Torch.tensor(new long[] {0, 1, 2, 3, 0, 1, 2, 3}, 8));
        }
        Tensor[] params = {w1, b1, w2, b2};
        long base = Live.settled();
        double first = 0, last = 0;
        long rssAfterWarmup = 0;
        for (int step = 0; step < 10_000; step++) {
            try (Scope s = Scope.open()) {
                Tensor h = F.gelu(F.linear(x, w1, b1));
                Tensor loss = F.crossEntropy(F.linear(h, w2, b2), y);
                loss.backward();
                try (Guard g = Guard.noGrad()) {
                    for (Tensor p : params) {
                        Tensor grad = p.grad();
                        p.add_(grad, -0.05);
                        p.zeroGrad();
                    }
                }
                if (step == 0) first = loss.item();
                if (step == 9_999) last = loss.item();
            }
            if (step == 1_000) rssAfterWarmup = rssKb();
        }
        assertEquals(base, Torch.liveTensors(), "live handles back at the baseline");
        long growthKb = rssKb() - rssAfterWarmup;
        System.out.printf("LeakTest: loss %.4f -> %.4f; RSS after warmup %d KiB, growth over 9,000 steps %d KiB%n",
                first, last, rssAfterWarmup, growthKb);
        assertTrue(last < first * 0.5, "the MLP trained: " + first + " -> " + last);
        assertTrue(growthKb < 16 * 1024, "resident memory grew by " + growthKb + " KiB");
        for (Tensor t : new Tensor[] {w1, b1, w2, b2, x, y}) t.close();
    }
}
