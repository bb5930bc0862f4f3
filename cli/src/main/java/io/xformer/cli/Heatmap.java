package io.xformer.cli;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;

/** A square matrix as a PNG heatmap (XChart), rows on the y axis. */
final class Heatmap {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    private Heatmap() {}

    static void write(double[][] m, String title, String xTitle, String yTitle, Path png) throws IOException {
        int n = m.length;
        HeatMapChart chart = new HeatMapChartBuilder().width(640).height(560).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        List<Integer> axis = new ArrayList<>();
        for (int i = 0; i < n; i++) axis.add(i);
        List<Number[]> cells = new ArrayList<>();
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++) {
                cells.add(new Number[] {x, y, m[y][x]});
                lo = Math.min(lo, m[y][x]);
                hi = Math.max(hi, m[y][x]);
            }
        // legend ends on round numbers
        lo = Math.floor(lo * 100) / 100;
        hi = Math.max(Math.ceil(hi * 100) / 100, lo + 0.01);
        chart.getStyler().setMin(lo).setMax(hi).setShowValue(n <= 8).setHeatMapValueDecimalPattern("0.00")
                .setRangeColors(new Color[] {new Color(49, 54, 149), new Color(255, 255, 191), new Color(165, 0, 38)});
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.addSeries("cosine", axis, axis, cells);
        String name = png.getFileName().toString();
        BitmapEncoder.saveBitmap(chart, png.resolveSibling(name.replaceFirst("\\.png$", "")).toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
