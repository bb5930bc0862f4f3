package io.xformer.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * Images of counted coloured shapes with captions ("two red circles and a blue square") and
 * VQA-style counting / identification questions, for smoke runs and tests. Words avoid the
 * letters the tiny WordPiece vocabulary lacks.
 */
public final class Synthetic {
    static final String[] COLORS = {"red", "green", "blue", "yellow"};
    static final Color[] RGB = {new Color(220, 40, 40), new Color(40, 170, 60), new Color(40, 70, 220), new Color(230, 200, 30)};
    static final String[] SHAPES = {"circle", "square", "triangle"};
    static final String[] NUMBERS = {"zero", "one", "two", "three", "four"};

    private Synthetic() {}

    record Group(int color, int shape, int count) {
        String words() {
            return NUMBERS[count] + " " + COLORS[color] + " " + SHAPES[shape] + (count > 1 ? "s" : "");
        }
    }

    /**
     * Writes images/, captions_train.json, captions_val.json (every 10th image), vqa_counting.json, vqa_identification.json,
     * and the val split in the official evaluation formats ({@link SyntheticEvalFiles}).
     */
    public static void generate(Path out, int n, long seed, int size) throws IOException {
        if (n < 2) throw new IllegalArgumentException("--images must be at least 2");
        Files.createDirectories(out.resolve("images"));
        ObjectMapper json = new ObjectMapper();
        ArrayNode train = json.createArrayNode(), val = json.createArrayNode(), count = json.createArrayNode(),
                ident = json.createArrayNode();
        SyntheticEvalFiles heldOut = new SyntheticEvalFiles();
        Random r = new Random(seed);
        for (int i = 0; i < n; i++) {
            List<Group> groups = groups(r);
            BufferedImage img = draw(groups, size, r);
            String name = String.format("images/%06d.png", i);
            ImageIO.write(img, "png", out.resolve(name).toFile());
            List<String> parts = new ArrayList<>();
            for (Group g : groups) parts.add(g.words());
            String caption = String.join(" and ", parts);
            (i % 10 == 9 ? val : train).addObject().put("image", name).put("caption", caption);
            int shape = groups.get(r.nextInt(groups.size())).shape;
            int total = groups.stream().filter(g -> g.shape == shape).mapToInt(Group::count).sum();
            count.addObject().put("image", name).put("question", "How many " + SHAPES[shape] + "s are there in the image?")
                    .put("answer", NUMBERS[total]);
            int asked = r.nextInt(SHAPES.length);
            boolean present = groups.stream().anyMatch(g -> g.shape == asked);
            ident.addObject().put("image", name).put("question", "Does a " + SHAPES[asked] + " exist in the image?")
                    .put("answer", present ? "yes" : "no");
            if (i % 10 == 9)
                heldOut.add(new SyntheticEvalFiles.Item(i, name, caption, "How many " + SHAPES[shape] + "s are there in the image?", total,
                        "Does a " + SHAPES[asked] + " exist in the image?", present));
        }
        Map<String, ArrayNode> files = new LinkedHashMap<>();
        files.put("captions_train.json", train);
        files.put("captions_val.json", val);
        files.put("vqa_counting.json", count);
        files.put("vqa_identification.json", ident);
        for (var f : files.entrySet()) json.writerWithDefaultPrettyPrinter().writeValue(out.resolve(f.getKey()).toFile(), f.getValue());
        heldOut.write(out, json);
    }

    static List<Group> groups(Random r) {
        int k = 1 + r.nextInt(2);
        List<Group> gs = new ArrayList<>();
        while (gs.size() < k) {
            int c = r.nextInt(COLORS.length), s = r.nextInt(SHAPES.length), n = 1 + r.nextInt(3);
            if (gs.stream().anyMatch(g -> g.color == c && g.shape == s)) continue;
            // counting answers stop at "four" (the tiny vocabulary cannot spell "five")
            if (n + gs.stream().filter(g -> g.shape == s).mapToInt(Group::count).sum() > 4) continue;
            gs.add(new Group(c, s, n));
        }
        return gs;
    }

    static BufferedImage draw(List<Group> groups, int size, Random r) {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(new Color(245, 245, 240));
        g.fillRect(0, 0, size, size);
        // a 3x3 grid of cells, one object per cell, so shapes never overlap
        List<Integer> cells = new ArrayList<>(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8));
        Collections.shuffle(cells, r);
        int cell = size / 3, k = 0;
        for (Group gr : groups) {
            g.setColor(RGB[gr.color]);
            for (int j = 0; j < gr.count; j++) {
                int c = cells.get(k++);
                int s = (int) (cell * (0.55 + 0.3 * r.nextDouble()));
                int x = (c % 3) * cell + r.nextInt(Math.max(1, cell - s + 1)), y = (c / 3) * cell + r.nextInt(Math.max(1, cell - s + 1));
                switch (gr.shape) {
                    case 0 -> g.fillOval(x, y, s, s);
                    case 1 -> g.fillRect(x, y, s, s);
                    default -> g.fillPolygon(new int[] {x, x + s / 2, x + s}, new int[] {y + s, y, y + s}, 3);
                }
            }
        }
        g.dispose();
        return img;
    }
}
