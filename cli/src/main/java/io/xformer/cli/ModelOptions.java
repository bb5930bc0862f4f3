package io.xformer.cli;

import io.xformer.nn.DType;
import io.xformer.nn.Device;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by the commands that load a model. */
final class ModelOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "HuggingFace model folder")
    Path model;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N")
    String device;

    @Option(names = "--dtype", defaultValue = "F32", description = "weight dtype: F32, BF16, F16 (floating inputs follow it)")
    DType dtype;

    Device device() {
        return Device.parse(device);
    }
}
