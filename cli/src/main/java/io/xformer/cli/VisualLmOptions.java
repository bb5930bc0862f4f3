package io.xformer.cli;

import io.xformer.models.Pretrained;
import io.xformer.models.VisualLm;
import io.xformer.models.XFormerForConditionalGeneration;
import io.xformer.nn.InputException;
import io.xformer.text.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** A stage-2 folder with its tokenizers, for `caption` and `ask`. */
final class VisualLmOptions {
    @Mixin
    ModelOptions model;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "the LLM's tokenizer.json (default: DIR/tokenizer.json)")
    Path tokenizer;

    @Option(names = "--qformer-tokenizer", paramLabel = "FILE",
            description = "the Q-Former's tokenizer.json for questions (default: DIR/qformer_tokenizer/tokenizer.json when present)")
    Path qformerTokenizer;

    @Option(names = "--json", description = "print JSON instead of plain lines")
    boolean json;

    /** The loaded pieces; close() frees them. */
    record Session(Pretrained pretrained, Tokenizer llm, Tokenizer qformer, VisualLm lm) implements AutoCloseable {
        @Override
        public void close() {
            if (qformer != null) qformer.close();
            llm.close();
            pretrained.close();
        }
    }

    /** An image named on the command line: missing or undecodable is bad input (exit 3), naming the file. */
    static java.awt.image.BufferedImage image(Path p) {
        try {
            return io.xformer.data.Images.read(p);
        } catch (java.io.IOException e) {
            throw new InputException(e.getMessage(), e);
        }
    }

    Session open() {
        Path tok = tokenizer != null ? tokenizer : model.model.resolve("tokenizer.json");
        if (!Files.isRegularFile(tok))
            throw new InputException(tok + ": no tokenizer.json for the language model (give --tokenizer FILE)");
        Path qtok = qformerTokenizer != null ? qformerTokenizer : model.model.resolve("qformer_tokenizer/tokenizer.json");
        Pretrained p = Pretrained.load(model.model, model.device(), model.dtype);
        if (!(p.module() instanceof XFormerForConditionalGeneration m)) {
            String arch = p.architecture();
            p.close();
            throw new InputException(model.model + ": " + arch + " is not a stage-2 model (XFormerForConditionalGeneration or "
                    + "Blip2ForConditionalGeneration)");
        }
        Tokenizer llm = Tokenizer.open(tok);
        Tokenizer q = m.embeddings != null && Files.isRegularFile(qtok) ? Tokenizer.open(qtok) : null;
        return new Session(p, llm, q, new VisualLm(m, llm, q, model.device()));
    }
}
