package org.pocketnn;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * An n-dimensional array: an element type, a shape and row-major data in a direct, native-order
 * {@link ByteBuffer}. Inputs are built with the {@code from...} factories; {@link Session#run}
 * returns outputs as Tensors that own a copy of the data (valid after later runs).
 */
public final class Tensor {
    /** Element types, with the codes of {@code PnnDType} in pocketnn.h. */
    public enum DType {
        /** 32-bit float. */
        F32(1, 4),
        /** Unsigned byte. */
        U8(2, 1),
        /** Signed byte. */
        I8(3, 1),
        /** 32-bit integer. */
        I32(6, 4),
        /** 64-bit integer. */
        I64(7, 8),
        /** Boolean, one byte (0 or 1). */
        BOOL(9, 1),
        /** 16-bit float (raw bits). */
        F16(10, 2);

        /** The {@code PnnDType} code. */
        public final int code;
        /** Bytes per element. */
        public final int size;

        DType(int code, int size) {
            this.code = code;
            this.size = size;
        }

        /**
         * The dtype with this code.
         *
         * @param code a {@code PnnDType} code
         * @return the dtype
         * @throws PocketnnException INVALID_ARGUMENT for an unknown code
         */
        public static DType fromCode(int code) {
            for (DType d : values()) {
                if (d.code == code) return d;
            }
            throw new PocketnnException(
                    PocketnnException.INVALID_ARGUMENT, code + " is not a dtype code");
        }
    }

    private final DType dtype;
    private final long[] shape;
    private final ByteBuffer data;

    private Tensor(DType dtype, long[] shape, ByteBuffer data) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.data = data;
    }

    /**
     * A float tensor holding a copy of {@code values}.
     *
     * @param values row-major elements; their count must match the shape
     * @param shape the dimensions (each >= 0)
     * @return the tensor
     * @throws PocketnnException SIZE_MISMATCH when the count does not match the shape
     */
    public static Tensor fromFloats(float[] values, long... shape) {
        if (values == null || shape == null) {
            throw new PocketnnException(PocketnnException.NULL_POINTER, "values or shape is null");
        }
        checkCount(values.length, shape);
        ByteBuffer buffer = allocate((long) values.length * 4);
        buffer.asFloatBuffer().put(values);
        return new Tensor(DType.F32, shape, buffer);
    }

    /**
     * A tensor over a copy of {@code bytes} (from its position to its limit), which must hold
     * {@code dtype.size} bytes per element in native byte order. The size is checked when the
     * tensor is run.
     *
     * @param dtype the element type
     * @param bytes the row-major data
     * @param shape the dimensions
     * @return the tensor
     */
    public static Tensor fromBytes(DType dtype, ByteBuffer bytes, long... shape) {
        if (dtype == null || bytes == null || shape == null) {
            throw new PocketnnException(
                    PocketnnException.NULL_POINTER, "dtype, bytes or shape is null");
        }
        ByteBuffer copy = allocate(bytes.remaining());
        copy.put(bytes.duplicate());
        copy.clear();
        return new Tensor(dtype, shape, copy);
    }

    /** A tensor around a buffer the caller gives up (used for outputs). */
    static Tensor wrap(DType dtype, long[] shape, ByteBuffer data) {
        return new Tensor(dtype, shape, data);
    }

    static ByteBuffer allocate(long bytes) {
        if (bytes < 0 || bytes > Integer.MAX_VALUE) {
            throw new PocketnnException(
                    PocketnnException.INVALID_ARGUMENT, bytes + " bytes do not fit a ByteBuffer");
        }
        return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
    }

    private static void checkCount(long count, long[] shape) {
        long expected = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new PocketnnException(
                        PocketnnException.INVALID_ARGUMENT, "negative dimension " + d);
            }
            expected = Math.multiplyExact(expected, d);
        }
        if (expected != count) {
            throw new PocketnnException(
                    PocketnnException.SIZE_MISMATCH,
                    count + " values for shape " + Arrays.toString(shape) + " (" + expected + ")");
        }
    }

    /**
     * The element type.
     *
     * @return the dtype
     */
    public DType dtype() {
        return dtype;
    }

    /**
     * The dimensions.
     *
     * @return a copy of the shape
     */
    public long[] shape() {
        return shape.clone();
    }

    /**
     * The data: a read-only view of the direct, native-order buffer.
     *
     * @return the bytes, position 0, limit the size
     */
    public ByteBuffer data() {
        return data.asReadOnlyBuffer().order(ByteOrder.nativeOrder());
    }

    /** The buffer handed to native code (position 0, capacity the size). */
    ByteBuffer nativeBuffer() {
        return data;
    }

    /**
     * The elements of a float tensor.
     *
     * @return a new array
     * @throws PocketnnException WRONG_DTYPE when the tensor is not F32
     */
    public float[] toFloatArray() {
        if (dtype != DType.F32) {
            throw new PocketnnException(
                    PocketnnException.WRONG_DTYPE, "the tensor is " + dtype + ", not F32");
        }
        float[] values = new float[data.capacity() / 4];
        data().asFloatBuffer().get(values);
        return values;
    }
}
