package io.xformer.cli;

import io.xformer.models.Pretrained;
import io.xformer.nn.SafeTensors;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "forward", mixinStandardHelpOptions = true,
        description = "Run a checkpoint's forward pass (eval mode) on named input tensors and save every output.")
final class ForwardCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--inputs", required = true, paramLabel = "IN.safetensors",
            description = "pixel_values, pixel_values_mae, input_ids, attention_mask, labels, decoder_input_ids, noise (whichever the architecture uses; labels add `loss`)")
    Path inputs;

    @Option(names = "--output", required = true, paramLabel = "OUT.safetensors", description = "where every output tensor is written")
    Path output;

    @Override
    public Integer call() {
        try (Scope s = Scope.open(); Pretrained p = model.load()) {
            Map<String, Tensor> in = SafeTensors.load(inputs);
            Map<String, Tensor> out = p.forward(new Pretrained.Inputs(in, inputs.toString()));
            SafeTensors.save(output, out, Map.of("architecture", p.architecture()));
            for (var e : out.entrySet())
                System.out.printf("%-28s %s %s%n", e.getKey(), Arrays.toString(e.getValue().shape()), e.getValue().dtype());
            System.out.println("wrote " + output);
            for (String bad : io.xformer.models.NonFinite.describe(out)) System.err.println("xformer: warning: output " + bad);
        }
        return 0;
    }
}
