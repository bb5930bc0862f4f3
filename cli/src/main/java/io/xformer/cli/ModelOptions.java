package io.xformer.cli;

import io.xformer.models.Pretrained;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by the commands that load a model. */
final class ModelOptions {
    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = "HuggingFace model folder (safetensors or pytorch_model.bin), a torch.save file with config.json beside it, "
                    + "or a model id ORG/NAME[@REV] found offline in $HF_HOME/hub or ~/.cache/huggingface/hub")
    Path model;

    @Option(names = "--state-key", paramLabel = "KEY",
            description = "dict of a torch.save training checkpoint holding the state dict (default: the whole file, or its 'model' / 'state_dict' entry)")
    String stateKey;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--dtype", defaultValue = "F32", description = "weight dtype: F32, BF16, F16 (floating inputs follow it)")
    DType dtype;

    Device device() {
        return Device.parse(device);
    }

    /** The model, in eval mode, with --device, --dtype and --state-key applied. */
    Pretrained load() {
        return Pretrained.load(model, device(), dtype, stateKey);
    }
}
