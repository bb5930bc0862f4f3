package io.xformer.cli;

import io.xformer.data.Synthetic;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "make-synthetic", mixinStandardHelpOptions = true,
        description = "Images of counted coloured shapes with captions and counting / identification questions; the val split "
                + "(every 10th image) also in VQAv2, GQA and COCO caption formats.")
final class SyntheticCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "folder for images/, captions_*.json and vqa_*.json")
    Path out;

    @Option(names = "--images", defaultValue = "512", description = "number of images (>= 2)")
    int images;

    @Option(names = "--seed", defaultValue = "0", description = "random seed (same seed, same images)")
    long seed;

    @Option(names = "--size", defaultValue = "64", description = "image side in pixels")
    int size;

    @Override
    public Integer call() throws Exception {
        Synthetic.generate(out, images, seed, size);
        System.out.println("wrote " + images + " images and captions_train.json, captions_val.json, vqa_counting.json, "
                + "vqa_identification.json, vqav2_val_questions.json, vqav2_val_annotations.json, gqa_val_questions.json, "
                + "coco_val_gt.json to " + out);
        return 0;
    }
}
