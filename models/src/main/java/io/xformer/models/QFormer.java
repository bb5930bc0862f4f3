package io.xformer.models;

import com.fasterxml.jackson.databind.JsonNode;
import io.xformer.nn.Container;
import io.xformer.nn.DType;
import io.xformer.nn.Embedding;
import io.xformer.nn.F;
import io.xformer.nn.LayerNorm;
import io.xformer.nn.Linear;
import io.xformer.nn.Module;
import io.xformer.nn.ModuleList;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.Torch;
import io.xformer.nn.TorchException;

/**
 * BLIP-2's Q-Former (transformers' Blip2QFormerModel): a BERT encoder whose first
 * {@code queryLength} rows are learned queries. Queries cross-attend to the image every
 * {@code cross_attention_frequency} layers and use their own FFN ({@code intermediate_query},
 * {@code output_query}); text rows use the BERT FFN, present only with
 * {@code use_qformer_text_input}. Keys: {@code layernorm}, {@code encoder.layer.N.*}.
 */
public final class QFormer extends Module {
    public record Config(int hiddenSize, int layers, int heads, int intermediate, int crossAttentionFrequency,
                         int encoderHiddenSize, double layerNormEps, int vocabSize, int maxPositions,
                         boolean textInput, double dropout, double attentionDropout) {
        public static Config from(JsonNode c) {
            return new Config(Json.i(c, "hidden_size", 768), Json.i(c, "num_hidden_layers", 12),
                    Json.i(c, "num_attention_heads", 12), Json.i(c, "intermediate_size", 3072),
                    Json.i(c, "cross_attention_frequency", 2), Json.i(c, "encoder_hidden_size", 1408),
                    Json.d(c, "layer_norm_eps", 1e-12), Json.i(c, "vocab_size", 30522), Json.i(c, "max_position_embeddings", 512),
                    Json.b(c, "use_qformer_text_input", false), Json.d(c, "hidden_dropout_prob", 0.1),
                    Json.d(c, "attention_probs_dropout_prob", 0.1));
        }
    }

    /** BERT attention: {@code attention.{query,key,value}} then {@code output.{dense,LayerNorm}} around a residual. */
    public static final class Attention extends Module {
        final Linear query, key, value, dense;
        final LayerNorm norm;
        final int heads;
        final double dropout, attentionDropout;

        public Attention(int hidden, int kvHidden, int heads, double eps, double dropout, double attentionDropout) {
            this.heads = heads;
            this.dropout = dropout;
            this.attentionDropout = attentionDropout;
            Container self = child("attention", new Container());
            query = self.registerChild("query", new Linear(hidden, hidden, true));
            key = self.registerChild("key", new Linear(kvHidden, hidden, true));
            value = self.registerChild("value", new Linear(kvHidden, hidden, true));
            Container out = child("output", new Container());
            dense = out.registerChild("dense", new Linear(hidden, hidden, true));
            norm = out.registerChild("LayerNorm", new LayerNorm(hidden, eps));
        }

        /** x (B, T, D) attends to kv (B, S, E) under an additive mask (B or 1, 1, T or 1, S), or none. */
        public Tensor forward(Tensor x, Tensor kv, Tensor mask) {
            return forward(x, kv, null, mask);
        }

        /**
         * As {@link #forward(Tensor, Tensor, Tensor)}, x row b attending to kv row kvRows[b]
         * (kv (B', S, E), kvRows (B) indices into it; null: row b). Keys and values are projected
         * from the B' distinct rows and then gathered: ITM's pass over images [i, neg(i), i] projects
         * B rows instead of 3B (a third of the cross-attention projections, forward and backward).
         */
        public Tensor forward(Tensor x, Tensor kv, Tensor kvRows, Tensor mask) {
            try (Scope s = Scope.open()) {
                Tensor kp = key.forward(kv), vp = value.forward(kv); // (B', S, D)
                if (kvRows != null) {
                    kp = kp.indexSelect(0, kvRows); // (B, S, D)
                    vp = vp.indexSelect(0, kvRows);
                    if (mask != null && mask.size(0) > 1) mask = mask.indexSelect(0, kvRows); // a per-memory mask follows its rows
                }
                Tensor q = Heads.split(query.forward(x), heads), k = Heads.split(kp, heads),
                        v = Heads.split(vp, heads); // q (B, H, T, D/H); k, v (B, H, S, D/H)
                double p = training ? attentionDropout : 0;
                Tensor ctx = Heads.merge(F.scaledDotProductAttention(q, k, v, mask, p, false, 0)); // (B, T, D)
                return s.keep(norm.forward(F.dropout(dense.forward(ctx), dropout, training).add(x))); // (B, T, D), post-norm residual
            }
        }
    }

    /**
     * BERT FFN: {@code <intermediate>.dense} + GELU, then {@code <output>.{dense,LayerNorm}} around a
     * residual. Its layers are registered on the owning layer (HF names them siblings), so it
     * follows the owner's train/eval mode.
     */
    public static final class FeedForward {
        final Module owner;
        final Linear up, down;
        final LayerNorm norm;
        final double dropout;

        public FeedForward(Module owner, String inName, String outName, int hidden, int inter, double eps, double dropout) {
            this.owner = owner;
            this.dropout = dropout;
            up = owner.registerChild(inName, new Container()).registerChild("dense", new Linear(hidden, inter, true));
            Container out = owner.registerChild(outName, new Container());
            down = out.registerChild("dense", new Linear(inter, hidden, true));
            norm = out.registerChild("LayerNorm", new LayerNorm(hidden, eps));
        }

