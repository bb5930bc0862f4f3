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

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Greedy (--num-beams 1) or beam-search decoding; writes `sequences` (prompt + new tokens).")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--inputs", required = true, paramLabel = "IN.safetensors", description = "input_ids (+ pixel_values, pixel_values_mae for the xformer variant, attention_mask)")
    Path inputs;

    @Option(names = "--num-beams", defaultValue = "1")
    int numBeams;

    @Option(names = "--max-new-tokens", defaultValue = "20")
    int maxNewTokens;

    @Option(names = "--min-new-tokens", defaultValue = "0")
    int minNewTokens;

    @Option(names = "--length-penalty", defaultValue = "1.0")
    double lengthPenalty;

    @Option(names = "--output", required = true, paramLabel = "OUT.safetensors")
    Path output;

    @Override
    public Integer call() {
        try (Scope s = Scope.open(); Pretrained p = model.load()) {
            Map<String, Tensor> in = SafeTensors.load(inputs);
            Tensor seq = p.generate(new Pretrained.Inputs(in, inputs.toString()),
                    p.options(numBeams, maxNewTokens, minNewTokens, lengthPenalty));
            SafeTensors.save(output, Map.of("sequences", seq), Map.of("architecture", p.architecture()));
            long[] shape = seq.shape();
            long[] ids = seq.toLongArray();
            for (int i = 0; i < shape[0]; i++)
                System.out.println(Arrays.toString(Arrays.copyOfRange(ids, (int) (i * shape[1]), (int) ((i + 1) * shape[1]))));
            System.out.println("wrote " + output);
        }
        return 0;
    }
}
