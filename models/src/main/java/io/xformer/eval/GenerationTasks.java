package io.xformer.eval;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/** What the generation-based tasks share: LAVIS's question processing, the prompts and batched answering. */
public final class GenerationTasks {
    /** EVAL.md §6.2 / §8. */
    public static final String VQA_PROMPT = "Question: {} Short answer:";
    /** EVAL.md §6.3 / §8 (not part of the output). */
    public static final String CAPTION_PROMPT = "a photo of";
    public static final int BATCH = 64;
    private static final Pattern QUESTION_PUNCT = Pattern.compile("[.!\"()*#:;~]");

    private GenerationTasks() {}

    /** LAVIS's {@code blip_question}: lower-case, delete {@code . ! " ( ) * # : ; ~}, rstrip spaces, at most 50 words. */
    public static String preQuestion(String question) {
        String q = QUESTION_PUNCT.matcher(question.toLowerCase(Locale.ROOT)).replaceAll("");
        int end = q.length();
        while (end > 0 && q.charAt(end - 1) == ' ') end--;
        q = q.substring(0, end);
        List<String> words = Py.split(q, ' ');
        return words.size() > 50 ? String.join(" ", words.subList(0, 50)) : q;
    }

    public static String prompt(String template, String question) {
        if (!template.contains("{}")) throw new IllegalArgumentException("prompt '" + template + "' has no {} for the question");
        return template.replace("{}", preQuestion(question));
    }

    /** Answers in batches of {@code batch}; checks the answerer returns one text per input. */
    static List<String> answerAll(Answerer a, List<Path> images, List<String> prompts, int batch, Progress progress) {
        if (batch < 1) throw new IllegalArgumentException("batch size must be at least 1");
        List<String> out = new ArrayList<>(prompts.size());
        for (int start = 0; start < prompts.size(); start += batch) {
            int end = Math.min(prompts.size(), start + batch);
            List<String> got = a.answer(images.subList(start, end), prompts.subList(start, end));
            if (got.size() != end - start)
                throw new IllegalStateException("the model returned " + got.size() + " answers for " + (end - start) + " prompts");
            out.addAll(got);
            progress.update("generate", end, prompts.size());
        }
        return out;
    }
}
