package io.xformer.models;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The batch split over 2 processes gives the single-process losses, and with ITC features
 * gathered with gradient the single-process gradients (float64, deterministic ITM negatives,
 * texts padded differently per rank). LAVIS's gradient-free ITC gather gives the same losses
 * but other gradients.
 */
class WorldLossesTest {
    private static List<Map<String, double[]>> run(String variant, boolean withGrad) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<Process> ps = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-cp",
                    System.getProperty("java.class.path")));
            String lib = System.getProperty("xft.library");
            if (lib != null && !lib.isBlank()) cmd.add("-Dxft.library=" + lib);
            cmd.addAll(List.of(WorldLossesWorker.class.getName(), variant, String.valueOf(withGrad), String.valueOf(r), "2",
                    String.valueOf(port)));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("XFT_NUM_THREADS", "1");
            ps.add(pb.start());
        }
        List<Map<String, double[]>> out = new ArrayList<>();
        try {
            for (Process p : ps) {
                String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(120, TimeUnit.SECONDS));
                assertEquals(0, p.exitValue(), text);
                System.out.println(variant + " itcWithGrad=" + withGrad + ":\n" + text);
                Map<String, double[]> m = new HashMap<>();
                for (String line : text.split("\n")) {
                    String[] f = line.trim().split(" ");
                    if (f.length == 3) m.put(f[0], new double[] {Double.parseDouble(f[1]), Double.parseDouble(f[2])});
                }
                out.add(m);
            }
        } finally {
            for (Process p : ps) p.destroyForcibly();
        }
        return out;
    }

    private static void sameLossesAsOneProcess(List<Map<String, double[]>> ranks, boolean rec) {
        for (var m : ranks) {
            for (String k : rec ? List.of("loss", "loss_itc", "loss_itm", "loss_itg", "loss_rec")
                                : List.of("loss", "loss_itc", "loss_itm", "loss_itg")) {
                double[] v = m.get(k);
                assertNotNull(v, k);
                assertEquals(v[1], v[0], 1e-10, k);
            }
        }
    }

    @Test
    void xformerSplitOverTwoRanksEqualsOneProcess() throws Exception {
        var ranks = run("xformer", true);
        sameLossesAsOneProcess(ranks, true);
        for (var m : ranks) assertEquals(0, m.get("grad_maxdiff")[0], 1e-10, "gradient difference");
    }

    @Test
    void blip2SplitOverTwoRanksEqualsOneProcess() throws Exception {
        var ranks = run("blip2", true);
        sameLossesAsOneProcess(ranks, false);
        for (var m : ranks) assertEquals(0, m.get("grad_maxdiff")[0], 1e-10, "gradient difference");
    }

    @Test
    void lavisGradientFreeItcGatherKeepsTheLossesButNotTheGradients() throws Exception {
        var ranks = run("xformer", false);
        sameLossesAsOneProcess(ranks, true);
        double[] g = ranks.get(0).get("grad_maxdiff");
        assertTrue(g[0] > 1e-6 * g[1], "LAVIS mode should miss the cross-rank ITC gradient terms: " + g[0]);
    }
}
