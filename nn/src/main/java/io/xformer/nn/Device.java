package io.xformer.nn;

import java.util.Locale;

/** Where a tensor lives: the CPU or one CUDA device ({@code index} -1 = the current one). */
public record Device(Type type, int index) {
    public enum Type {
        CPU(0), CUDA(1);

        final int code;

        Type(int code) {
            this.code = code;
        }
    }

    public static final Device CPU = new Device(Type.CPU, -1);

    public Device {
        if (index < -1) throw new IllegalArgumentException("device index must be >= -1, got " + index);
    }

    public static Device cuda(int index) {
        return new Device(Type.CUDA, index);
    }

    /** Parses "cpu", "cuda" or "cuda:N". */
    public static Device parse(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        if (t.equals("cpu")) return CPU;
        if (t.equals("cuda")) return cuda(-1);
        if (t.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(t.substring(5)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad device '" + s + "': expected cpu, cuda or cuda:N");
            }
        }
        throw new IllegalArgumentException("bad device '" + s + "': expected cpu, cuda or cuda:N");
    }

    public boolean isCuda() {
        return type == Type.CUDA;
    }

    @Override
    public String toString() {
        return type == Type.CPU ? "cpu" : index < 0 ? "cuda" : "cuda:" + index;
    }
}
