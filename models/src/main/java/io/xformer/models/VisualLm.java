package io.xformer.models;

import io.xformer.data.Captions;
import io.xformer.data.Transform;
import io.xformer.nn.DType;
import io.xformer.nn.Device;
import io.xformer.nn.Guard;
import io.xformer.nn.Scope;
import io.xformer.nn.Tensor;
import io.xformer.nn.TensorRecord;
import io.xformer.nn.Torch;
import io.xformer.text.Tokenizer;
import java.awt.image.BufferedImage;
import java.util.Arrays;
import java.util.Random;

/**
 * Text in, text out for a stage-2 model: an image (resized to the model's size, CLIP- and
 * ImageNet-normalised), a prompt with the image-token placeholders in front (Blip2Processor's
 * layout; LAVIS's concatenation), the question also into the Q-Former when it takes text, and
 * decoding stopped at "\\n" as LAVIS's blip2_opt does (at {@code </s>} for T5). One image at a time.
 */
public final class VisualLm {
    /**
     * Decoding settings (EVAL.md §8): caption "a photo of", beam 5, 8-30 tokens, length penalty 1;
     * VQA "Question: {} Short answer:", beam 5, 1-10 tokens, length penalty 0 for OPT and -1 for Flan-T5.
     */
    public record Settings(String prompt, int numBeams, int maxNewTokens, int minNewTokens, double lengthPenalty, double t5LengthPenalty) {
        public Settings(String prompt, int numBeams, int maxNewTokens, int minNewTokens, double lengthPenalty) {
            this(prompt, numBeams, maxNewTokens, minNewTokens, lengthPenalty, lengthPenalty);
        }

        public static final Settings CAPTION = new Settings("a photo of", 5, 30, 8, 1.0, 1.0);
        public static final Settings VQA = new Settings("Question: {} Short answer:", 5, 10, 1, 0.0, -1.0);
    }

    private final XFormerForConditionalGeneration model;
    private final Tokenizer llmTokenizer, qformerTokenizer;
    private final Device device;
    private final long newline;

    /** qformerTokenizer may be null when the Q-Former takes no text. */
    public VisualLm(XFormerForConditionalGeneration model, Tokenizer llmTokenizer, Tokenizer qformerTokenizer, Device device) {
        this.model = model;
        this.llmTokenizer = llmTokenizer;
        this.qformerTokenizer = qformerTokenizer;
        this.device = device;
        this.newline = newlineId(llmTokenizer);
    }

    /** The id of "\\n" (the last token of tokenizing it, after any BOS). */
    public static long newlineId(Tokenizer tok) {
        long[] ids = tok.encode("\n");
        return ids[ids.length - 1];
    }

    public boolean takesQuestions() {
        return model.embeddings != null && qformerTokenizer != null;
    }

    /** One image's pixels for both encoders, (1, 3, S, S) each: CLIP-normalised and ImageNet-normalised (the MAE's). */
    public record Pixels(Tensor clip, Tensor mae) implements TensorRecord {}

    public Pixels pixels(BufferedImage img) {
        int size = model.cfg.vision().imageSize();
        float[] px = new Transform(size, false).apply(img, new Random(0));
        return new Pixels(Torch.tensor(Transform.normalize(px, Transform.CLIP_MEAN, Transform.CLIP_STD), 1, 3, size, size).to(device),
                Torch.tensor(Transform.normalize(px, Transform.IMAGENET_MEAN, Transform.IMAGENET_STD), 1, 3, size, size).to(device));
    }

    /**
     * The LLM's ids of a prompt, checked on the host: a tokenizer larger than the model's
     * vocabulary, or a prompt that with the queries and the new tokens outgrows OPT's positions,
     * would otherwise end in libtorch's "index out of range in self".
     */
    private void checkIds(long[] text, long extra, String origin) {
        // T5's relative positions set no length limit; its vocabulary still bounds the ids
        long vocab = model.languageModel instanceof T5 t5 ? t5.cfg.vocabSize() : model.opt().cfg.vocabSize();
        for (long id : text)
            if (id < 0 || id >= vocab)
                throw new io.xformer.nn.InputException(origin + ": the tokenizer gave id " + id + ", outside the language model's "
                        + "vocabulary of " + vocab + " (a tokenizer that does not belong to this model?)");
        if (model.languageModel instanceof T5) return;
        Opt.Config c = model.opt().cfg;
        if (text.length + extra > c.maxPositions())
            throw new io.xformer.nn.InputException(origin + ": " + text.length + " tokens + " + extra + " (queries and new tokens) "
                    + "exceed the language model's " + c.maxPositions() + " positions (max_position_embeddings)");
    }

    /** The text generated for img after settings.prompt (its "{}" replaced by question when given), stripped. */
    public String generate(BufferedImage img, String question, Settings settings) {
        try (Scope s = Scope.open(); Guard g = Guard.inferenceMode()) {
            model.train(false);
            Pixels px = pixels(img);
            String prompt = question == null ? settings.prompt() : settings.prompt().replace("{}", question);
            long[] text = llmTokenizer.encode(prompt);
            int nq = model.cfg.numQueryTokens();
            checkIds(text, nq + settings.maxNewTokens(), "prompt \"" + prompt + "\"");
            long[] ids = new long[nq + text.length];
            Arrays.fill(ids, 0, nq, model.cfg.imageTokenIndex());
            System.arraycopy(text, 0, ids, nq, text.length);
            Tensor idsT = Torch.tensor(ids, 1, ids.length).to(device);
            Tensor qIds = null, qMask = null;
            if (question != null && takesQuestions()) {
                long[] q = qformerTokenizer.encode(io.xformer.data.Captions.clean(question, 50));
                InputChecks.ids(Torch.tensor(q, 1, q.length), "question ids", "question \"" + question + "\"", "Q-Former",
                        model.cfg.qformer().vocabSize(), model.cfg.qformer().maxPositions(), 0);
                qIds = Torch.tensor(q, 1, q.length).to(device);
                qMask = Torch.ones(DType.I64, device, 1, q.length);
            }
            XFormerForConditionalGeneration.Encoded e = model.encode(px.clip(), model.cfg.hasMae() ? px.mae() : null, null);
            boolean t5 = model.languageModel instanceof T5;
            long eos;
            Generate.Options o;
            if (t5) {
                // an encoder-decoder LM ends at </s>; its output starts with the decoder start token
                T5.Config c = ((T5) model.languageModel).cfg;
                eos = c.eosTokenId();
                o = Seq2SeqGenerate.options(c, settings.numBeams(), settings.maxNewTokens(), settings.minNewTokens(), settings.t5LengthPenalty());
            } else {
                Opt.Config c = model.opt().cfg;
                eos = c.eosTokenId();
                o = new Generate.Options(settings.numBeams(), settings.maxNewTokens(), settings.minNewTokens(), settings.lengthPenalty(),
                        newline, c.padTokenId(), false);
            }
            long[] all = model.generate(e, qIds, qMask, idsT, null, o).toLongArray();
            long[] fresh = Arrays.copyOfRange(all, t5 ? 1 : ids.length, all.length);
            int end = 0;
            while (end < fresh.length && (t5 || fresh[end] != newline) && fresh[end] != eos) end++;
            return llmTokenizer.decode(Arrays.copyOf(fresh, end), true).strip();
        }
    }
}
