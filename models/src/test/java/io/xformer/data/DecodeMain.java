package io.xformer.data;

import java.nio.file.Path;

/** Child process of the out-of-memory test: decodes one image, prints the outcome. */
public final class DecodeMain {
    public static void main(String[] args) {
        try {
            var img = Images.read(Path.of(args[0]));
            System.out.println("decoded " + img.getWidth() + " x " + img.getHeight());
        } catch (java.io.IOException e) {
            System.out.println(e.getMessage());
        }
    }
}
