package io.xformer.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.nn.TorchException;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** metrics.jsonl of training runs drawn with XChart: one chart per metric, laid out in a grid. */
final class RunCurves {
    private RunCurves() {}

    static final String METRICS = "metrics.jsonl";

    static {
        // charts are rendered off screen; no display is needed or wanted
        System.setProperty("java.awt.headless", "true");
    }
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One run's series: metric -> (steps, values). */
    record Run(Path dir, String label, Map<String, double[][]> series) {}

    /** What was written: image size and panel titles. */
    record Figure(int width, int height, List<String> panels) {}

    /** Whether a metric gets a panel: each loss term, the learning rate, the throughput. */
    static boolean plotted(String key) {
        return key.startsWith("loss") || key.equals("lr") || key.equals("img_per_s");
    }

    static Run read(Path dir) {
        Path file = dir.resolve(METRICS);
        if (!Files.isRegularFile(file)) throw new io.xformer.nn.InputException(file + ": missing (is " + dir + " a training output folder?)");
        Map<String, List<double[]>> points = new LinkedHashMap<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(file + ": " + e.getMessage(), e);
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) continue;
            JsonNode row;
            try {
                row = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw new io.xformer.nn.InputException(file + ":" + (i + 1) + ": not JSON: " + e.getOriginalMessage());
            }
            if (row == null || !row.isObject() || !row.path("step").isNumber())
                throw new io.xformer.nn.InputException(file + ":" + (i + 1) + ": not a metrics row (an object with a numeric \"step\")");
            double step = row.get("step").asDouble();
            for (Map.Entry<String, JsonNode> e : row.properties()) {
                if (!plotted(e.getKey()) || !e.getValue().isNumber()) continue;
                double v = e.getValue().asDouble();
                if (Double.isFinite(v)) points.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(new double[] {step, v});
            }
        }
        if (points.isEmpty()) throw new io.xformer.nn.InputException(file + ": no loss, lr or img_per_s values");
        Map<String, double[][]> series = new LinkedHashMap<>();
        points.forEach((k, pts) -> {
            double[][] xy = new double[2][pts.size()];
            for (int j = 0; j < pts.size(); j++) {
                xy[0][j] = pts.get(j)[0];
                xy[1][j] = pts.get(j)[1];
            }
            series.put(k, xy);
        });
        Path name = dir.toAbsolutePath().normalize().getFileName();
        return new Run(dir, name == null ? dir.toString() : name.toString(), series);
    }

    /** Panel order: total loss, the loss terms as first seen, lr, img/s. */
    static List<String> panels(List<Run> runs) {
        Set<String> keys = new LinkedHashSet<>();
        for (Run r : runs) keys.addAll(r.series().keySet());
        List<String> out = new ArrayList<>();
        if (keys.contains("loss")) out.add("loss");
        for (String k : keys) if (k.startsWith("loss") && !k.equals("loss")) out.add(k);
        for (String k : List.of("lr", "img_per_s")) if (keys.contains(k)) out.add(k);
        return out;
    }

    /** Distinct legend labels: folder names, or the paths as given when two folders share a name. */
    static List<String> labels(List<Run> runs) {
        List<String> names = runs.stream().map(Run::label).toList();
        boolean unique = new LinkedHashSet<>(names).size() == names.size();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            String l = unique ? names.get(i) : runs.get(i).dir().toString();
            out.add(out.contains(l) ? l + " (" + (i + 1) + ")" : l);
        }
        return out;
    }

    private static final Color[] RUN_COLORS = {new Color(0x1f, 0x4e, 0xf5), new Color(0xf5, 0xa6, 0x23), new Color(0x2c, 0xa0, 0x2c),
        new Color(0xd6, 0x27, 0x28), new Color(0x94, 0x67, 0xbd), new Color(0x8c, 0x56, 0x4b)};

    static XYChart chart(String metric, List<Run> runs, List<String> labels, int w, int h) {
        XYChart c = new XYChartBuilder().width(w).height(h).title(title(metric)).xAxisTitle("step").yAxisTitle(metric).build();
        XYStyler s = c.getStyler();
        s.setLegendPosition(Styler.LegendPosition.OutsideS);
        s.setLegendLayout(Styler.LegendLayout.Horizontal);
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotGridLinesVisible(true);
        s.setLegendVisible(true);
        // warmup spans decades (1e-6 -> 1e-4); a log axis keeps both ends readable
        if (metric.equals("lr")) s.setYAxisLogarithmic(true);
        for (int i = 0; i < runs.size(); i++) {
            double[][] xy = runs.get(i).series().get(metric);
            if (xy == null) continue;
            XYSeries series = c.addSeries(labels.get(i), xy[0], xy[1]);
            // a run keeps its colour in every panel, also where earlier runs lack the metric
            series.setLineColor(RUN_COLORS[i % RUN_COLORS.length]);
            series.setMarkerColor(RUN_COLORS[i % RUN_COLORS.length]);
            series.setMarker(xy[0].length == 1 ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        }
        return c;
    }

    static String title(String metric) {
        return switch (metric) {
            case "loss" -> "total loss";
            case "loss_itc" -> "ITC loss (contrastive)";
            case "loss_itm" -> "ITM loss (matching)";
            case "loss_itg" -> "ITG loss (generation)";
            case "loss_rec" -> "reconstruction loss (MAE)";
            case "loss_lm" -> "LM loss (stage 2 / VQA)";
            case "lr" -> "learning rate";
            case "img_per_s" -> "throughput (img/s)";
            default -> metric;
        };
    }

    /** Renders every panel with XChart and writes them, two per row, as one PNG. */
    static Figure write(List<Run> runs, Path png, int width) {
        List<String> panels = panels(runs), labels = labels(runs);
        int cols = panels.size() == 1 ? 1 : 2, rows = (panels.size() + cols - 1) / cols;
        int w = width / cols, h = Math.max(240, w * 3 / 5);
        BufferedImage sheet = new BufferedImage(w * cols, h * rows, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = sheet.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, sheet.getWidth(), sheet.getHeight());
            for (int i = 0; i < panels.size(); i++) {
                BufferedImage panel = BitmapEncoder.getBufferedImage(chart(panels.get(i), runs, labels, w, h));
                g.drawImage(panel, (i % cols) * w, (i / cols) * h, null);
            }
        } finally {
            g.dispose();
        }
        try {
            Path parent = png.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            if (!ImageIO.write(sheet, "png", png.toFile())) throw new TorchException(png + ": no PNG writer available");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(png + ": " + e.getMessage(), e);
        }
        return new Figure(sheet.getWidth(), sheet.getHeight(), panels);
    }
}
