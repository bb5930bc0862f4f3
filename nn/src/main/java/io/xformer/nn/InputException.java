package io.xformer.nn;

/**
 * Bad input from the user: a missing or malformed file, a tensor of the wrong shape or range, a
 * model folder that does not fit its config. The message names the file, field or tensor.
 * (TorchException stays for errors reported by libtorch across the C boundary.)
 */
public class InputException extends RuntimeException {
    public InputException(String message) {
        super(message);
    }

    public InputException(String message, Throwable cause) {
        super(message, cause);
    }
}
