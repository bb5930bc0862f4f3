package io.xformer.nn;

/** An error reported by libtorch (through libxft), or a tensor-level argument error. */
public class TorchException extends RuntimeException {
    public TorchException(String message) {
        super(message);
    }

    public TorchException(String message, Throwable cause) {
        super(message, cause);
    }
}
