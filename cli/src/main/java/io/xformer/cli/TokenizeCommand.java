package io.xformer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.text.Tokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print one JSON array of token ids per text (special tokens included).")
final class TokenizeCommand implements Callable<Integer> {
    @Option(names = "--tokenizer", required = true, paramLabel = "FILE", description = "tokenizer.json (or its folder)")
    Path tokenizer;

    @Parameters(paramLabel = "TEXT", arity = "1..*", description = "texts to tokenize, one JSON array each")
    List<String> texts;

    @Override
    public Integer call() throws Exception {
        ObjectMapper json = new ObjectMapper();
        try (Tokenizer t = Tokenizer.open(tokenizer)) {
            for (String text : texts) System.out.println(json.writeValueAsString(t.encode(text)));
        }
        return 0;
    }
}
