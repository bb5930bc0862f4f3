package io.xformer.models;

import io.xformer.hf.HfCheckpoint;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Guard;
import io.xformer.nn.InputException;
import io.xformer.nn.Module;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A HuggingFace checkpoint loaded into the model its {@code config.json}'s architectures
 * names, run in eval mode under inference mode. Inputs and outputs use the tensor names of
 * the fixtures' golden files ({@code pixel_values}, {@code input_ids}, ... -> {@code logits}, ...).
 */
public abstract class Pretrained implements AutoCloseable {
    public static final Set<String> ARCHITECTURES = new TreeSet<>(Set.of("ViTMAEForPreTraining", "ViTMAEModel",
            "Blip2ForImageTextRetrieval", "Blip2ForConditionalGeneration", "OPTForCausalLM", "XFormerForPreTraining",
            "XFormerForConditionalGeneration"));

    protected final String architecture;
    protected final Module module;
    protected final Device device;

    Pretrained(String architecture, Module module, Device device) {
        this.architecture = architecture;
        this.module = module;
        this.device = device;
    }

    public String architecture() {
        return architecture;
    }

    public Module module() {
        return module;
    }

    /** Loads DIR onto device, weights converted to dtype (null keeps the file's). Strict key match. */
    public static Pretrained load(Path dir, Device device, DType dtype) {
        return load(dir, device, dtype, null);
    }

    /**
     * Loads a model folder, a weights file with its config.json beside it, or a HF cache id
     * ({@code ORG/NAME[@REV]}); stateKey picks the state dict of a torch.save training checkpoint
     * (see {@link HfCheckpoint#open(Path, String)}).
     */
    public static Pretrained load(Path dir, Device device, DType dtype, String stateKey) {
        try (HfCheckpoint ckpt = HfCheckpoint.open(dir, stateKey)) {
            String arch = ckpt.architecture();
            Pretrained p = switch (arch) {
                case "ViTMAEForPreTraining" -> new Mae(arch, new VitMae.ForPreTraining(VitMae.Config.from(ckpt.config())), device);
                case "ViTMAEModel" -> new Mae(arch, new VitMae.Encoder(VitMae.Config.from(ckpt.config())), device);
                case "Blip2ForImageTextRetrieval" -> new Retrieval(arch, new Blip2Retrieval(Blip2Retrieval.Config.from(ckpt.config())), device);
                case "Blip2ForConditionalGeneration", "XFormerForConditionalGeneration" -> new Generation(arch,
                        new XFormerForConditionalGeneration(XFormerForConditionalGeneration.Config.from(ckpt.config())), device);
                case "OPTForCausalLM" -> new CausalLm(arch, new Opt(Opt.Config.from(ckpt.config())), device);
                case "XFormerForPreTraining" -> new Stage1(arch, new XFormer(XFormer.Config.from(ckpt.config())), device);
                case "" -> throw new InputException(dir.resolve(HfCheckpoint.CONFIG) + ": no \"architectures\" entry");
                default -> throw new InputException(dir.resolve(HfCheckpoint.CONFIG) + ": unknown architecture '" + arch
                        + "' (supported: " + String.join(", ", ARCHITECTURES) + ")");
            };
            try {
                java.util.function.Function<String, String> lavis = ckpt.isLavis() ? Pretrained::withoutLavisExtras : k -> k;
                java.util.function.Function<String, String> rename = p.module instanceof XFormer ? XFormer::fromCheckpointKey
                        : p.module instanceof XFormerForConditionalGeneration
                        // a T5 LM's encoder/decoder.embed_tokens are stored copies of shared
                        ? k -> k.startsWith("language_model.") && T5.isTiedCopy(k.substring(15)) || lavis.apply(k) == null ? null
                                : XFormer.fromCheckpointKey(lavis.apply(k))
                        : ckpt.isLavis() ? Pretrained::withoutLavisExtras : null;
                p.module.loadStateDict(ckpt.source(), rename, dtype, device, true);
            } catch (InputException e) {
                p.close();
                throw new InputException(dir + ": " + e.getMessage(), e);
            } catch (TorchException e) {
                p.close();
                throw new TorchException(dir + ": " + e.getMessage(), e);
            }
            return p;
        }
    }

    /** A LAVIS checkpoint's Q-Former LM head and ITC temperature, which transformers' BLIP-2 models lack. */
    static String withoutLavisExtras(String key) {
        return key.startsWith("cls.") || key.equals("temp") ? null : key;
    }

