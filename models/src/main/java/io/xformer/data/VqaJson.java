package io.xformer.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.xformer.nn.InputException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * VQA annotations as samples (question as the caption, the annotators' answers):
 * <ul>
 * <li>{@code lavis}: LAVIS's VQA / Visual Genome QA JSON, {@code [{"image", "question", "answer": "..." or [...]}]}
 *     (this project's synthetic questions too);</li>
 * <li>{@code vqav2}: the official VQAv2 pair, {@code {"annotations": [{"question_id", "image_id", "answers": [{"answer"}]}]}}
 *     and {@code {"questions": [{"question_id", "question"}]}}, images {@code COCO_<split>_<image_id:012>.jpg}
 *     named by the questions file's {@code data_subtype} (e.g. train2014);</li>
 * <li>{@code vg}: Visual Genome's {@code question_answers.json}, {@code [{"id", "qas": [{"image_id", "question", "answer"}]}]},
 *     images {@code <image_id>.jpg}.</li>
 * </ul>
 * keepImage filters by image path relative to the image root (held-out splits).
 */
public final class VqaJson implements Source {
    /** problem: why the entry cannot be trained on (a null or empty question), skipped and counted on load; null when fine. */
    private record Entry(Path image, String question, List<String> answers, String problem) {}

    private final List<Entry> entries;
    private final long maxPixels;

    private VqaJson(List<Entry> entries, long maxPixels) {
        this.entries = entries;
        this.maxPixels = maxPixels;
    }

    public static final List<String> FORMATS = List.of("lavis", "vqav2", "vg");

    public static VqaJson open(String format, Path annotations, Path questions, Path imageRoot, Predicate<String> keepImage) {
        return open(format, annotations, questions, imageRoot, keepImage, Images.DEFAULT_MAX_PIXELS);
    }

    /** maxPixels: images with more pixels are skipped (counted, with the reason) rather than decoded. */
    public static VqaJson open(String format, Path annotations, Path questions, Path imageRoot, Predicate<String> keepImage,
                               long maxPixels) {
        JsonNode root = read(annotations);
        List<Entry> out = new ArrayList<>();
        switch (format) {
            case "lavis" -> {
                if (!root.isArray()) throw new InputException(annotations + ": expected a JSON array of {image, question, answer}");
                for (int i = 0; i < root.size(); i++) {
                    JsonNode a = root.get(i);
                    JsonNode img = a.get("image"), q = a.get("question"), ans = a.has("answer") ? a.get("answer") : a.get("answers");
                    if (img == null || !img.isTextual() || q == null || ans == null)
                        throw new InputException(annotations + ": entry " + i + " needs \"image\", \"question\" and \"answer\"");
                    List<String> answers = new ArrayList<>();
                    if (ans.isArray()) for (JsonNode x : ans) answers.add(x.isObject() ? x.path("answer").asText() : x.asText());
                    else answers.add(ans.asText());
                    add(out, imageRoot, img.asText(), q.isTextual() ? q.asText() : null, answers, keepImage, annotations, i);
                }
            }
            case "vqav2" -> {
                if (questions == null) throw new InputException(annotations + ": the vqav2 format needs \"questions\" (the questions file)");
                JsonNode qroot = read(questions);
                String subtype = qroot.path("data_subtype").asText("");
                Map<Long, String> byId = new HashMap<>();
                for (JsonNode q : need(qroot, "questions", questions)) byId.put(q.path("question_id").asLong(), q.path("question").asText());
                int i = 0;
                for (JsonNode a : need(root, "annotations", annotations)) {
                    long qid = a.path("question_id").asLong();
                    String question = byId.get(qid);
                    if (question == null) throw new InputException(annotations + ": question_id " + qid + " is not in " + questions);
                    List<String> answers = new ArrayList<>();
                    for (JsonNode x : a.path("answers")) answers.add(x.path("answer").asText());
                    if (answers.isEmpty()) answers.add(a.path("multiple_choice_answer").asText());
                    String img = String.format("COCO_%s_%012d.jpg", subtype, a.path("image_id").asLong());
                    add(out, imageRoot, img, question, answers, keepImage, annotations, i++);
                }
            }
            case "vg" -> {
                if (!root.isArray()) throw new InputException(annotations + ": expected Visual Genome's [{\"id\", \"qas\": [...]}]");
                int i = 0;
                for (JsonNode img : root)
                    for (JsonNode qa : img.path("qas"))
                        add(out, imageRoot, qa.path("image_id").asLong(img.path("id").asLong()) + ".jpg", qa.path("question").asText(),
                                List.of(qa.path("answer").asText()), keepImage, annotations, i++);
            }
            default -> throw new InputException(annotations + ": unknown VQA format '" + format + "' (" + String.join(", ", FORMATS) + ")");
        }
        return new VqaJson(out, maxPixels);
    }

    private static void add(List<Entry> out, Path root, String image, String question, List<String> answers, Predicate<String> keep,
                            Path file, int i) {
        if (answers.isEmpty() || answers.stream().allMatch(String::isBlank)) throw new InputException(file + ": entry " + i + " has no answer");
        String problem = question == null ? "entry " + i + ": the question is null or not text"
                : question.isBlank() ? "entry " + i + ": the question is empty" : null;
        if (keep == null || keep.test(image))
            out.add(new Entry(root.resolve(image), question == null ? "" : question, List.copyOf(answers),
                    problem == null ? null : file.getFileName() + " " + problem));
    }

    /** The image paths (as written) of a LAVIS caption or VQA file, for held-out filters. */
    public static Set<String> imagesOf(Path annotations) {
        JsonNode root = read(annotations);
        if (!root.isArray()) throw new InputException(annotations + ": expected a JSON array of {image, ...}");
        Set<String> out = new java.util.HashSet<>();
        for (JsonNode a : root) out.add(a.path("image").asText());
        return out;
    }

    private static JsonNode read(Path f) {
        try {
            JsonNode n = new ObjectMapper().readTree(f.toFile());
            if (n == null) throw new InputException(f + ": empty file");
            return n;
        } catch (java.io.FileNotFoundException | java.nio.file.NoSuchFileException e) {
            throw new InputException(f + ": no such VQA annotations file", e);
        } catch (IOException e) {
            throw new InputException(f + ": cannot read VQA annotations: " + e.getMessage(), e);
        }
    }

    private static JsonNode need(JsonNode n, String key, Path f) {
        JsonNode v = n.get(key);
        if (v == null || !v.isArray()) throw new InputException(f + ": missing array \"" + key + "\"");
        return v;
    }

    @Override
    public int size() {
        return entries.size();
    }

    @Override
    public String describe(int i) {
        return entries.get(i).image.toString();
    }

    /** The answers of entry i (evaluation reads them without loading the image). */
    public List<String> answers(int i) {
        return entries.get(i).answers;
    }

    public String question(int i) {
        return entries.get(i).question;
    }

    @Override
    public Sample load(int i) throws IOException {
        Entry e = entries.get(i);
        if (e.problem != null) throw new IOException(e.image + ": skipped: " + e.problem);
        return new Sample(e.image.toString(), Images.read(e.image, maxPixels), e.question, e.answers);
    }
}
