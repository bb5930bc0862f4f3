package io.xformer.nn;

import static io.xformer.bindings.xft.xft_h.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** The {@code torch.*} namespace: tensor factories, joins, seeds, version and CUDA queries. */
public final class Torch {
    static {
        Native.init();
    }

    private Torch() {}

    // ---- library ----

    /** e.g. "libtorch 1.13.1; cuda no". */
    public static String version() {
        return xft_version().getString(0);
    }

    /** Native tensor handles alive in this process (a leak check: compare before and after). */
    public static long liveTensors() {
        return xft_live_tensors();
    }

    /**
     * Device-to-host reads so far (item(), to*Array(), and libxft's own reads of tensor values):
     * each one waits for the device to finish, so a training step should make none.
     */
    public static long d2hReads() {
        Native.init();
        return xft_d2h_reads();
    }

    public static void manualSeed(long seed) {
        Native.check(xft_manual_seed(seed), "manual_seed");
    }

    public static void setNumThreads(int n) {
        Threads.set(n);
    }

    /** Whether this libtorch has a feature: "public_sdpa", "fused_adamw_cpu", "fused_adamw_cuda", "autocast_device_api". */
    public static boolean hasFeature(String name) {
        try (Arena arena = Arena.ofConfined()) {
            int r = xft_has_feature(arena.allocateFrom(name));
            if (r < 0) throw Native.error("has_feature");
            return r == 1;
        }
    }

    public static boolean cudaIsAvailable() {
        return xft_cuda_is_available() == 1;
    }

    public static int cudaDeviceCount() {
        int n = xft_cuda_device_count();
        if (n < 0) throw Native.error("cuda device_count");
        return n;
    }

    public static void cudaSynchronize(int device) {
        Native.check(xft_cuda_synchronize(device), "cuda synchronize");
    }

    /** Bytes allocated, reserved, peak allocated and peak reserved by the CUDA caching allocator. */
    public record CudaMemory(long allocated, long reserved, long peakAllocated, long peakReserved) {}