        public Tensor forward(Tensor x) {
            try (Scope s = Scope.open()) {
                // (B, T, D) -> (B, T, I) -> (B, T, D)
                return s.keep(norm.forward(F.dropout(down.forward(F.gelu(up.forward(x))), dropout, owner.isTraining()).add(x)));
            }
        }
    }

    /** Blip2QFormerLayer. */
    public static final class Layer extends Module {
        final Attention attention, crossattention;
        final FeedForward textFfn, queryFfn;

        /** kvHidden: width of what cross-attention reads (the image features, or X-Former's enriched MAE features). */
        public Layer(Config c, boolean hasCross, int kvHidden) {
            attention = child("attention", new Attention(c.hiddenSize, c.hiddenSize, c.heads, c.layerNormEps, c.dropout, c.attentionDropout));
            crossattention = hasCross
                    ? child("crossattention", new Attention(c.hiddenSize, kvHidden, c.heads, c.layerNormEps, c.dropout, c.attentionDropout)) : null;
            // The FFNs register their Linear/LayerNorm children directly on this layer (HF names them siblings).
            textFfn = c.textInput ? new FeedForward(this, "intermediate", "output", c.hiddenSize, c.intermediate,
                    c.layerNormEps, c.dropout) : null;
            queryFfn = new FeedForward(this, "intermediate_query", "output_query", c.hiddenSize, c.intermediate,
                    c.layerNormEps, c.dropout);
        }

        public boolean hasCrossAttention() {
            return crossattention != null;
        }

        /**
         * hidden (B, T, D) with the first queryLength rows queries; selfMask additive or null;
         * memory (B, S, E) for the queries' cross-attention (null = skip it).
         */
        public Tensor forward(Tensor hidden, Tensor selfMask, int queryLength, Tensor memory, Tensor memoryMask) {
            return forward(hidden, selfMask, queryLength, memory, null, memoryMask);
        }

        /** As above, query row b reading memory row memoryRows[b] (see {@link Attention#forward(Tensor, Tensor, Tensor, Tensor)}). */
        public Tensor forward(Tensor hidden, Tensor selfMask, int queryLength, Tensor memory, Tensor memoryRows, Tensor memoryMask) {
            try (Scope s = Scope.open()) {
                Tensor a = attention.forward(hidden, hidden, selfMask); // (B, T, D)
                long t = a.size(1);
                if (queryLength == 0) return s.keep(text(a));
                Tensor q = a.narrow(1, 0, queryLength); // (B, Q, D): only the queries read the memory
                if (crossattention != null && memory != null) q = crossattention.forward(q, memory, memoryRows, memoryMask);
                Tensor out = queryFfn.forward(q); // (B, Q, D)
                // (B, Q+L, D), text rows through the text FFN
                if (t > queryLength) out = Torch.cat(1, out, text(a.narrow(1, queryLength, t - queryLength)));
                return s.keep(out);
            }
        }

        private Tensor text(Tensor x) {
            if (textFfn == null)
                throw new TorchException("this Q-Former has no text FFN (use_qformer_text_input is false)");
            return textFfn.forward(x);
        }
    }

    public final Config cfg;
    public final LayerNorm layernorm;
    public final ModuleList<Layer> layers;

    public QFormer(Config cfg) {
        this.cfg = cfg;
        layernorm = child("layernorm", new LayerNorm(cfg.hiddenSize, cfg.layerNormEps));
        layers = child("encoder", new Container()).registerChild("layer", new ModuleList<>(cfg.layers,
                i -> new Layer(cfg, i % cfg.crossAttentionFrequency == 0, cfg.encoderHiddenSize)));
    }

    /** Embeddings -> layernorm -> dropout: the input of the first layer. */
    public Tensor embed(Tensor embeddings) {
        try (Scope s = Scope.open()) {
            return s.keep(F.dropout(layernorm.forward(embeddings), cfg.dropout, training));
        }
    }

    /**
     * embeddings (B, T, D) (queries first, then text); selfMask additive (see {@link Masks}) or
     * null; image (B, S, E) or null. Returns the last hidden state (B, T, D).
     */
    public Tensor forward(Tensor embeddings, int queryLength, Tensor selfMask, Tensor image) {
        return forward(embeddings, queryLength, selfMask, image, null);
    }

    /** As above, row b reading image row imageRows[b] (image (B', S, E), imageRows (B); null: row b). */
    public Tensor forward(Tensor embeddings, int queryLength, Tensor selfMask, Tensor image, Tensor imageRows) {
        try (Scope s = Scope.open()) {
            Tensor h = embed(embeddings); // (B, T, D)
            for (Layer layer : layers) h = layer.forward(h, selfMask, queryLength, image, imageRows, null);
            return s.keep(h);
        }
    }

    /** Blip2TextEmbeddings: word + absolute position embeddings ({@code word_embeddings}, {@code position_embeddings}). */
    public static final class TextEmbeddings extends Module {
        public final Embedding words, positions;

        public TextEmbeddings(Config c) {
            words = child("word_embeddings", new Embedding(c.vocabSize, c.hiddenSize));
            positions = child("position_embeddings", new Embedding(c.maxPositions, c.hiddenSize));
        }

        /** ids (B, L) -> (B, L, D), positions 0..L-1. */
        public Tensor forward(Tensor ids) {
            try (Scope s = Scope.open()) {
                long l = ids.size(1);
                Tensor pos = DeviceConstants.arange(l, ids.device()); // (L)
                return s.keep(words.forward(ids).add(positions.forward(pos))); // (B, L, D) + (L, D)
            }
        }
    }
}
