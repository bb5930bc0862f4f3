package io.xformer.nn;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;

/** {@link TensorRecord#tensors()} for records: their Tensor and TensorRecord components, read through cached accessors. */
final class RecordTensors {
    private RecordTensors() {}

    private static final ClassValue<List<MethodHandle>> ACCESSORS = new ClassValue<>() {
        @Override
        protected List<MethodHandle> computeValue(Class<?> type) {
            if (!type.isRecord()) throw new IllegalArgumentException(type.getName() + " is not a record: override tensors()");
            List<MethodHandle> out = new ArrayList<>();
            for (RecordComponent c : type.getRecordComponents()) {
                Class<?> t = c.getType();
                if (!Tensor.class.isAssignableFrom(t) && !TensorRecord.class.isAssignableFrom(t)) continue;
                try {
                    Method m = c.getAccessor();
                    m.setAccessible(true);
                    // (Object)Object once here, so each read is an invokeExact: a plain invoke adapts
                    // the type on every call, slow before the JIT has compiled the caller
                    out.add(MethodHandles.lookup().unreflect(m).asType(MethodType.methodType(Object.class, Object.class)));
                } catch (IllegalAccessException | RuntimeException e) {
                    throw new IllegalStateException("cannot read " + type.getName() + "." + c.getName(), e);
                }
            }
            return List.copyOf(out);
        }
    };

    static List<Tensor> of(TensorRecord r) {
        List<Tensor> out = new ArrayList<>();
        collect(r, out);
        return out;
    }

    private static void collect(TensorRecord r, List<Tensor> out) {
        for (MethodHandle get : ACCESSORS.get(r.getClass())) {
            Object v;
            try {
                v = (Object) get.invokeExact((Object) r);
            } catch (Throwable e) {
                throw new IllegalStateException("reading a component of " + r.getClass().getName(), e);
            }
            if (v instanceof Tensor t) out.add(t);
            else if (v instanceof TensorRecord nested) out.addAll(nested.tensors());
        }
    }
}
