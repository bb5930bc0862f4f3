package io.xformer.cli;

import java.util.Map;

/** Two-column metric tables for the terminal. */
final class Tables {
    private Tables() {}

    static void print(Map<String, Double> rows) {
        int w = 6;
        for (String k : rows.keySet()) w = Math.max(w, k.length());
        for (var e : rows.entrySet()) System.out.printf("  %-" + w + "s  %10.4f%n", e.getKey(), e.getValue());
    }
}
