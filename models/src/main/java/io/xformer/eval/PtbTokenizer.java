package io.xformer.eval;

import java.io.Reader;
import java.io.StringReader;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * pycocoevalcap's {@code PTBTokenizer} (EVAL.md §4.1) in-process: Stanford CoreNLP 3.4.1's
 * {@code edu.stanford.nlp.process.PTBTokenizer} run as its {@code main} runs with
 * {@code -preserveLines -lowerCase} on the captions joined by newlines, then the punctuation
 * filter of {@code ptbtokenizer.py}.
 *
 * <p>CoreNLP is GPL-2.0-or-later, so it is an optional dependency, reached by reflection and
 * used by nothing but this class: from the class path when present (tests), else from
 * {@code $XFORMER_CORENLP_JAR}, else from the local Maven repository.
 */
public final class PtbTokenizer {
    static final String VERSION = "3.4.1";
    static final String JAR_ENV = "XFORMER_CORENLP_JAR";
    static final Path M2_JAR = Path.of(System.getProperty("user.home"), ".m2", "repository", "edu", "stanford", "nlp",
            "stanford-corenlp", VERSION, "stanford-corenlp-" + VERSION + ".jar");
    /** ptbtokenizer.py's PUNCTUATIONS; CoreNLP's lower-cased bracket tokens (-lrb-, ...) are not in it and survive. */
    static final Set<String> PUNCTUATIONS = Set.of("''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":",
            "-", "--", "...", ";");
    static final String NEWLINE_TOKEN = "*NL*";

    private final Constructor<?> tokenizer;
    private final Constructor<?> tokenFactory;
    private final Method hasNext, next, word;

    private PtbTokenizer(ClassLoader loader) throws ReflectiveOperationException {
        Class<?> ptb = Class.forName("edu.stanford.nlp.process.PTBTokenizer", true, loader);
        Class<?> factory = Class.forName("edu.stanford.nlp.process.CoreLabelTokenFactory", true, loader);
        Class<?> lexed = Class.forName("edu.stanford.nlp.process.LexedTokenFactory", true, loader);
        tokenizer = ptb.getConstructor(Reader.class, lexed, String.class);
        tokenFactory = factory.getConstructor();
        hasNext = ptb.getMethod("hasNext");
        next = ptb.getMethod("next");
        word = Class.forName("edu.stanford.nlp.ling.CoreLabel", true, loader).getMethod("word");
    }

    private static PtbTokenizer instance;

    /** The tokenizer, or an error saying how to get CoreNLP. */
    public static synchronized PtbTokenizer get() {
        if (instance != null) return instance;
        try {
            instance = new PtbTokenizer(loader());
            return instance;
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("caption scoring needs Stanford CoreNLP " + VERSION + " (GPL-2.0-or-later, not bundled): "
                    + "fetch it with `mvn dependency:get -Dartifact=edu.stanford.nlp:stanford-corenlp:" + VERSION
                    + "` (it lands in " + M2_JAR + ") or set " + JAR_ENV + "=/path/to/stanford-corenlp-" + VERSION + ".jar ("
                    + e + ")", e);
        }
    }

    /** Where the CoreNLP jar is looked for outside the class path: $XFORMER_CORENLP_JAR, else the local Maven repository. */
    static Path jarPath() {
        String env = System.getenv(JAR_ENV);
        return env != null && !env.isBlank() ? Path.of(env) : M2_JAR;
    }

    private static ClassLoader loader() throws ClassNotFoundException {
        ClassLoader own = PtbTokenizer.class.getClassLoader();
        try {
            Class.forName("edu.stanford.nlp.process.PTBTokenizer", false, own);
            return own;
        } catch (ClassNotFoundException e) {
            Path jar = jarPath();
            if (!Files.isRegularFile(jar)) throw new ClassNotFoundException("no CoreNLP on the class path and no file " + jar);
            try {
                return new URLClassLoader(new URL[] {jar.toUri().toURL()}, own);
            } catch (MalformedURLException m) {
                throw new ClassNotFoundException(jar + ": " + m.getMessage());
            }
        }
    }

    /**
     * Tokenises the captions as pycocoevalcap does: '\n' inside a caption becomes a space, all
     * captions go through one tokenizer run joined by '\n' (CoreNLP looks across line ends),
     * each output line is filtered. Returns one string per caption.
     */
    public List<String> tokenize(List<String> captions) {
        StringBuilder joined = new StringBuilder();
        for (int i = 0; i < captions.size(); i++) {
            if (i > 0) joined.append('\n');
            joined.append(captions.get(i).replace('\n', ' '));
        }
        if (captions.isEmpty()) return List.of();
        List<String> lines = run(joined.toString());
        if (lines.size() != captions.size())
            throw new IllegalArgumentException("CoreNLP produced " + lines.size() + " lines for " + captions.size()
                    + " captions: a caption holds a line break other than \\n (\\r, \\u2028, \\u2029, \\u000B, \\u000C, \\u0085), "
                    + "which pycocoevalcap would silently misalign; remove it");
        List<String> out = new ArrayList<>(lines.size());
        for (String line : lines) {
            List<String> kept = new ArrayList<>();
            for (String w : Py.split(Py.rstrip(line), ' ')) if (!PUNCTUATIONS.contains(w)) kept.add(w);
            out.add(String.join(" ", kept));
        }
        return out;
    }

    /** PTBTokenizer.main's tokReader with preserveLines and lowerCase: tokens joined by spaces, a new line per *NL* token. */
    List<String> run(String text) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        boolean beginLine = true;
        try {
            Object tok = tokenizer.newInstance(new StringReader(text), tokenFactory.newInstance(), ",tokenizeNLs");
            while ((Boolean) hasNext.invoke(tok)) {
                String orig = (String) word.invoke(next.invoke(tok));
                if (NEWLINE_TOKEN.equals(orig)) {
                    lines.add(line.toString());
                    line.setLength(0);
                    beginLine = true;
                } else {
                    if (!beginLine) line.append(' ');
                    beginLine = false;
                    line.append(orig.toLowerCase(Locale.ENGLISH));
                }
            }
        } catch (InvocationTargetException e) {
            throw new IllegalStateException("CoreNLP PTBTokenizer failed: " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("CoreNLP PTBTokenizer: " + e, e);
        }
        lines.add(line.toString()); // Python's split('\n') always yields the last segment
        return lines;
    }
}
