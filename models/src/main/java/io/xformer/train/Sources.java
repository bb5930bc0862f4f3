package io.xformer.train;

import io.xformer.data.LavisJson;
import io.xformer.data.Sample;
import io.xformer.data.Source;
import io.xformer.data.VqaJson;
import io.xformer.data.WebDataset;
import io.xformer.nn.InputException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Builds one Source from the config's list (concatenated in order). */
final class Sources {
    private Sources() {}

    static VqaJson vqa(TrainConfig.SourceSpec s) {
        Set<String> in = s.imagesIn() == null ? null : VqaJson.imagesOf(s.imagesIn());
        Set<String> notIn = s.imagesNotIn() == null ? null : VqaJson.imagesOf(s.imagesNotIn());
        return VqaJson.open(s.format(), s.vqa(), s.questions(), s.images(),
                img -> (in == null || in.contains(img)) && (notIn == null || !notIn.contains(img)), s.maxImagePixels());
    }

    static Source of(List<TrainConfig.SourceSpec> specs) {
        List<Source> parts = new ArrayList<>();
        for (TrainConfig.SourceSpec s : specs) {
            if (s.vqa() != null) parts.add(vqa(s));
            else if (!s.webdataset().isEmpty()) parts.add(WebDataset.open(s.webdataset(), s.maxImagePixels()));
            else if (s.annotations() != null) parts.add(LavisJson.open(s.annotations(), s.images(), s.maxImagePixels()));
            else throw new InputException("a data source needs \"annotations\", \"webdataset\" or \"vqa\"");
        }
        if (parts.size() == 1) return parts.get(0);
        int[] starts = new int[parts.size() + 1];
        for (int i = 0; i < parts.size(); i++) starts[i + 1] = starts[i] + parts.get(i).size();
        return new Source() {
            public int size() {
                return starts[parts.size()];
            }

            private int part(int i) {
                int p = 0;
                while (i >= starts[p + 1]) p++;
                return p;
            }

            public String describe(int i) {
                int p = part(i);
                return parts.get(p).describe(i - starts[p]);
            }

            public Sample load(int i) throws IOException {
                int p = part(i);
                return parts.get(p).load(i - starts[p]);
            }
        };
    }
}