    /** Inputs by name; required ones missing give an error naming the file's role. */
    public record Inputs(Map<String, Tensor> tensors, String origin) {
        public Tensor require(String name, String architecture) {
            Tensor t = tensors.get(name);
            if (t == null)
                throw new InputException(origin + ": input '" + name + "' is required by " + architecture + " (have "
                        + new TreeSet<>(tensors.keySet()) + ")");
            return t;
        }

        public Tensor optional(String name) {
            return tensors.get(name);
        }

        /** attention_mask, or all ones (no padding) shaped like ids. */
        public Tensor maskFor(Tensor ids) {
            Tensor m = tensors.get("attention_mask");
            return m != null ? m : Torch.ones(DType.I64, ids.device(), ids.shape());
        }
    }

    /** (vocabulary size, max positions) input_ids must fit, or null for a model without text input. */
    protected long[] idLimits() {
        return null;
    }

    /** Checks input_ids on the host before upload: ids in the vocabulary, length (+ new tokens) within positions. */
    protected final void checkIds(Inputs in, long newTokens) {
        long[] lim = idLimits();
        Tensor ids = in.tensors().get("input_ids");
        if (lim != null && ids != null) InputChecks.ids(ids, "input_ids", in.origin(), architecture, lim[0], lim[1], newTokens);
    }

    /** Runs the forward pass; every output is owned by the caller's scope. */
    public final Map<String, Tensor> forward(Inputs in) {
        checkIds(in, 0);
        try (Guard g = Guard.inferenceMode(); Scope s = Scope.open()) {
            Map<String, Tensor> out = run(new Inputs(onDevice(in.tensors()), in.origin()));
            Map<String, Tensor> kept = new LinkedHashMap<>();
            Set<Tensor> moved = Collections.newSetFromMap(new IdentityHashMap<>());
            // an output may appear under two names: hand each tensor on once
            out.forEach((k, v) -> kept.put(k, moved.add(v) ? s.keep(v) : v));
            return kept;
        }
    }

    /**
     * Inputs on the model's device; floating inputs in the weights' dtype (a BF16 model takes F32
     * pixel_values), except noise, which only orders patches and keeps its precision.
     */
    protected Map<String, Tensor> onDevice(Map<String, Tensor> m) {
        DType w = weightDtype();
        Map<String, Tensor> r = new LinkedHashMap<>();
        m.forEach((k, v) -> {
            boolean cast = w != null && v.dtype().isFloatingPoint() && v.dtype() != w && !k.equals("noise");
            r.put(k, cast ? v.to(device, w, false) : v.device().equals(device) ? v : v.to(device));
        });
        return r;
    }

    private DType weightDtype() {
        for (var p : module.namedParameters().values()) {
            if (!p.isBuffer() && p.get().dtype().isFloatingPoint()) return p.get().dtype();
        }
        return null;
    }

    protected abstract Map<String, Tensor> run(Inputs in);

    /** Decodes new tokens after the prompt; only language models support it. */
    public Tensor generate(Inputs in, Generate.Options options) {
        throw new TorchException(architecture + " does not generate text");
    }

    /** Generation defaults from the language model's config (eos, pad). */
    public Generate.Options options(int numBeams, int maxNewTokens, int minNewTokens, double lengthPenalty) {
        throw new TorchException(architecture + " does not generate text");
    }

    @Override
    public void close() {
        module.close();
    }

    static Tensor pixelsOf(Inputs in, String arch) {
        return in.require("pixel_values", arch);
    }

    private static final class Mae extends Pretrained {
        Mae(String a, Module m, Device d) {
            super(a, m, d);
        }

        @Override
        protected Map<String, Tensor> run(Inputs in) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            Tensor pixels = pixelsOf(in, architecture), noise = in.optional("noise");
            if (module instanceof VitMae.ForPreTraining m) {
                VitMae.ForPreTraining.Output o = m.forward(pixels, noise);
                put(out, o.encoded());
                out.put("logits", o.logits());
                out.put("loss", o.loss().reshape(1));
            } else {
                put(out, ((VitMae.Encoder) module).forward(pixels, noise));
            }
            return out;
        }

