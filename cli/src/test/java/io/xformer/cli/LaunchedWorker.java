package io.xformer.cli;

import io.xformer.nn.Device;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import io.xformer.nn.dist.ProcessGroup;
import java.time.Duration;

/** A worker for {@link LauncherTest}: joins the job from torchrun's variables, then acts out its argument. */
public final class LaunchedWorker {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        try (ProcessGroup pg = ProcessGroup.fromEnvironment(Device.CPU, Duration.ofSeconds(60)).orElseThrow()) {
            Tensor t = Torch.tensor(new double[] {pg.rank() + 1}, 1);
            pg.allReduce(t, ProcessGroup.Op.SUM);
            System.out.println("local " + System.getenv("LOCAL_RANK") + "/" + System.getenv("LOCAL_WORLD_SIZE") + " sum " + t.item());
            System.out.flush();
            if (pg.rank() == 1 && mode.equals("exit3")) System.exit(3);
            if (pg.rank() == 1 && mode.equals("kill9"))
                new ProcessBuilder("kill", "-9", String.valueOf(ProcessHandle.current().pid())).start().waitFor();
            if (!mode.equals("ok")) {
                pg.allReduce(t, ProcessGroup.Op.SUM);  // rank 0 waits here for the failed rank
                Thread.sleep(600_000);
            }
        }
        System.exit(0);
    }
}
