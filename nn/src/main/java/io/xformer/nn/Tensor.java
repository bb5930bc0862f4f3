package io.xformer.nn;

import static io.xformer.bindings.xft.xft_h.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.Arrays;

/**
 * A libtorch tensor. Every op returns a new Tensor owned by the innermost open {@link Scope}
 * of the calling thread (or, outside any scope, by the caller, with a Cleaner as safety net).
 * Method names follow PyTorch; trailing-underscore methods work in place.
 */
public final class Tensor implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final long[] ALL = new long[0];

    private MemorySegment handle;
    private Cleaner.Cleanable cleanable;
    Scope owner;
    int slot;

    Tensor(MemorySegment handle) {
        this.handle = handle;
        Scope.attach(this);
    }

    static Tensor wrap(MemorySegment handle, String op) {
        return new Tensor(Native.check(handle, op));
    }

    /** The native handle; an IllegalStateException once the tensor is closed. */
    MemorySegment h() {
        MemorySegment x = handle;
        if (x == null) throw new IllegalStateException("tensor used after close()");
        return x;
    }

    static MemorySegment handle(Tensor t, String what) {
        if (t == null) throw new NullPointerException(what + " is null");
        return t.h();
    }

    static MemorySegment handleOrNull(Tensor t) {
        return t == null ? MemorySegment.NULL : t.h();
    }

    // ---- lifetime ----

    private record Free(long address) implements Runnable {
        @Override
        public void run() {
            xft_tensor_free(MemorySegment.ofAddress(address));
        }
    }

    void registerCleaner() {
        cleanable = CLEANER.register(this, new Free(handle.address()));
    }

    /** Frees the native tensor now; later use throws IllegalStateException. Idempotent. */
    @Override
    public void close() {
        MemorySegment h = handle;
        if (h == null) return;
        if (owner != null) owner.forget(this);
        release(h);
    }

    void freeFromScope() {
        MemorySegment h = handle;
        if (h != null) release(h);
    }

    private void release(MemorySegment h) {
        handle = null;
        owner = null;
        if (cleanable != null) cleanable.clean();
        else xft_tensor_free(h);
    }

    public boolean isClosed() {
        return handle == null;
    }

    // ---- metadata ----

    public long[] shape() {
        // one call: xft_sizes returns ndim and fills up to the buffer's slots (more only past 64 dims)
        MemorySegment buf = Native.sizes();
        long n = xft_sizes(h(), buf, Native.SIZES_SLOTS);
        if (n < 0) throw Native.error("shape");
        if (n <= Native.SIZES_SLOTS) return buf.asSlice(0, n * JAVA_LONG.byteSize()).toArray(JAVA_LONG);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment big = a.allocate(JAVA_LONG, n);
            if (xft_sizes(h(), big, n) < 0) throw Native.error("shape");
            return big.toArray(JAVA_LONG);
        }
    }

    public long size(int dim) {
        long[] s = shape();
        int d = dim < 0 ? dim + s.length : dim;
        if (d < 0 || d >= s.length)
            throw new IndexOutOfBoundsException("dim " + dim + " out of range for shape " + Arrays.toString(s));
        return s[d];
    }

    public int dim() {
        long n = xft_ndim(h());
        if (n < 0) throw Native.error("dim");
        return (int) n;
    }

    public long numel() {
        long n = xft_numel(h());
        if (n < 0) throw Native.error("numel");
        return n;
    }

    public DType dtype() {
        int c = xft_dtype(h());
        if (c < 0) throw Native.error("dtype");
        return DType.fromCode(c);
    }

    public Device device() {
        int t = xft_device_type(h());
        if (t < 0) throw Native.error("device");
        return t == XFT_CUDA() ? Device.cuda(xft_device_index(h())) : Device.CPU;
    }

    public boolean isContiguous() {
        return flag(xft_is_contiguous(h()), "is_contiguous");
    }

    public boolean isPinned() {
        return flag(xft_is_pinned(h()), "is_pinned");
    }

    public boolean requiresGrad() {
        return flag(xft_requires_grad(h()), "requires_grad");
    }

    public boolean isLeaf() {
        return flag(xft_is_leaf(h()), "is_leaf");
    }

    private static boolean flag(int v, String op) {
        if (v < 0) throw Native.error(op);
        return v != 0;
    }

    @Override
    public String toString() {
        if (handle == null) return "Tensor(closed)";
        return "Tensor" + Arrays.toString(shape()) + " " + dtype() + " " + device();
    }

    // ---- values out ----

    /** The single value of a one-element tensor. */
    public double item() {
        MemorySegment out = Native.dbl();
        Native.check(xft_item(h(), out), "item");
        return out.get(JAVA_DOUBLE, 0);
    }

    public long itemLong() {
        return Math.round(item());
    }

    /** Raw element bytes in native (little-endian) order, contiguous, copied to the host. */
    public byte[] toByteArray() {
        return hostCopy(dtype()).toArray(JAVA_BYTE);
    }

    public float[] toFloatArray() {
        return converted(DType.F32).toArray(JAVA_FLOAT);
    }

    public double[] toDoubleArray() {
        return converted(DType.F64).toArray(JAVA_DOUBLE);
    }

    public long[] toLongArray() {
        return converted(DType.I64).toArray(JAVA_LONG);
    }

    public int[] toIntArray() {
        return converted(DType.I32).toArray(JAVA_INT);
    }

    public boolean[] toBooleanArray() {
        byte[] b = converted(DType.BOOL).toArray(JAVA_BYTE);
        boolean[] out = new boolean[b.length];
        for (int i = 0; i < b.length; i++) out[i] = b[i] != 0;
        return out;
    }

    /** The raw 16-bit patterns of an F16 or BF16 tensor. */
    public short[] toShortArray() {
        DType d = dtype();
        if (d.byteSize() != 2) throw new TorchException("toShortArray: dtype " + d + " is not 16-bit");
        return hostCopy(d).toArray(JAVA_SHORT);
    }

    private MemorySegment converted(DType target) {
        if (dtype() == target) return hostCopy(target);
        try (Scope s = Scope.open()) {
            return to(target).hostCopy(target);
        }
    }

    private MemorySegment hostCopy(DType d) {
        long bytes = numel() * d.byteSize();
        // A GC-managed segment: the caller immediately copies it into a Java array.
        MemorySegment buf = bytes == 0 ? MemorySegment.NULL : Arena.ofAuto().allocate(bytes, 8);
        Native.check(xft_copy_to_host(h(), buf, bytes), "copy to host");
        return bytes == 0 ? MemorySegment.ofArray(new byte[0]) : buf;
    }

    // ---- dtype / device ----

    public Tensor to(DType dtype) {
        return wrap(xft_to(h(), dtype.code, -1, -1, 0), "to(" + dtype + ")");
    }

    public Tensor to(Device device) {
        return to(device, null, false);
    }

    /** dtype null keeps the dtype. */
    public Tensor to(Device device, DType dtype, boolean nonBlocking) {
        return wrap(xft_to(h(), dtype == null ? -1 : dtype.code, device.type().code, device.index(), nonBlocking ? 1 : 0),
                "to(" + device + ")");
    }

    public Tensor cpu() {
        return to(Device.CPU);
    }

    public Tensor cuda() {
        return to(Device.cuda(-1));
    }

    public Tensor pinMemory() {
        return wrap(xft_pin_memory(h()), "pin_memory");
    }

    @Override
    @SuppressWarnings("MethodDoesntCallSuperMethod")
    public Tensor clone() {
        return wrap(xft_clone(h()), "clone");
    }

    public Tensor contiguous() {
        return wrap(xft_contiguous(h()), "contiguous");
    }

    public Tensor detach() {
        return wrap(xft_detach(h()), "detach");
    }

    // ---- views and indexing ----

    public Tensor view(long... shape) {
        return wrap(xft_view(h(), Native.longs(shape), shape.length), "view" + Arrays.toString(shape));
    }

    public Tensor reshape(long... shape) {
        return wrap(xft_reshape(h(), Native.longs(shape), shape.length), "reshape" + Arrays.toString(shape));
    }

    public Tensor permute(long... dims) {
        return wrap(xft_permute(h(), Native.longs(dims), dims.length), "permute" + Arrays.toString(dims));
    }

    public Tensor transpose(long dim0, long dim1) {
        return wrap(xft_transpose(h(), dim0, dim1), "transpose");
    }

    public Tensor expand(long... shape) {
        return wrap(xft_expand(h(), Native.longs(shape), shape.length), "expand" + Arrays.toString(shape));
    }

    public Tensor repeat(long... repeats) {
        return wrap(xft_repeat(h(), Native.longs(repeats), repeats.length), "repeat" + Arrays.toString(repeats));
    }

    public Tensor narrow(long dim, long start, long length) {
        return wrap(xft_narrow(h(), dim, start, length), "narrow");
    }

    /** Elements start, start+step, ... below end along dim (Python's t[..., start:end:step]). */
    public Tensor slice(long dim, long start, long end, long step) {
        return wrap(xft_slice(h(), dim, start, end, step), "slice");
    }

    public Tensor select(long dim, long index) {
        return wrap(xft_select(h(), dim, index), "select");
    }

    public Tensor squeeze(long dim) {
        return wrap(xft_squeeze(h(), dim), "squeeze");
    }

    public Tensor unsqueeze(long dim) {
        return wrap(xft_unsqueeze(h(), dim), "unsqueeze");
    }

    public Tensor flatten(long startDim, long endDim) {
        return wrap(xft_flatten(h(), startDim, endDim), "flatten");
    }

    public Tensor unfold(long dim, long size, long step) {
        return wrap(xft_unfold(h(), dim, size, step), "unfold");
    }

    public Tensor indexSelect(long dim, Tensor index) {
        return wrap(xft_index_select(h(), dim, handle(index, "index")), "index_select");
    }

    public Tensor gather(long dim, Tensor index) {
        return wrap(xft_gather(h(), dim, handle(index, "index")), "gather");
    }

    public Tensor scatter(long dim, Tensor index, Tensor src) {
        return wrap(xft_scatter(h(), dim, handle(index, "index"), handle(src, "src")), "scatter");
    }

    public Tensor scatterAdd(long dim, Tensor index, Tensor src) {
        return wrap(xft_scatter_add(h(), dim, handle(index, "index"), handle(src, "src")), "scatter_add");
    }

    public Tensor maskedFill(Tensor mask, double value) {
        return wrap(xft_masked_fill(h(), handle(mask, "mask"), value), "masked_fill");
    }

    /** Fills the positions where mask is true, in row-major order, with consecutive elements of source. */
    public Tensor maskedScatter(Tensor mask, Tensor source) {
        return wrap(xft_masked_scatter(h(), handle(mask, "mask"), handle(source, "source")), "masked_scatter");
    }

    public Tensor cumsum(long dim) {
        return wrap(xft_cumsum(h(), dim), "cumsum");
    }

    public Tensor tril(long diagonal) {
        return wrap(xft_tril(h(), diagonal), "tril");
    }

    public Tensor triu(long diagonal) {
        return wrap(xft_triu(h(), diagonal), "triu");
    }

    // ---- arithmetic (broadcasting) ----

    private Tensor unary(int op, String name) {
        return wrap(xft_unary(op, h()), name);
    }

    private Tensor binary(int op, Tensor other, String name) {
        return wrap(xft_binary(op, h(), handle(other, "other")), name);
    }

    private Tensor scalar(int op, double s, String name) {
        return wrap(xft_binary_scalar(op, h(), s), name);
    }

    public Tensor add(Tensor o) { return binary(XFT_ADD(), o, "add"); }
    public Tensor add(double s) { return scalar(XFT_ADD(), s, "add"); }
    public Tensor sub(Tensor o) { return binary(XFT_SUB(), o, "sub"); }
    public Tensor sub(double s) { return scalar(XFT_SUB(), s, "sub"); }
    public Tensor mul(Tensor o) { return binary(XFT_MUL(), o, "mul"); }
    public Tensor mul(double s) { return scalar(XFT_MUL(), s, "mul"); }
    public Tensor div(Tensor o) { return binary(XFT_DIV(), o, "div"); }
    public Tensor div(double s) { return scalar(XFT_DIV(), s, "div"); }
    public Tensor pow(Tensor o) { return binary(XFT_POW(), o, "pow"); }
    public Tensor pow(double s) { return scalar(XFT_POW(), s, "pow"); }
    public Tensor remainder(Tensor o) { return binary(XFT_REMAINDER(), o, "remainder"); }
    public Tensor remainder(double s) { return scalar(XFT_REMAINDER(), s, "remainder"); }
    public Tensor maximum(Tensor o) { return binary(XFT_MAXIMUM(), o, "maximum"); }
    public Tensor minimum(Tensor o) { return binary(XFT_MINIMUM(), o, "minimum"); }
    public Tensor clampMin(double s) { return scalar(XFT_MAXIMUM(), s, "clamp_min"); }
    public Tensor clampMax(double s) { return scalar(XFT_MINIMUM(), s, "clamp_max"); }
    public Tensor eq(Tensor o) { return binary(XFT_EQ(), o, "eq"); }
    public Tensor eq(double s) { return scalar(XFT_EQ(), s, "eq"); }
    public Tensor ne(Tensor o) { return binary(XFT_NE(), o, "ne"); }
    public Tensor ne(double s) { return scalar(XFT_NE(), s, "ne"); }
    public Tensor lt(Tensor o) { return binary(XFT_LT(), o, "lt"); }
    public Tensor lt(double s) { return scalar(XFT_LT(), s, "lt"); }
    public Tensor le(Tensor o) { return binary(XFT_LE(), o, "le"); }
    public Tensor le(double s) { return scalar(XFT_LE(), s, "le"); }
    public Tensor gt(Tensor o) { return binary(XFT_GT(), o, "gt"); }
    public Tensor gt(double s) { return scalar(XFT_GT(), s, "gt"); }
    public Tensor ge(Tensor o) { return binary(XFT_GE(), o, "ge"); }
    public Tensor ge(double s) { return scalar(XFT_GE(), s, "ge"); }
    public Tensor logicalAnd(Tensor o) { return binary(XFT_LOGICAL_AND(), o, "logical_and"); }
    public Tensor logicalOr(Tensor o) { return binary(XFT_LOGICAL_OR(), o, "logical_or"); }
    public Tensor logicalNot() { return unary(XFT_LOGICAL_NOT(), "logical_not"); }
    public Tensor neg() { return unary(XFT_NEG(), "neg"); }
    public Tensor exp() { return unary(XFT_EXP(), "exp"); }
    public Tensor log() { return unary(XFT_LOG(), "log"); }
    public Tensor sqrt() { return unary(XFT_SQRT(), "sqrt"); }
    public Tensor rsqrt() { return unary(XFT_RSQRT(), "rsqrt"); }
    public Tensor abs() { return unary(XFT_ABS(), "abs"); }
    public Tensor tanh() { return unary(XFT_TANH(), "tanh"); }
    public Tensor sigmoid() { return unary(XFT_SIGMOID(), "sigmoid"); }
    public Tensor relu() { return unary(XFT_RELU(), "relu"); }
    public Tensor silu() { return unary(XFT_SILU(), "silu"); }
    public Tensor sin() { return unary(XFT_SIN(), "sin"); }
    public Tensor cos() { return unary(XFT_COS(), "cos"); }
    public Tensor erf() { return unary(XFT_ERF(), "erf"); }
    public Tensor sign() { return unary(XFT_SIGN(), "sign"); }
    public Tensor floor() { return unary(XFT_FLOOR(), "floor"); }
    public Tensor reciprocal() { return unary(XFT_RECIPROCAL(), "reciprocal"); }
    public Tensor square() { return unary(XFT_SQUARE(), "square"); }

    public Tensor clamp(double min, double max) {
        return wrap(xft_clamp(h(), min, max), "clamp");
    }

    // ---- in place ----

    public Tensor add_(Tensor o) { Native.check(xft_binary_(XFT_ADD(), h(), handle(o, "other")), "add_"); return this; }
    public Tensor sub_(Tensor o) { Native.check(xft_binary_(XFT_SUB(), h(), handle(o, "other")), "sub_"); return this; }
    public Tensor mul_(Tensor o) { Native.check(xft_binary_(XFT_MUL(), h(), handle(o, "other")), "mul_"); return this; }
    public Tensor div_(Tensor o) { Native.check(xft_binary_(XFT_DIV(), h(), handle(o, "other")), "div_"); return this; }
    public Tensor add_(double s) { Native.check(xft_binary_scalar_(XFT_ADD(), h(), s), "add_"); return this; }
    public Tensor mul_(double s) { Native.check(xft_binary_scalar_(XFT_MUL(), h(), s), "mul_"); return this; }
    public Tensor div_(double s) { Native.check(xft_binary_scalar_(XFT_DIV(), h(), s), "div_"); return this; }

    /** this += alpha * other */
    public Tensor add_(Tensor other, double alpha) {
        Native.check(xft_add_scaled_(h(), handle(other, "other"), alpha), "add_");
        return this;
    }

    /** this += value * t1 * t2 */
    public Tensor addcmul_(Tensor t1, Tensor t2, double value) {
        Native.check(xft_addcmul_(h(), handle(t1, "tensor1"), handle(t2, "tensor2"), value), "addcmul_");
        return this;
    }

    /** this += value * t1 / t2 */
    public Tensor addcdiv_(Tensor t1, Tensor t2, double value) {
        Native.check(xft_addcdiv_(h(), handle(t1, "tensor1"), handle(t2, "tensor2"), value), "addcdiv_");
        return this;
    }

    public Tensor fill_(double value) {
        Native.check(xft_fill_(h(), value), "fill_");
        return this;
    }

    public Tensor zero_() {
        return fill_(0);
    }

    public Tensor copy_(Tensor src) {
        return copy_(src, false);
    }

    public Tensor copy_(Tensor src, boolean nonBlocking) {
        Native.check(xft_copy_(h(), handle(src, "src"), nonBlocking ? 1 : 0), "copy_");
        return this;
    }

    // ---- reductions (no dims = all dims) ----

    private Tensor reduce(int op, long[] dims, boolean keepdim, String name) {
        return wrap(xft_reduce(op, h(), Native.longs(dims), dims.length, keepdim ? 1 : 0), name);
    }

    public Tensor sum() { return reduce(XFT_SUM(), ALL, false, "sum"); }
    public Tensor sum(long[] dims, boolean keepdim) { return reduce(XFT_SUM(), dims, keepdim, "sum"); }
    public Tensor sum(long dim) { return sum(new long[] {dim}, false); }
    public Tensor mean() { return reduce(XFT_MEAN(), ALL, false, "mean"); }
    public Tensor mean(long[] dims, boolean keepdim) { return reduce(XFT_MEAN(), dims, keepdim, "mean"); }
    public Tensor mean(long dim) { return mean(new long[] {dim}, false); }
    public Tensor mean(long dim, boolean keepdim) { return mean(new long[] {dim}, keepdim); }
    public Tensor amax(long[] dims, boolean keepdim) { return reduce(XFT_AMAX(), dims, keepdim, "amax"); }
    public Tensor amax() { return amax(ALL, false); }
    public Tensor amax(long dim) { return amax(new long[] {dim}, false); }
    public Tensor amin(long[] dims, boolean keepdim) { return reduce(XFT_AMIN(), dims, keepdim, "amin"); }
    public Tensor amin() { return amin(ALL, false); }
    public Tensor logsumexp(long[] dims, boolean keepdim) { return reduce(XFT_LOGSUMEXP(), dims, keepdim, "logsumexp"); }
    public Tensor prod(long[] dims, boolean keepdim) { return reduce(XFT_PROD(), dims, keepdim, "prod"); }
    public Tensor prod() { return prod(ALL, false); }
    public Tensor all() { return reduce(XFT_ALL(), ALL, false, "all"); }
    public Tensor any() { return reduce(XFT_ANY(), ALL, false, "any"); }
    public Tensor argmax() { return reduce(XFT_ARGMAX(), ALL, false, "argmax"); }
    public Tensor argmax(long dim, boolean keepdim) { return reduce(XFT_ARGMAX(), new long[] {dim}, keepdim, "argmax"); }
    public Tensor argmin(long dim, boolean keepdim) { return reduce(XFT_ARGMIN(), new long[] {dim}, keepdim, "argmin"); }

    /** Variance with Bessel-style correction (1 = unbiased, 0 = population). */
    public Tensor var(long[] dims, long correction, boolean keepdim) {
        return wrap(xft_var(h(), Native.longs(dims), dims.length, correction, keepdim ? 1 : 0), "var");
    }

    public Tensor norm(double p, long[] dims, boolean keepdim) {
        return wrap(xft_norm(h(), p, Native.longs(dims), dims.length, keepdim ? 1 : 0), "norm");
    }

    /** Values and int64 indices of a max, topk or sort. Closing it closes both. */
    public record ValuesIndices(Tensor values, Tensor indices) implements AutoCloseable {
        @Override
        public void close() {
            values.close();
            indices.close();
        }
    }

    private static ValuesIndices pair(MemorySegment outs, String op) {
        MemorySegment v = outs.getAtIndex(ADDRESS, 0), i = outs.getAtIndex(ADDRESS, 1);
        return new ValuesIndices(wrap(v, op), wrap(i, op));
    }

    public ValuesIndices max(long dim, boolean keepdim) {
        MemorySegment outs = Native.outs();
        Native.check(xft_max_dim(h(), dim, keepdim ? 1 : 0, outs, outs.asSlice(ADDRESS.byteSize())), "max");
        return pair(outs, "max");
    }

    public ValuesIndices topk(long k, long dim, boolean largest, boolean sorted) {
        MemorySegment outs = Native.outs();
        Native.check(xft_topk(h(), k, dim, largest ? 1 : 0, sorted ? 1 : 0, outs, outs.asSlice(ADDRESS.byteSize())), "topk");
        return pair(outs, "topk");
    }

    public Tensor argsort(long dim, boolean descending) {
        return wrap(xft_argsort(h(), dim, descending ? 1 : 0), "argsort");
    }

    // ---- linear algebra and softmax ----

    public Tensor matmul(Tensor o) { return wrap(xft_matmul(h(), handle(o, "other")), "matmul"); }
    public Tensor bmm(Tensor o) { return wrap(xft_bmm(h(), handle(o, "other")), "bmm"); }
    public Tensor softmax(long dim) { return wrap(xft_softmax(h(), dim), "softmax"); }
    public Tensor logSoftmax(long dim) { return wrap(xft_log_softmax(h(), dim), "log_softmax"); }

    // ---- autograd ----

    public Tensor requiresGrad_(boolean requiresGrad) {
        Native.check(xft_set_requires_grad(h(), requiresGrad ? 1 : 0), "requires_grad_");
        return this;
    }

    public void backward() {
        backward(null, false);
    }

    /** gradient may be null for a scalar. */
    public void backward(Tensor gradient, boolean retainGraph) {
        Native.check(xft_backward(h(), handleOrNull(gradient), retainGraph ? 1 : 0), "backward");
    }

    /** The accumulated gradient (a new handle sharing its storage), or null when there is none. */
    public Tensor grad() {
        MemorySegment outs = Native.outs();
        Native.check(xft_grad(h(), outs), "grad");
        MemorySegment g = outs.getAtIndex(ADDRESS, 0);
        return g.address() == 0 ? null : new Tensor(g);
    }

    public void zeroGrad() {
        Native.check(xft_zero_grad(h()), "zero_grad");
    }

    public void setGradNone() {
        Native.check(xft_set_grad_none(h()), "grad = None");
    }

    /** Whether a gradient is there (no handle is made, unlike {@link #grad()}). */
    public boolean hasGrad() {
        int r = xft_has_grad(h());
        if (r < 0) throw Native.error("has grad");
        return r == 1;
    }

    /** Sets every tensor's gradient to none in one call. */
    public static void setGradsNone(Tensor[] ts) {
        if (ts.length == 0) return;
        try (Arena a = Arena.ofConfined()) {
            Native.check(xft_set_grads_none(Native.handles(a, ts), ts.length), "grad = None");
        }
    }

    /**
     * Frees the scope-owned tensors items[0..size) (nulls skipped) in one native call; tensors
     * with a Cleaner go through it, as {@link #close} does.
     */
    static void freeAll(Tensor[] items, int size) {
        MemorySegment buf = null;
        int n = 0;
        for (int i = size - 1; i >= 0; i--) {
            Tensor t = items[i];
            if (t == null || t.handle == null) continue;
            if (t.cleanable != null) {
                t.freeFromScope();
                continue;
            }
            if (buf == null) buf = Native.frees(size);
            buf.setAtIndex(ADDRESS, n++, t.handle);
            t.handle = null;
            t.owner = null;
        }
        if (n > 0) xft_tensor_free_many(buf, n);
    }
}
