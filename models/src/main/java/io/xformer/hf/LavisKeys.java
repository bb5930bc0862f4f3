package io.xformer.hf;

import io.xformer.nn.Torch;
import io.xformer.nn.Tensor;
import io.xformer.nn.TorchException;
import java.util.Arrays;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LAVIS's BLIP-2 parameter names ({@code visual_encoder.*}, {@code ln_vision}, {@code Qformer.bert.*},
 * {@code opt_proj}, {@code opt_model}, ...) under transformers' names, as transformers'
 * {@code convert_blip_2_original_to_pytorch.py} renames them: the EVA ViT's separate
 * {@code q_bias} / {@code v_bias} become one {@code qkv.bias} = [q, 0, v], BERT's
 * {@code attention.self} becomes {@code attention.attention}, {@code Qformer.bert} becomes
 * {@code qformer}. The Q-Former's LM head ({@code Qformer.cls.*}, which transformers' BLIP-2
 * lacks) is kept as X-Former's {@code cls.*}; its tied decoder copies and {@code position_ids}
 * are dropped.
 */
public final class LavisKeys {
    private LavisKeys() {}

    private static final Pattern BLOCK = Pattern.compile("^visual_encoder\\.blocks\\.(\\d+)\\.(.+)$");

    /** Whether names are LAVIS's: any of its top-level module names is present. */
    public static boolean isLavis(Collection<String> names) {
        for (String n : names)
            if (n.startsWith("visual_encoder.") || n.startsWith("ln_vision.") || n.startsWith("Qformer.") || n.startsWith("opt_proj."))
                return true;
        return false;
    }

    /** The transformers name of a LAVIS key, or null for keys with no counterpart (dropped). */
    public static String toHf(String key) {
        Matcher b = BLOCK.matcher(key);
        if (b.matches()) {
            String base = "vision_model.encoder.layers." + b.group(1) + ".", rest = b.group(2);
            if (rest.startsWith("norm1.")) return base + "layer_norm1." + rest.substring(6);
            if (rest.startsWith("norm2.")) return base + "layer_norm2." + rest.substring(6);
            if (rest.equals("attn.qkv.weight")) return base + "self_attn.qkv.weight";
            if (rest.startsWith("attn.proj.")) return base + "self_attn.projection." + rest.substring(10);
            if (rest.startsWith("mlp.")) return base + rest;
            return key; // q_bias / v_bias are merged by toHf(Map); anything else is reported unexpected
        }
        switch (key) {
            case "visual_encoder.cls_token": return "vision_model.embeddings.class_embedding";
            case "visual_encoder.pos_embed": return "vision_model.embeddings.position_embedding";
            case "visual_encoder.patch_embed.proj.weight": return "vision_model.embeddings.patch_embedding.weight";
            case "visual_encoder.patch_embed.proj.bias": return "vision_model.embeddings.patch_embedding.bias";
            case "ln_vision.weight": return "vision_model.post_layernorm.weight";
            case "ln_vision.bias": return "vision_model.post_layernorm.bias";
            case "Qformer.bert.embeddings.LayerNorm.weight": return "qformer.layernorm.weight";
            case "Qformer.bert.embeddings.LayerNorm.bias": return "qformer.layernorm.bias";
            case "Qformer.bert.embeddings.word_embeddings.weight": return "embeddings.word_embeddings.weight";
            case "Qformer.bert.embeddings.position_embeddings.weight": return "embeddings.position_embeddings.weight";
            case "Qformer.bert.embeddings.position_ids": return null;
            default: break;
        }
        if (key.startsWith("Qformer.cls.predictions.decoder.")) return null; // tied to the word embeddings and bias
        if (key.startsWith("Qformer.cls.")) return key.substring("Qformer.".length());
        if (key.startsWith("Qformer.bert.")) return "qformer." + key.substring("Qformer.bert.".length()).replace("attention.self.", "attention.attention.");
        if (key.startsWith("vision_proj.")) return "vision_projection." + key.substring("vision_proj.".length());
        if (key.startsWith("text_proj.")) return "text_projection." + key.substring("text_proj.".length());
        if (key.startsWith("opt_proj.")) return "language_projection." + key.substring("opt_proj.".length());
        if (key.startsWith("opt_model.")) return "language_model." + key.substring("opt_model.".length());
        return key; // query_tokens, itm_head.*, temp keep their names
    }

    /** The slots of a LAVIS checkpoint under transformers' names. */
    static Map<String, HfCheckpoint.Slot> toHf(Map<String, HfCheckpoint.Slot> lavis) {
        Map<String, HfCheckpoint.Slot> out = new TreeMap<>();
        for (Map.Entry<String, HfCheckpoint.Slot> e : lavis.entrySet()) {
            String key = e.getKey();
            Matcher b = BLOCK.matcher(key);
            if (b.matches() && (b.group(2).equals("attn.q_bias") || b.group(2).equals("attn.v_bias"))) {
                if (b.group(2).equals("attn.v_bias")) continue;
                String v = "visual_encoder.blocks." + b.group(1) + ".attn.v_bias";
                HfCheckpoint.Slot q = e.getValue(), vs = lavis.get(v);
                if (vs == null) throw new TorchException(q.entry().file() + ": '" + key + "' has no matching '" + v + "'");
                String name = "vision_model.encoder.layers." + b.group(1) + ".self_attn.qkv.bias";
                out.put(name, qkvBias(name, q, vs));
                continue;
            }
            String hf = toHf(key);
            if (hf == null) continue;
            if (out.put(hf, e.getValue()) != null) throw new TorchException(e.getValue().entry().file() + ": two tensors map to '" + hf + "'");
        }
        return out;
    }

    /** EVA's attention has no key bias: qkv.bias = [q_bias, zeros, v_bias]. */
    private static HfCheckpoint.Slot qkvBias(String name, HfCheckpoint.Slot q, HfCheckpoint.Slot v) {
        long[] qs = q.entry().shape(), vs = v.entry().shape();
        if (qs.length != 1 || vs.length != 1 || qs[0] != vs[0])
            throw new TorchException(q.entry().file() + ": q_bias " + Arrays.toString(qs) + " and v_bias "
                    + Arrays.toString(vs) + " of '" + name + "' must be vectors of one size");
        HfCheckpoint.Entry e = new HfCheckpoint.Entry(name, q.entry().dtype(), new long[] {3 * qs[0]}, q.entry().file());
        return new HfCheckpoint.Slot(e, () -> {
            Tensor qt = q.get().get(), vt = v.get().get();
            return Torch.cat(0, qt, Torch.zeros(qt.dtype(), qt.device(), qs[0]), vt.to(qt.dtype()));
        });
    }
}
