package io.xformer.train;

import io.xformer.hf.HfCheckpoint;
import io.xformer.models.XFormer;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Generator;
import io.xformer.nn.Guard;
import io.xformer.nn.Module;
import io.xformer.nn.Parameter;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Initial weights of a stage-1 model: a whole XFormerForPreTraining folder, or random weights
 * overwritten part by part from HuggingFace folders: the CLIP-ViT from a BLIP-2 checkpoint,
 * the MAE from a ViTMAEForPreTraining checkpoint, and the Q-Former either from a BLIP-2
 * checkpoint or from {@code bert-base-uncased} as LAVIS does it (self-attention and FFN from
 * BERT, the query FFN a copy of the text FFN, cross-attention fresh, [DEC] a new embedding row).
 */
public final class Init {
    private Init() {}

    public static void apply(XFormer m, TrainConfig.Init init, Device device) {
        if (init.checkpoint() != null) {
            try (HfCheckpoint c = HfCheckpoint.open(init.checkpoint())) {
                m.loadStateDict(c.source(), XFormer::fromCheckpointKey, DType.F32, device, true);
            }
            return;
        }
        try (Generator g = new Generator(init.seed())) {
            m.initialize(g, DType.F32, device, init.std());
        }
        try (Guard ng = Guard.noGrad(); Scope s = Scope.open()) {
            // transformers' init for the fixed parts
            m.temp.set(Torch.full(XFormer.TEMP_INIT, DType.F32, device));
        }
        if (init.vision() != null) part(m, init.vision(), k -> k.startsWith("vision_model.") ? k : null, "vision_model.", device);
        if (init.mae() != null) {
            if (!m.cfg.hasMae()) throw new TorchException("init.mae given but the variant has no MAE branch");
            part(m, init.mae(), k -> k.startsWith("vit.") || k.startsWith("decoder.") ? "mae." + k : null, "mae.", device);
        }
        if (init.qformer() != null) qformer(m, init.qformer(), device);
    }

    /** Loads the keys rename() maps, requiring every parameter under prefix to be covered and shapes to match. */
    static void part(Module m, Path dir, Function<String, String> rename, String prefix, Device device) {
        try (HfCheckpoint c = HfCheckpoint.open(dir)) {
            Module.LoadReport r = m.loadStateDict(c.source(), rename, DType.F32, device, false);
            List<String> missing = r.missing().stream().filter(k -> k.startsWith(prefix)).toList();
            if (!missing.isEmpty() || !r.mismatched().isEmpty())
                throw new TorchException(dir + ": cannot initialise " + prefix + "*: missing " + missing + ", mismatched " + r.mismatched());
        }
    }

    private static final Pattern BERT_LAYER = Pattern.compile("^bert\\.encoder\\.layer\\.(\\d+)\\.(attention|intermediate|output)\\.(.+)$");

    static void qformer(XFormer m, Path dir, Device device) {
        try (HfCheckpoint c = HfCheckpoint.open(dir)) {
            boolean bert = c.names().stream().anyMatch(k -> k.startsWith("bert."));
            if (!bert) {
                part(m, dir, k -> k.startsWith("qformer.") || k.equals("query_tokens") || k.startsWith("embeddings.")
                        || k.startsWith("vision_projection") || k.startsWith("text_projection") || k.startsWith("itm_head") ? k : null,
                        "qformer.", device);
                return;
            }
            Map<String, Parameter> params = m.namedParameters();
            List<String> used = new ArrayList<>();
            try (Guard ng = Guard.noGrad(); Scope s = Scope.open()) {
                for (String key : c.names()) {
                    List<String> targets = bertTargets(key);
                    for (String t : targets) {
                        Parameter p = params.get(t);
                        if (p == null) continue;
                        Tensor src = c.get(key).to(device, DType.F32, false);
                        p.set(fit(src, p, key));
                        used.add(t);
                    }
                }
            }
            if (!used.contains("qformer.encoder.layer.0.attention.attention.query.weight"))
                throw new TorchException(dir + ": no BERT encoder weights (bert.encoder.layer.N.*) found");
        }
    }

    /** Where a bert-base-uncased key goes in the Q-Former (a text FFN also seeds the query FFN). */
    static List<String> bertTargets(String key) {
        Matcher l = BERT_LAYER.matcher(key);
        if (l.matches()) {
            String n = l.group(1), part = l.group(2), rest = tfNames(l.group(3));
            String base = "qformer.encoder.layer." + n + ".";
            // BERT's attention.self.* is the Q-Former's attention.attention.*
            if (part.equals("attention")) return List.of(base + "attention." + (rest.startsWith("self.") ? "attention." + rest.substring(5) : rest));
            String query = part.equals("intermediate") ? "intermediate_query." : "output_query.";
            return List.of(base + part + "." + rest, base + query + rest);
        }
        return switch (key) {
            case "bert.embeddings.word_embeddings.weight" -> List.of("embeddings.word_embeddings.weight");
            case "bert.embeddings.position_embeddings.weight" -> List.of("embeddings.position_embeddings.weight");
            case "bert.embeddings.LayerNorm.weight", "bert.embeddings.LayerNorm.gamma" -> List.of("qformer.layernorm.weight");
            case "bert.embeddings.LayerNorm.bias", "bert.embeddings.LayerNorm.beta" -> List.of("qformer.layernorm.bias");
            case "cls.predictions.bias" -> List.of("cls.predictions.bias");
            default -> key.startsWith("cls.predictions.transform.") ? List.of(tfNames(key)) : List.of();
        };
    }

    /** Old TF-converted checkpoints name LayerNorm parameters gamma / beta. */
    static String tfNames(String k) {
        if (k.endsWith(".gamma")) return k.substring(0, k.length() - 6) + ".weight";
        if (k.endsWith(".beta")) return k.substring(0, k.length() - 5) + ".bias";
        return k;
    }

    /** A BERT tensor for a slot whose leading dim may be larger (vocab + [DEC]): extra rows keep their fresh init. */
    static Tensor fit(Tensor src, Parameter p, String key) {
        long[] want = p.shape(), have = src.shape();
        if (Arrays.equals(want, have)) return src;
        boolean rowsOnly = want.length == have.length && want[0] > have[0];
        for (int i = 1; i < want.length && rowsOnly; i++) rowsOnly = want[i] == have[i];
        if (!rowsOnly)
            throw new TorchException(key + ": shape " + Arrays.toString(have) + " does not fit " + Arrays.toString(want));
        Tensor cur = p.get();
        return Torch.cat(0, src, cur.narrow(0, have[0], want[0] - have[0]));
    }
}
