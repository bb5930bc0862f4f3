package io.xformer.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.xformer.models.VisualLm;
import io.xformer.nn.Scope;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "caption", mixinStandardHelpOptions = true,
        description = "One caption per image from a stage-2 model: prompt \"a photo of\" (not part of the output), beam 5, "
                + "8 to 30 generated tokens, length penalty 1, stop at a newline.")
final class CaptionCommand implements Callable<Integer> {
    @Mixin
    VisualLmOptions options;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "images to caption (PNG, JPEG, BMP, GIF)")
    List<Path> images;

    @Override
    public Integer call() throws Exception {
        ObjectMapper json = new ObjectMapper();
        ArrayNode out = json.createArrayNode();
        try (Scope s = Scope.open(); VisualLmOptions.Session session = options.open()) {
            for (Path img : images) {
                String caption = session.lm().generate(VisualLmOptions.image(img), null, VisualLm.Settings.CAPTION);
                if (options.json) out.addObject().put("image", img.toString()).put("caption", caption);
                else System.out.println(img + "\t" + caption);
            }
        }
        if (options.json) System.out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(out));
        return 0;
    }
}
