package io.xformer.nn;

/** A config file that does not validate: the message names the file and the JSON path. */
public class ConfigException extends InputException {
    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
