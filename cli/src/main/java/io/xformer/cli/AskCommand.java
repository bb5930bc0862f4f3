package io.xformer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.xformer.data.Captions;
import io.xformer.models.VisualLm;
import io.xformer.nn.Scope;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "ask", mixinStandardHelpOptions = true,
        description = "Answers questions about an image with a stage-2 model: prompt \"Question: {} Short answer:\", beam 5, "
                + "1 to 10 generated tokens, length penalty 0, stop at a newline; the question also goes into the Q-Former when it takes text.")
final class AskCommand implements Callable<Integer> {
    @Mixin
    VisualLmOptions options;

    @Option(names = "--image", required = true, paramLabel = "IMG", description = "the image the questions are about")
    Path image;

    @Parameters(arity = "1..*", paramLabel = "QUESTION", description = "one or more questions (quote each)")
    List<String> questions;

    @Override
    public Integer call() throws Exception {
        ObjectMapper json = new ObjectMapper();
        ArrayNode out = json.createArrayNode();
        BufferedImage img = VisualLmOptions.image(image);
        try (Scope s = Scope.open(); VisualLmOptions.Session session = options.open()) {
            for (String q : questions) {
                // blip_question-style processing: lower case, punctuation to blanks
                String answer = session.lm().generate(img, Captions.clean(q, 50), VisualLm.Settings.VQA);
                if (options.json) out.addObject().put("question", q).put("answer", answer);
                else System.out.println(answer);
            }
        }
        if (options.json) System.out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(out));
        return 0;
    }
}
