package io.xformer.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The held-out (val) split of {@link Synthetic} in the official evaluation formats, so the
 * scorers and {@code xformer eval} run on it as on the real sets:
 * <ul>
 *   <li>{@code vqav2_val_questions.json} / {@code vqav2_val_annotations.json}: VQAv2 layout, 10
 *       identical human answers per question (counting answers as digits, as VQAv2 writes them);
 *       each question also names its {@code image} file (extra field, ignored by the official tool).</li>
 *   <li>{@code gqa_val_questions.json}: testdev_balanced_questions.json's layout (an object keyed
 *       by question id with {@code imageId}, {@code question}, {@code answer}, {@code types}).</li>
 *   <li>{@code coco_val_gt.json}: COCO caption ground truth ({@code images}, {@code annotations}).</li>
 * </ul>
 * Image ids are the image numbers (000009.png -> 9).
 */
final class SyntheticEvalFiles {
    static final String[] DIGITS = {"0", "1", "2", "3", "4"};

    /** One held-out image: its question about a count and its question about presence. */
    record Item(int imageId, String image, String caption, String countQuestion, int count, String identQuestion, boolean present) {}

    private final List<Item> items = new ArrayList<>();

    void add(Item item) {
        items.add(item);
    }

    static int countQuestionId(int imageId) {
        return imageId * 10;
    }

    static int identQuestionId(int imageId) {
        return imageId * 10 + 1;
    }

    void write(Path out, ObjectMapper json) throws IOException {
        ObjectNode questions = json.createObjectNode(), annotations = json.createObjectNode(), gqa = json.createObjectNode(),
                coco = json.createObjectNode();
        for (ObjectNode o : List.of(questions, annotations)) {
            o.putObject("info").put("description", "xformer make-synthetic held-out questions");
            o.put("data_type", "synthetic").put("data_subtype", "val");
            o.putObject("license").put("name", "generated");
        }
        questions.put("task_type", "Open-Ended");
        ArrayNode qs = questions.putArray("questions"), anns = annotations.putArray("annotations");
        ArrayNode images = coco.putArray("images"), caps = coco.putArray("annotations");
        for (Item it : items) {
            // counting: VQA answer type "number", GQA has no counting category: structural "query", semantic "obj"
            addVqa(qs, anns, it, countQuestionId(it.imageId), it.countQuestion, DIGITS[it.count], "how many", "number");
            addVqa(qs, anns, it, identQuestionId(it.imageId), it.identQuestion, it.present ? "yes" : "no", "does a", "yes/no");
            addGqa(gqa, it, countQuestionId(it.imageId), it.countQuestion, Synthetic.NUMBERS[it.count], "query", "obj", "count");
            addGqa(gqa, it, identQuestionId(it.imageId), it.identQuestion, it.present ? "yes" : "no", "verify", "obj", "exist");
            images.addObject().put("id", it.imageId).put("file_name", it.image);
            caps.addObject().put("image_id", it.imageId).put("id", it.imageId).put("caption", it.caption);
        }
        var w = json.writerWithDefaultPrettyPrinter();
        w.writeValue(out.resolve("vqav2_val_questions.json").toFile(), questions);
        w.writeValue(out.resolve("vqav2_val_annotations.json").toFile(), annotations);
        w.writeValue(out.resolve("gqa_val_questions.json").toFile(), gqa);
        w.writeValue(out.resolve("coco_val_gt.json").toFile(), coco);
    }

    private static void addVqa(ArrayNode qs, ArrayNode anns, Item it, int qid, String question, String answer, String qType, String aType) {
        qs.addObject().put("image_id", it.imageId).put("question", question).put("question_id", qid).put("image", it.image);
        ObjectNode a = anns.addObject().put("question_id", qid).put("image_id", it.imageId).put("question_type", qType)
                .put("answer_type", aType).put("multiple_choice_answer", answer);
        ArrayNode ten = a.putArray("answers");
        for (int k = 1; k <= 10; k++) ten.addObject().put("answer", answer).put("answer_confidence", "yes").put("answer_id", k);
    }

    private static void addGqa(ObjectNode gqa, Item it, int qid, String question, String answer, String structural, String semantic,
                               String detailed) {
        ObjectNode q = gqa.putObject(Integer.toString(qid));
        q.put("imageId", Integer.toString(it.imageId)).put("image", it.image).put("question", question).put("answer", answer)
                .put("fullAnswer", answer).put("isBalanced", true);
        q.putObject("types").put("structural", structural).put("semantic", semantic).put("detailed", detailed);
    }
}
