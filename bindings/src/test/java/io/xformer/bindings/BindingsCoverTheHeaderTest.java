package io.xformer.bindings;

import static org.junit.jupiter.api.Assertions.*;

import io.xformer.bindings.xft.xft_h;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Fails when xft.h declares a function the committed bindings lack (regenerate with native-build/jextract.sh). */
class BindingsCoverTheHeaderTest {
    static Path header() {
        return Path.of(System.getProperty("xformer.root", "..")).resolve("native-build/include/xft.h");
    }

    static Set<String> declared() throws IOException {
        String text = Files.readString(header()).replaceAll("(?s)/\\*.*?\\*/", "");
        Matcher m = Pattern.compile("\\b(xft_[a-z0-9_]+)\\s*\\(").matcher(text);
        Set<String> out = new TreeSet<>();
        while (m.find()) out.add(m.group(1));
        return out;
    }

    @Test
    void everyHeaderFunctionHasABinding() throws IOException {
        Set<String> declared = declared();
        assertTrue(declared.size() > 100, "parsed " + declared.size() + " functions from " + header());
        Set<String> bound = Stream.of(xft_h.class.getMethods())
                .filter(m -> Modifier.isStatic(m.getModifiers()))
                .map(Method::getName)
                .collect(Collectors.toSet());
        Set<String> missing = new TreeSet<>(declared);
        missing.removeAll(bound);
        assertTrue(missing.isEmpty(), "xft.h functions without a binding (run native-build/jextract.sh): " + missing);
        Set<String> stale = bound.stream().filter(n -> n.startsWith("xft_") && !n.contains("$"))
                .filter(n -> !declared.contains(n)).collect(Collectors.toCollection(TreeSet::new));
        assertTrue(stale.isEmpty(), "bindings for functions no longer in xft.h: " + stale);
    }

    @Test
    void everyBindingResolvesInTheBuiltLibrary() throws Exception {
        NativeLibrary.ensureLoaded();
        for (String name : declared()) {
            Method address = xft_h.class.getMethod(name + "$address");
            Object seg = address.invoke(null);
            assertNotNull(seg, name);
        }
    }
}
