package io.xformer.nn;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.IntFunction;

/** Children named "0", "1", ... as in torch.nn.ModuleList, so paths read {@code layer.3.output.dense}. */
public final class ModuleList<M extends Module> extends Module implements Iterable<M> {
    private final List<M> items = new ArrayList<>();

    public ModuleList(int n, IntFunction<M> make) {
        for (int i = 0; i < n; i++) items.add(child(Integer.toString(i), make.apply(i)));
    }

    public M get(int i) {
        return items.get(i);
    }

    public int size() {
        return items.size();
    }

    @Override
    public Iterator<M> iterator() {
        return items.iterator();
    }
}
