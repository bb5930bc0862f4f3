package io.xformer.nn;

import java.util.Arrays;

/**
 * Owns the tensors created on its thread while it is the innermost open scope, and frees
 * them when closed, except those handed on with {@link #keep}. Scopes nest (a thread-local
 * stack) and must be closed innermost first, on the thread that opened them.
 *
 * <pre>{@code
 * try (Scope s = Scope.open()) {
 *     Tensor h = x.matmul(w).relu();     // owned by s
 *     return s.keep(h.sum());            // survives s: moves to the enclosing scope
 * }
 * }</pre>
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<Scope> CURRENT = new ThreadLocal<>();

    private final Scope parent;
    private final Thread thread;
    private Tensor[] items = new Tensor[16];
    private int size;
    private boolean closed;

    private Scope(Scope parent) {
        this.parent = parent;
        this.thread = Thread.currentThread();
    }

    public static Scope open() {
        Native.init();
        Scope s = new Scope(CURRENT.get());
        CURRENT.set(s);
        return s;
    }

    /** The innermost open scope of this thread, or null. */
    public static Scope current() {
        return CURRENT.get();
    }

    /** Tensors this scope currently owns. */
    public int size() {
        int n = 0;
        for (int i = 0; i < size; i++) if (items[i] != null) n++;
        return n;
    }

    /**
     * Hands {@code t} on so that closing this scope does not free it: to the enclosing scope
     * if there is one, otherwise to the caller (freed by {@link Tensor#close} or, failing
     * that, by the garbage collector).
     */
    public <T extends Tensor> T keep(T t) {
        checkUsable("keep");
        if (t.owner != this) throw new IllegalArgumentException("keep: " + t + " is not owned by this scope");
        forget(t);
        t.owner = null;
        Scope.attach(t, parent);
        return t;
    }

    /**
     * Hands on every tensor of a result that this scope owns (as {@link #keep}); tensors owned
     * elsewhere (inputs passed through, parameters) and nulls stay as they are, and a tensor
     * that appears twice is kept once. Returns r, whose tensors are the same objects.
     */
    public <R extends TensorRecord> R keepAll(R r) {
        checkUsable("keepAll");
        for (Tensor t : r.tensors()) if (t.owner == this) keep(t);
        return r;
    }

    /**
     * Takes {@code t} out of whatever scope owns it: the caller now owns it for as long as
     * it likes (module parameters, caches), with a Cleaner as the safety net.
     */
    public static <T extends Tensor> T unscoped(T t) {
        Scope s = t.owner;
        if (s != null) {
            s.checkUsable("unscoped");
            s.forget(t);
            t.owner = null;
            t.registerCleaner();
        }
        return t;
    }

    /** Whether this scope currently owns t. */
    public boolean owns(Tensor t) {
        return t.owner == this;
    }

    static void attach(Tensor t) {
        attach(t, CURRENT.get());
    }

    private static void attach(Tensor t, Scope s) {
        if (s == null) {
            t.registerCleaner();
            return;
        }
        if (s.size == s.items.length) s.items = Arrays.copyOf(s.items, s.size * 2);
        t.owner = s;
        t.slot = s.size;
        s.items[s.size++] = t;
    }

    /** Called when an owned tensor is closed early; trims the tail so loops stay O(1). */
    void forget(Tensor t) {
        if (Thread.currentThread() != thread)
            throw new IllegalStateException("a tensor owned by a scope of thread " + thread.getName()
                    + " was closed on thread " + Thread.currentThread().getName());
        items[t.slot] = null;
        while (size > 0 && items[size - 1] == null) size--;
    }

    private void checkUsable(String what) {
        if (closed) throw new IllegalStateException(what + ": scope is closed");
        if (Thread.currentThread() != thread)
            throw new IllegalStateException(what + ": scope belongs to thread " + thread.getName());
    }

    @Override
    public void close() {
        if (closed) return;
        checkUsable("close");
        if (CURRENT.get() != this)
            throw new IllegalStateException("close: scopes must be closed innermost first");
        closed = true;
        CURRENT.set(parent);
        Tensor.freeAll(items, size); // innermost-first order kept: last created, first freed
        items = null;
        size = 0;
    }
}