    public static CudaMemory cudaMemory(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG, 4);
            Native.check(xft_cuda_memory_stats(device, out), "cuda memory stats");
            return new CudaMemory(out.getAtIndex(JAVA_LONG, 0), out.getAtIndex(JAVA_LONG, 1),
                    out.getAtIndex(JAVA_LONG, 2), out.getAtIndex(JAVA_LONG, 3));
        }
    }

    public static void cudaResetPeakMemory(int device) {
        Native.check(xft_cuda_reset_peak_memory(device), "cuda reset peak memory");
    }

    /** Microseconds per iteration of add(16 floats) + free, timed inside libxft. */
    public static double nativeAddMicros(long iterations) {
        MemorySegment out = Native.dbl();
        Native.check(xft_bench_add(iterations, out), "bench add");
        return out.get(JAVA_DOUBLE, 0);
    }

    // ---- factories ----

    public static Tensor empty(DType dtype, Device device, long... shape) {
        return Tensor.wrap(xft_empty(Native.longs(shape), shape.length, dtype.code, device.type().code, device.index()),
                "empty" + Arrays.toString(shape));
    }

    public static Tensor full(double value, DType dtype, Device device, long... shape) {
        return Tensor.wrap(xft_full(Native.longs(shape), shape.length, value, dtype.code, device.type().code,
                device.index()), "full" + Arrays.toString(shape));
    }

    public static Tensor zeros(DType dtype, Device device, long... shape) {
        return full(0, dtype, device, shape);
    }

    public static Tensor zeros(long... shape) {
        return full(0, DType.F32, Device.CPU, shape);
    }

    public static Tensor ones(DType dtype, Device device, long... shape) {
        return full(1, dtype, device, shape);
    }

    public static Tensor ones(long... shape) {
        return full(1, DType.F32, Device.CPU, shape);
    }

    public static Tensor arange(double start, double end, double step, DType dtype, Device device) {
        return Tensor.wrap(xft_arange(start, end, step, dtype.code, device.type().code, device.index()), "arange");
    }

    public static Tensor arange(long end) {
        return arange(0, end, 1, DType.I64, Device.CPU);
    }

    /** Standard normal samples; gen null = the default generator (see {@link #manualSeed}). */
    public static Tensor randn(Generator gen, DType dtype, Device device, long... shape) {
        return Tensor.wrap(xft_randn(Native.longs(shape), shape.length, dtype.code, device.type().code, device.index(),
                Generator.handle(gen)), "randn" + Arrays.toString(shape));
    }

    public static Tensor randn(long... shape) {
        return randn(null, DType.F32, Device.CPU, shape);
    }

    /** Uniform samples in [0, 1). */
    public static Tensor rand(Generator gen, DType dtype, Device device, long... shape) {
        return Tensor.wrap(xft_rand(Native.longs(shape), shape.length, dtype.code, device.type().code, device.index(),
                Generator.handle(gen)), "rand" + Arrays.toString(shape));
    }

    public static Tensor rand(long... shape) {
        return rand(null, DType.F32, Device.CPU, shape);
    }

    /** int64 samples in [low, high). */
    public static Tensor randint(long low, long high, Generator gen, Device device, long... shape) {
        return Tensor.wrap(xft_randint(low, high, Native.longs(shape), shape.length, device.type().code, device.index(),
                Generator.handle(gen)), "randint" + Arrays.toString(shape));
    }

    public static Tensor randperm(long n, Generator gen, Device device) {
        return Tensor.wrap(xft_randperm(n, device.type().code, device.index(), Generator.handle(gen)), "randperm");
    }

    // ---- from Java arrays (copied into a new CPU tensor) ----

    public static Tensor tensor(float[] data, long... shape) {
        return fromSegment(MemorySegment.ofArray(data), JAVA_FLOAT.byteSize() * data.length, DType.F32, shape);
    }

    public static Tensor tensor(double[] data, long... shape) {
        return fromSegment(MemorySegment.ofArray(data), JAVA_DOUBLE.byteSize() * data.length, DType.F64, shape);
    }

    public static Tensor tensor(long[] data, long... shape) {
        return fromSegment(MemorySegment.ofArray(data), JAVA_LONG.byteSize() * data.length, DType.I64, shape);
    }

    public static Tensor tensor(int[] data, long... shape) {
        return fromSegment(MemorySegment.ofArray(data), JAVA_INT.byteSize() * data.length, DType.I32, shape);
    }

    public static Tensor tensor(boolean[] data, long... shape) {
        byte[] b = new byte[data.length];
        for (int i = 0; i < b.length; i++) b[i] = (byte) (data[i] ? 1 : 0);
        return fromSegment(MemorySegment.ofArray(b), b.length, DType.BOOL, shape);
    }

    /** 16-bit patterns as an F16 or BF16 tensor. */
    public static Tensor fromBits(short[] bits, DType dtype, long... shape) {
        if (dtype.byteSize() != 2) throw new IllegalArgumentException("fromBits: " + dtype + " is not a 16-bit dtype");
        return fromSegment(MemorySegment.ofArray(bits), JAVA_SHORT.byteSize() * bits.length, dtype, shape);
    }

    /** Raw little-endian element bytes of any dtype. */
    public static Tensor fromBytes(byte[] raw, DType dtype, long... shape) {
        return fromSegment(MemorySegment.ofArray(raw), raw.length, dtype, shape);
    }

    /** Copies native or heap memory holding contiguous elements into a new CPU tensor. */
    static Tensor fromSegment(MemorySegment data, long bytes, DType dtype, long... shape) {
        if (data.isNative()) {
            return Tensor.wrap(xft_from_data(data, bytes, Native.longs(shape), shape.length, dtype.code),
                    "tensor" + Arrays.toString(shape));
        }
        // Heap arrays cannot be passed to native code: stage them off-heap for the copy.
        try (Arena a = Arena.ofConfined()) {
            MemorySegment staged = a.allocate(Math.max(bytes, 1), 8);
            MemorySegment.copy(data, 0, staged, 0, bytes);
            return Tensor.wrap(xft_from_data(staged, bytes, Native.longs(shape), shape.length, dtype.code),
                    "tensor" + Arrays.toString(shape) + " from " + bytes + " bytes of " + dtype);
        }
    }

    /**
     * A Java array as a tensor on device with a single host copy: straight into the memory of a
     * new CPU tensor, or into page-locked memory uploaded asynchronously to a CUDA device.
     */
    public static Tensor upload(float[] data, Device device, long... shape) {
        return upload(MemorySegment.ofArray(data), JAVA_FLOAT.byteSize() * data.length, DType.F32, device, shape);
    }

    public static Tensor upload(long[] data, Device device, long... shape) {
        return upload(MemorySegment.ofArray(data), JAVA_LONG.byteSize() * data.length, DType.I64, device, shape);
    }

    private static Tensor upload(MemorySegment data, long bytes, DType dtype, Device device, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        if (n * dtype.byteSize() != bytes)
            throw new IllegalArgumentException("upload: " + bytes + " bytes of " + dtype + " for shape " + Arrays.toString(shape));
        boolean pinned = device.isCuda();
        Tensor host = Tensor.wrap(xft_empty_host(Native.longs(shape), shape.length, dtype.code, pinned ? 1 : 0),
                "empty_host" + Arrays.toString(shape));
        if (bytes > 0) {
            MemorySegment dst = xft_host_data(host.h());
            if (dst.equals(MemorySegment.NULL)) throw Native.error("host_data");
            MemorySegment.copy(data, 0, dst.reinterpret(bytes), 0, bytes);
        }
        return pinned ? host.to(device, null, true) : host;
    }

    public static Tensor scalar(double value, DType dtype) {
        return full(value, dtype, Device.CPU);
    }

    // ---- joins and selection ----

    public static Tensor cat(long dim, Tensor... tensors) {
        return Tensor.wrap(xft_cat(Native.handles(tensors), tensors.length, dim), "cat");
    }

    public static Tensor stack(long dim, Tensor... tensors) {
        return Tensor.wrap(xft_stack(Native.handles(tensors), tensors.length, dim), "stack");
    }

    public static Tensor where(Tensor condition, Tensor a, Tensor b) {
        return Tensor.wrap(xft_where(Tensor.handle(condition, "condition"), Tensor.handle(a, "input"),
                Tensor.handle(b, "other")), "where");
    }

    public static Tensor einsum(String equation, Tensor... tensors) {
        try (Arena a = Arena.ofConfined()) {
            return Tensor.wrap(xft_einsum(a.allocateFrom(equation), Native.handles(tensors), tensors.length),
                    "einsum(" + equation + ")");
        }
    }

    /** Draws num_samples category indices per row of (unnormalised, non-negative) probs. */
    public static Tensor multinomial(Tensor probs, long numSamples, boolean replacement, Generator gen) {
        return Tensor.wrap(xft_multinomial(Tensor.handle(probs, "probs"), numSamples, replacement ? 1 : 0,
                Generator.handle(gen)), "multinomial");
    }
}
