package io.xformer.hf;

import io.xformer.nn.TorchException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Model ids ({@code ORG/NAME} or {@code ORG/NAME@REV}) resolved offline in the HuggingFace hub
 * cache that {@code huggingface_hub} fills: {@code models--ORG--NAME/refs/REV} holds a commit
 * hash, {@code snapshots/<hash>/} the files. Nothing is ever downloaded; an existing local path
 * always wins over an id.
 */
public final class HfCache {
    private HfCache() {}

    private static final Pattern ID = Pattern.compile("^([A-Za-z0-9][\\w.-]*)/([\\w.-]+)(?:@([\\w./-]+))?$");

    /** The hub folders searched, first match wins: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub. */
    public static List<Path> hubDirs() {
        List<Path> out = new ArrayList<>();
        String hub = System.getenv("HF_HUB_CACHE"), home = System.getenv("HF_HOME");
        if (hub != null && !hub.isEmpty()) out.add(Path.of(hub));
        if (home != null && !home.isEmpty()) out.add(Path.of(home, "hub"));
        out.add(Path.of(System.getProperty("user.home"), ".cache", "huggingface", "hub"));
        return out;
    }

    /** path itself when it exists or is not a model id, else its snapshot in the default hub folders. */
    public static Path resolve(Path path) {
        return resolve(path, hubDirs());
    }

    public static Path resolve(Path path, List<Path> hubs) {
        if (Files.exists(path)) return path;
        Matcher m = ID.matcher(path.toString());
        if (!m.matches()) return path;
        return snapshot(m.group(1), m.group(2), m.group(3) == null ? "main" : m.group(3), path.toString(), hubs);
    }

    /** Whether text has the shape of a hub id (ORG/NAME[@REV]). */
    public static boolean looksLikeId(String text) {
        return ID.matcher(text).matches();
    }

    private static Path snapshot(String org, String name, String rev, String spec, List<Path> hubs) {
        List<String> looked = new ArrayList<>();
        for (Path hub : hubs) {
            Path repo = hub.resolve("models--" + org + "--" + name);
            Path ref = repo.resolve("refs").resolve(rev);
            if (Files.isRegularFile(ref)) {
                String sha;
                try {
                    sha = Files.readString(ref).trim();
                } catch (IOException e) {
                    throw new TorchException(ref + ": " + e.getMessage(), e);
                }
                Path snap = repo.resolve("snapshots").resolve(sha);
                if (sha.isEmpty() || sha.contains("/") || !Files.isDirectory(snap))
                    throw new io.xformer.nn.InputException(spec + ": " + ref + " names snapshot '" + sha + "', but " + snap + " is missing");
                return snap;
            }
            // a commit hash given as REV names its snapshot directly
            Path snap = repo.resolve("snapshots").resolve(rev);
            if (!rev.contains("/") && Files.isDirectory(snap)) return snap;
            looked.add(ref + (rev.contains("/") ? "" : " or " + snap));
        }
        throw new io.xformer.nn.InputException(spec + ": no such local folder, and not in the HuggingFace cache (looked for "
                + String.join(", ", looked) + "); nothing is downloaded: fetch it with `huggingface-cli download "
                + org + "/" + name + "` or give a folder");
    }
}
