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

    @Option(names = "--num-beams", defaultValue = "1", description = "1: greedy; more: beam search")
    int numBeams;

    @Option(names = "--max-new-tokens", defaultValue = "20", description = "tokens to decode after the prompt")
    int maxNewTokens;

    @Option(names = "--min-new-tokens", defaultValue = "0", description = "EOS is suppressed before this many new tokens")
    int minNewTokens;

    @Option(names = "--length-penalty", defaultValue = "1.0",
            description = "beam scores are divided by length^X, as in transformers")
    double lengthPenalty;

    @Option(names = "--output", required = true, paramLabel = "OUT.safetensors", description = "where `sequences` is written")
    Path output;

    @Override
    public Integer call() {
        try (Scope s = Scope.open(); Pretrained p = model.load()) {
            // sequences are ids: what goes non-finite is the weights they were decoded from
            for (String bad : io.xformer.models.NonFinite.inWeights(p.module()))
                System.err.println("xformer: warning: sequences decoded from non-finite weights: " + bad);
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
