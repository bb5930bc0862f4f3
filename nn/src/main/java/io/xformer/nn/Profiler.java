package io.xformer.nn;

import static io.xformer.bindings.xft.xft_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Records every libtorch op (by name, as torch.profiler names them: aten::addmm,
 * AddmmBackward0, ...) on every thread between {@link #start()} and {@link #stop()}, with call
 * counts and self times (an op's time minus the ops it called).
 */
public final class Profiler {
    /** One op name's totals; times in microseconds. */
    public record Op(String name, long calls, double selfMicros, double totalMicros) {}

    private Profiler() {}

    public static void start() {
        Native.init();
        Native.check(xft_profiler_start(), "profiler start");
    }

    /** Stops recording; the ops in first-call order. */
    public static List<Op> stop() {
        Native.check(xft_profiler_stop(), "profiler stop");
        long n = xft_profiler_report(MemorySegment.NULL, 0);
        if (n < 0) throw Native.error("profiler report");
        String text;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(n + 1);
            if (xft_profiler_report(buf, n + 1) < 0) throw Native.error("profiler report");
            text = new String(buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        }
        List<Op> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) continue;
            String[] f = line.split("\t");
            out.add(new Op(f[0], Long.parseLong(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3])));
        }
        return out;
    }
}
