package io.xformer.eval;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * OK-VQA's answer lemmatisation (EVAL.md §3) with Stanford CoreNLP 3.4.1 instead of spaCy: the
 * answer is PTB-tokenised and POS-tagged (english-left3words tagger), nouns (NN, NNS) and verbs
 * (VB*) are replaced by their lemma, every other token is kept, tokens joined by single spaces.
 * Differences from LAVIS's spaCy {@code en_core_web_sm}: another tagger and lemmatiser; PTB tags
 * proper nouns NNP (spaCy PROPN, also kept as written); spaCy tags auxiliaries AUX (kept), here
 * forms of "be" are kept for the same effect while other auxiliaries ("has", "do") are lemmatised.
 *
 * <p>GPL-2.0-or-later like the tokenizer: the core jar and the models jar
 * ({@code stanford-corenlp-3.4.1-models.jar}) are loaded together by a separate class loader from
 * {@code $XFORMER_CORENLP_JAR} (its folder) or the local Maven repository.
 */
public final class Lemmatizer {
    static final String TAGGER = "edu/stanford/nlp/models/pos-tagger/english-left3words/english-left3words-distsim.tagger";

    private final Object tagger, morphology;
    private final Method tagString, lemma;

    private Lemmatizer(ClassLoader loader) throws ReflectiveOperationException {
        Class<?> t = Class.forName("edu.stanford.nlp.tagger.maxent.MaxentTagger", true, loader);
        Class<?> m = Class.forName("edu.stanford.nlp.process.Morphology", true, loader);
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        try {
            Thread.currentThread().setContextClassLoader(loader);
            tagger = t.getConstructor(String.class).newInstance(TAGGER);
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
        morphology = m.getConstructor().newInstance();
        tagString = t.getMethod("tagString", String.class);
        lemma = m.getMethod("lemma", String.class, String.class);
    }

    private static Lemmatizer instance;

    public static synchronized Lemmatizer get() {
        if (instance != null) return instance;
        Path core = PtbTokenizer.jarPath();
        Path models = core.resolveSibling(core.getFileName().toString().replace(".jar", "-models.jar"));
        if (!Files.isRegularFile(core) || !Files.isRegularFile(models))
            throw new IllegalStateException("OK-VQA lemmatisation needs Stanford CoreNLP " + PtbTokenizer.VERSION
                    + " and its models jar (GPL-2.0-or-later, not bundled): `mvn dependency:get -Dartifact=edu.stanford.nlp:stanford-corenlp:"
                    + PtbTokenizer.VERSION + "` and `...:stanford-corenlp:" + PtbTokenizer.VERSION + ":jar:models` (missing: "
                    + (Files.isRegularFile(core) ? models : core) + ")");
        try {
            URLClassLoader loader = new URLClassLoader(new URL[] {core.toUri().toURL(), models.toUri().toURL()},
                    ClassLoader.getPlatformClassLoader());
            instance = new Lemmatizer(loader);
            return instance;
        } catch (ReflectiveOperationException | java.net.MalformedURLException | LinkageError e) {
            Throwable c = e instanceof InvocationTargetException i ? i.getCause() : e;
            throw new IllegalStateException("cannot start the CoreNLP POS tagger: " + c, c);
        }
    }

    /** LAVIS's _lemmatize for one answer. */
    public synchronized String apply(String answer) {
        try {
            String tagged = ((String) tagString.invoke(tagger, answer)).strip();
            List<String> out = new ArrayList<>();
            for (String tok : Py.split(tagged)) {
                int at = tok.lastIndexOf('_');
                String word = at < 0 ? tok : tok.substring(0, at), tag = at < 0 ? "" : tok.substring(at + 1);
                boolean noun = tag.equals("NN") || tag.equals("NNS"), verb = tag.startsWith("VB");
                String lem = noun || verb ? (String) lemma.invoke(morphology, word, tag) : word;
                out.add(verb && lem.equals("be") ? word : lem);
            }
            return String.join(" ", out);
        } catch (InvocationTargetException e) {
            throw new IllegalStateException("CoreNLP tagger failed on '" + answer + "': " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("CoreNLP tagger: " + e, e);
        }
    }
}
