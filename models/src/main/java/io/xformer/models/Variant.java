package io.xformer.models;

import io.xformer.nn.TorchException;
import java.util.List;

/**
 * The model variants (config.json {@code "variant"}): which image features the Q-Former sees and
 * what stage 1 trains. The parts a variant has follow from it here, not from null checks.
 */
public enum Variant {
    /** X-Former: the MAE-ViT fused by the dual cross-attention block (block 1 before, block 2 after the Q-Former); reconstruction loss. */
    XFORMER("xformer"),
    /** BLIP-2: CLIP-ViT and Q-Former only. */
    BLIP2("blip2"),
    /** Ablation: the Q-Former's cross-attention reads [C; W M]. */
    CONCAT("concat"),
    /** Ablation: the CLIP tokens cross-attend to W M before the Q-Former. */
    EARLY_CA("early-ca");

    /** The variants stage 1 trains, and those stage 2 builds on. */
    public static final List<Variant> STAGE1 = List.of(XFORMER, BLIP2, CONCAT, EARLY_CA), STAGE2 = List.of(XFORMER, BLIP2);

    /** The config.json value. */
    public final String id;

    Variant(String id) {
        this.id = id;
    }

    /** A frozen MAE-ViT encodes the images too (pixel_values_mae). */
    public boolean hasMae() {
        return this != BLIP2;
    }

    /** The dual cross-attention block ({@code xformer.*}) and, in stage 1, the reconstruction term. */
    public boolean hasBlock() {
        return this == XFORMER;
    }

    /** MAE features fused into the Q-Former's memory before it runs ({@code xformer.*} of the ablations). */
    public boolean fusesBeforeQFormer() {
        return this == CONCAT || this == EARLY_CA;
    }

    /** The variant named id, one of allowed; what names the model in the error ("X-Former", "stage-2"). */
    public static Variant of(String id, List<Variant> allowed, String what) {
        for (Variant v : allowed) if (v.id.equals(id)) return v;
        throw new TorchException("config.json: unknown " + what + " variant '" + id + "' (" + String.join(", ", ids(allowed)) + ")");
    }

    public static List<String> ids(List<Variant> variants) {
        return variants.stream().map(v -> v.id).toList();
    }

    @Override
    public String toString() {
        return id;
    }
}
