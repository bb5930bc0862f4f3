package io.xformer.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** bench stage1 on the tiny config: the phases it reports, the profile form, and a missing reference. */
class BenchCommandTest {
    static final String TINY = Path.of(System.getProperty("xformer.root", "..")).resolve("configs/tiny.json").toString();

    @Test
    void reportsStartUpWarmUpAndTheSteadyStateWithItsSpread() {
        CliTest.Result r = CliTest.run("bench", "stage1", "--config", TINY, "--batch", "2", "--text-len", "8", "--random-weights",
                "--warmup", "2", "--steps", "3", "--profile", "--profile-top", "5");
        assertEquals(0, r.code(), r.err());
        String out = r.out();
        var m = java.util.regex.Pattern.compile("start-up \\(launch to first step\\) ([0-9.]+) s").matcher(out);
        assertTrue(m.find(), out);
        // no xformer.launched here (not started by ./xformer): counted from this JVM's start, so within its uptime
        double startup = Double.parseDouble(m.group(1));
        assertTrue(startup > 0 && startup <= java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime() / 1e3, out);
        assertTrue(out.contains("warm-up (2 steps)"), out);
        assertTrue(out.matches("(?s).*java {4}steady state median [0-9.]+ ms/step \\(IQR [0-9.]+-[0-9.]+, min [0-9.]+, max [0-9.]+, mean [0-9.]+, n 3\\).*"), out);
        assertTrue(out.matches("(?s).*losses first step: itc [0-9.]+, itm [0-9.]+, itg [0-9.]+, rec [0-9.]+, total [0-9.]+.*"), out);
        // the reference's --profile lines: name padded to 40, count, self time
        assertTrue(out.matches("(?s).*aten op calls \\(top 5 by count\\):\n(  \\S.{39} +\\d+  self cpu +[0-9.]+ ms\n){5}total distinct ops \\d+, total calls \\d+.*"), out);
    }

    @Test
    void aMissingReferenceScriptIsAClearError() {
        CliTest.Result r = CliTest.run("bench", "stage1", "--config", TINY, "--random-weights", "--compare-pytorch", "--pytorch-script",
                "/nonexistent/pytorch_stage1_cpu.py");
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("--compare-pytorch: the PyTorch reference script /nonexistent/pytorch_stage1_cpu.py is not there"), r.err());
    }
}
