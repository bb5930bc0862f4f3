package io.xformer.nn;

/** Element types, with libxft's codes and safetensors' names. */
public enum DType {
    F32(0, 4, "F32"),
    F64(1, 8, "F64"),
    F16(2, 2, "F16"),
    BF16(3, 2, "BF16"),
    I64(4, 8, "I64"),
    I32(5, 4, "I32"),
    I16(6, 2, "I16"),
    I8(7, 1, "I8"),
    U8(8, 1, "U8"),
    BOOL(9, 1, "BOOL");

    private static final DType[] BY_CODE = values();

    final int code;
    private final int byteSize;
    private final String safetensorsName;

    DType(int code, int byteSize, String safetensorsName) {
        this.code = code;
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
    }

    public int byteSize() {
        return byteSize;
    }

    public String safetensorsName() {
        return safetensorsName;
    }

    public boolean isFloatingPoint() {
        return this == F32 || this == F64 || this == F16 || this == BF16;
    }

    static DType fromCode(int code) {
        if (code < 0 || code >= BY_CODE.length) throw new TorchException("unknown dtype code " + code);
        return BY_CODE[code];
    }

    /** The dtype for a safetensors name such as "BF16", or null when xft has none. */
    public static DType fromSafetensors(String name) {
        for (DType d : BY_CODE) if (d.safetensorsName.equals(name)) return d;
        return null;
    }
}
