package io.xformer.nn;

import java.util.List;

/**
 * A result made of tensors: a record whose components are tensors, other tensor records, or
 * anything else (ignored), any of them null. {@link Scope#keepAll} hands all its tensors on at
 * once, so a forward returns {@code s.keepAll(new Output(...))} instead of keeping each field.
 */
public interface TensorRecord {
    /** The tensors of this result, nested records flattened, in declaration order, nulls left out. */
    default List<Tensor> tensors() {
        return RecordTensors.of(this);
    }
}