        private static void put(Map<String, Tensor> out, VitMae.Encoded e) {
            out.put("mask", e.mask());
            out.put("ids_restore", e.idsRestore());
            out.put("encoder_last_hidden_state", e.lastHiddenState());
        }
    }

    private static final class Retrieval extends Pretrained {
        Retrieval(String a, Blip2Retrieval m, Device d) {
            super(a, m, d);
        }

        @Override
        protected long[] idLimits() {
            QFormer.Config q = ((Blip2Retrieval) module).cfg.qformer();
            return new long[] {q.vocabSize(), q.maxPositions()};
        }

        @Override
        protected Map<String, Tensor> run(Inputs in) {
            Blip2Retrieval m = (Blip2Retrieval) module;
            Tensor ids = in.require("input_ids", architecture);
            Tensor mask = in.maskFor(ids);
            Blip2Vision.Output v = m.visionModel.forward(pixelsOf(in, architecture));
            Map<String, Tensor> out = new LinkedHashMap<>();
            out.put("vision_last_hidden_state", v.lastHiddenState());
            out.put("vision_pooler_output", v.pooled());
            out.put("itm_logits", m.itm(v.lastHiddenState(), ids, mask));
            Tensor img = m.imageFeatures(v.lastHiddenState()), txt = m.textFeatures(ids, mask);
            out.put("itc_image_embeds", img);
            out.put("itc_text_embeds", txt);
            out.put("itc_logits_per_image", Blip2Retrieval.itcLogits(img, txt));
            return out;
        }
    }

    /** Runners that decode text: the language model, and the embeddings of a prompt. */
    private abstract static class Generative extends Pretrained {
        Generative(String a, Module m, Device d) {
            super(a, m, d);
        }

        abstract Opt lm();

        @Override
        protected long[] idLimits() {
            return new long[] {lm().cfg.vocabSize(), lm().cfg.maxPositions()};
        }

        abstract Tensor promptEmbeds(Inputs in, Tensor ids);

        @Override
        public Tensor generate(Inputs in, Generate.Options options) {
            checkIds(in, options.maxNewTokens());
            try (Guard g = Guard.inferenceMode(); Scope s = Scope.open()) {
                Inputs d = new Inputs(onDevice(in.tensors()), in.origin());
                Tensor ids = d.require("input_ids", architecture);
                return s.keep(Generate.generate(lm(), ids, promptEmbeds(d, ids), d.optional("attention_mask"), options));
            }
        }

        @Override
        public Generate.Options options(int numBeams, int maxNewTokens, int minNewTokens, double lengthPenalty) {
            Opt.Config t = lm().cfg;
            return new Generate.Options(numBeams, maxNewTokens, minNewTokens, lengthPenalty, t.eosTokenId(), t.padTokenId(), false);
        }
    }

    /**
     * Blip2ForConditionalGeneration / XFormerForConditionalGeneration: queries in place of the
     * image-token placeholders, then OPT (logits, loss from labels) or T5 (encoder_last_hidden_state,
     * logits and loss from decoder_input_ids / labels).
     */
    private static final class Generation extends Pretrained {
        Generation(String a, XFormerForConditionalGeneration m, Device d) {
            super(a, m, d);
        }

        private XFormerForConditionalGeneration model() {
            return (XFormerForConditionalGeneration) module;
        }

        /** The language model's vocabulary and positions; T5's relative positions set no length limit. */
        @Override
        protected long[] idLimits() {
            if (model().languageModel instanceof T5 t5) return new long[] {t5.cfg.vocabSize(), Long.MAX_VALUE};
            Opt.Config c = model().opt().cfg;
            return new long[] {c.vocabSize(), c.maxPositions()};
        }

        private XFormerForConditionalGeneration.Encoded encode(Inputs in) {
            XFormerForConditionalGeneration m = model();
            return m.encode(pixelsOf(in, architecture), m.cfg.hasMae() ? in.require("pixel_values_mae", architecture) : null,
                    in.optional("noise"));
        }

        @Override
        public Tensor generate(Inputs in, Generate.Options options) {
            checkIds(in, options.maxNewTokens());
            try (Guard g = Guard.inferenceMode(); Scope s = Scope.open()) {
                Inputs d = new Inputs(onDevice(in.tensors()), in.origin());
                return s.keep(model().generate(encode(d), null, null, d.require("input_ids", architecture), d.optional("attention_mask"),
                        options));
            }
        }

        @Override
        public Generate.Options options(int numBeams, int maxNewTokens, int minNewTokens, double lengthPenalty) {
            if (model().languageModel instanceof T5 t5) return Seq2SeqGenerate.options(t5.cfg, numBeams, maxNewTokens, minNewTokens, lengthPenalty);
            Opt.Config t = model().opt().cfg;
            return new Generate.Options(numBeams, maxNewTokens, minNewTokens, lengthPenalty, t.eosTokenId(), t.padTokenId(), false);
        }

        @Override
        protected Map<String, Tensor> run(Inputs in) {
            XFormerForConditionalGeneration m = model();
            Tensor labels = in.optional("labels"), decoderIds = in.optional("decoder_input_ids");
            if (m.languageModel instanceof T5 && labels == null && decoderIds == null)
                throw new InputException(in.origin() + ": a T5 language model needs 'decoder_input_ids' or 'labels'");
            XFormerForConditionalGeneration.Output o = m.forward(pixelsOf(in, architecture),
                    m.mae == null ? null : in.require("pixel_values_mae", architecture), in.optional("noise"),
                    in.require("input_ids", architecture), in.optional("attention_mask"), decoderIds, labels);
            Map<String, Tensor> out = new LinkedHashMap<>();
            if (o.vision().afterFirstLayer() != null) out.put("vision_hidden_first", o.vision().afterFirstLayer());
            out.put("vision_last_hidden_state", o.vision().lastHiddenState());
            out.put("vision_pooler_output", o.vision().pooled());
            out.put("qformer_last_hidden_state", o.qformerOutput());
            out.put("language_projection", o.languageInputs());
            if (o.encoderLastHiddenState() != null) out.put("encoder_last_hidden_state", o.encoderLastHiddenState());
            out.put("logits", o.logits());
            if (o.loss() != null) out.put("loss", o.loss().reshape(1));
            return out;
        }
    }

    private static final class Stage1 extends Pretrained {
        Stage1(String a, XFormer m, Device d) {
            super(a, m, d);
        }

        @Override
        protected long[] idLimits() {
            QFormer.Config q = ((XFormer) module).cfg.qformer();
            return new long[] {q.vocabSize(), q.maxPositions()};
        }

        @Override
        protected Map<String, Tensor> run(Inputs in) {
            XFormer m = (XFormer) module;
            Tensor ids = in.require("input_ids", architecture);
            Tensor mask = in.maskFor(ids);
            long b = ids.size(0);
            // without given negatives: the next image / text in the batch (deterministic)
            Tensor next = Torch.arange(1, b + 1, 1, DType.I64, ids.device()).remainder(b);
            Tensor negText = in.optional("itm_neg_text_idx"), negImage = in.optional("itm_neg_image_idx");
            XFormer.Output o = m.forward(pixelsOf(in, architecture), m.cfg.hasMae() ? in.require("pixel_values_mae", architecture) : null,
                    in.optional("noise"), ids, mask, negText == null ? next : negText, negImage == null ? next : negImage);
            Map<String, Tensor> out = new LinkedHashMap<>();
            if (m.cfg.kind().hasBlock()) out.put("qformer_query_output", o.vision().z());
            out.put("query_output", o.vision().zPrime());
            out.put("text_cls", o.textCls());
            out.put("itc_sim_i2t", o.itcSim());
            out.put("itm_logits", o.itmLogits());
            out.put("itg_logits", o.itgLogits());
            out.put("loss_itc", o.lossItc().reshape(1));
            out.put("loss_itm", o.lossItm().reshape(1));
            out.put("loss_itg", o.lossItg().reshape(1));
            if (m.cfg.hasMae()) out.put("mae_mask", o.vision().mae().mask());
            if (m.cfg.kind().hasBlock()) {
                // M' under the name the fixtures and earlier outputs use
                out.put("mae_enriched", o.maeProjected());
                out.put("rec_logits", o.recLogits());
                out.put("loss_rec", o.lossRec().reshape(1));
            }
            out.put("loss", o.loss().reshape(1));
            return out;
        }
    }

    private static final class CausalLm extends Generative {
        CausalLm(String a, Opt m, Device d) {
            super(a, m, d);
        }

        @Override
        Opt lm() {
            return (Opt) module;
        }

        @Override
        Tensor promptEmbeds(Inputs in, Tensor ids) {
            return lm().embed(ids);
        }

        @Override
        protected Map<String, Tensor> run(Inputs in) {
            Opt m = (Opt) module;
            Tensor ids = in.require("input_ids", architecture);
            return new LinkedHashMap<>(Map.of("logits", m.forward(m.embed(ids), in.optional("attention_mask"), null)));
        }

    }
}
