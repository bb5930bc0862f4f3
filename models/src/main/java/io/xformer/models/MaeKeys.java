package io.xformer.models;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * transformers 5 names ViT-MAE's submodules differently inside the model
 * ({@code vit.layers.N.attention.q_proj}, {@code mlp.fc1}, {@code decoder.decoder_layers.N}) from
 * what {@code save_pretrained} writes ({@code vit.encoder.layer.N.attention.attention.query},
 * {@code intermediate.dense}, {@code decoder.decoder_encoder.layer.N}). {@link VitMae} uses the
 * saved names; X-Former checkpoints store the module names. These map between the two.
 */
final class MaeKeys {
    private MaeKeys() {}

    private static final Pattern MODULE = Pattern.compile("^(.*?)(vit\\.layers|decoder\\.decoder_layers)\\.(\\d+)\\.(.+)$");
    private static final Pattern SAVED = Pattern.compile("^(.*?)(vit\\.encoder\\.layer|decoder\\.decoder_encoder\\.layer)\\.(\\d+)\\.(.+)$");

    private static final String[][] INNER = {
        {"attention.q_proj.", "attention.attention.query."},
        {"attention.k_proj.", "attention.attention.key."},
        {"attention.v_proj.", "attention.attention.value."},
        {"attention.o_proj.", "attention.output.dense."},
        {"mlp.fc1.", "intermediate.dense."},
        {"mlp.fc2.", "output.dense."},
    };

    /** A module-style key (X-Former checkpoint) -> the saved-style key VitMae uses; other keys unchanged. */
    static String toSaved(String key) {
        Matcher m = MODULE.matcher(key);
        if (!m.matches()) return key;
        String stack = m.group(2).equals("vit.layers") ? "vit.encoder.layer" : "decoder.decoder_encoder.layer";
        return m.group(1) + stack + "." + m.group(3) + "." + inner(m.group(4), 0, 1);
    }

    /** The inverse of {@link #toSaved}. */
    static String toModule(String key) {
        Matcher m = SAVED.matcher(key);
        if (!m.matches()) return key;
        String stack = m.group(2).equals("vit.encoder.layer") ? "vit.layers" : "decoder.decoder_layers";
        return m.group(1) + stack + "." + m.group(3) + "." + inner(m.group(4), 1, 0);
    }

    private static String inner(String rest, int from, int to) {
        for (String[] r : INNER) if (rest.startsWith(r[from])) return r[to] + rest.substring(r[from].length());
        return rest;
    }
}
