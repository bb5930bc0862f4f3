package io.xformer.data;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VqaJsonTest {
    @TempDir
    Path tmp;

    @Test
    void readsTheThreeFormats() throws Exception {
        Path lavis = tmp.resolve("lavis.json");
        Files.writeString(lavis, "[{\"image\": \"a.png\", \"question\": \"What?\", \"answer\": [\"x\", \"y\", \"x\"]},"
                + "{\"image\": \"b.png\", \"question\": \"Who?\", \"answer\": \"z\"}]");
        VqaJson l = VqaJson.open("lavis", lavis, null, tmp, img -> !img.equals("b.png"));
        assertEquals(1, l.size());
        assertEquals(List.of("x", "y", "x"), l.answers(0));
        assertEquals(tmp.resolve("a.png").toString(), l.describe(0));

        Path ann = tmp.resolve("v2_mscoco_val2014_annotations.json"), qs = tmp.resolve("v2_OpenEnded_mscoco_val2014_questions.json");
        Files.writeString(qs, "{\"data_subtype\": \"val2014\", \"questions\": [{\"image_id\": 42, \"question\": \"Is it red?\", \"question_id\": 420}]}");
        Files.writeString(ann, "{\"annotations\": [{\"question_id\": 420, \"image_id\": 42, \"multiple_choice_answer\": \"yes\","
                + " \"answers\": [{\"answer\": \"yes\"}, {\"answer\": \"no\"}]}]}");
        VqaJson v = VqaJson.open("vqav2", ann, qs, tmp, null);
        assertEquals("Is it red?", v.question(0));
        assertEquals(List.of("yes", "no"), v.answers(0));
        assertTrue(v.describe(0).endsWith("COCO_val2014_000000000042.jpg"), v.describe(0));

        Path vg = tmp.resolve("question_answers.json");
        Files.writeString(vg, "[{\"id\": 7, \"qas\": [{\"image_id\": 7, \"question\": \"What color?\", \"answer\": \"Blue.\"}]}]");
        VqaJson g = VqaJson.open("vg", vg, null, tmp, null);
        assertEquals(List.of("Blue."), g.answers(0));
        assertTrue(g.describe(0).endsWith("7.jpg"));

        assertEquals(Set.of("a.png", "b.png"), VqaJson.imagesOf(lavis));
        var e = assertThrows(io.xformer.nn.InputException.class, () -> VqaJson.open("vqav2", ann, null, tmp, null));
        assertTrue(e.getMessage().contains("questions"), e.getMessage());
        Files.writeString(lavis, "[{\"image\": \"a.png\", \"question\": \"What?\"}]");
        e = assertThrows(io.xformer.nn.InputException.class, () -> VqaJson.open("lavis", lavis, null, tmp, null));
        assertTrue(e.getMessage().contains("entry 0") && e.getMessage().contains("lavis.json"), e.getMessage());
    }
}
