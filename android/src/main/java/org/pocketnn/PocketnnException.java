package org.pocketnn;

/**
 * A pocketnn call failed. {@link #status()} is the stable C status code ({@code PnnStatus} in
 * pocketnn.h, e.g. 3 for {@code PNN_ERROR_IO}); the message says what went wrong.
 */
public class PocketnnException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** {@code PNN_ERROR_NULL_POINTER}: a required argument was null, or the handle is closed. */
    public static final int NULL_POINTER = 1;
    /** {@code PNN_ERROR_INVALID_ARGUMENT}. */
    public static final int INVALID_ARGUMENT = 2;
    /** {@code PNN_ERROR_IO}: the model file could not be opened, read or mapped. */
    public static final int IO = 3;
    /** {@code PNN_ERROR_INVALID_MODEL}: the bytes are not a valid .pnn model. */
    public static final int INVALID_MODEL = 4;
    /** {@code PNN_ERROR_UNSUPPORTED}. */
    public static final int UNSUPPORTED = 5;
    /** {@code PNN_ERROR_UNKNOWN_NAME}: no input or output has that name. */
    public static final int UNKNOWN_NAME = 6;
    /** {@code PNN_ERROR_MISSING_INPUT}. */
    public static final int MISSING_INPUT = 7;
    /** {@code PNN_ERROR_WRONG_DTYPE}. */
    public static final int WRONG_DTYPE = 8;
    /** {@code PNN_ERROR_WRONG_SHAPE}. */
    public static final int WRONG_SHAPE = 9;
    /** {@code PNN_ERROR_SIZE_MISMATCH}: data size is not dtype size times element count. */
    public static final int SIZE_MISMATCH = 10;
    /** {@code PNN_ERROR_BUFFER_TOO_SMALL}. */
    public static final int BUFFER_TOO_SMALL = 11;
    /** {@code PNN_ERROR_OUT_OF_RANGE}: an input or output index is not below the count. */
    public static final int OUT_OF_RANGE = 12;
    /** {@code PNN_ERROR_NO_RESULTS}. */
    public static final int NO_RESULTS = 13;
    /** {@code PNN_ERROR_RUNTIME}. */
    public static final int RUNTIME = 14;
    /** {@code PNN_ERROR_PANIC}: an internal error was caught at the boundary. */
    public static final int PANIC = 15;

    private final int status;

    /**
     * Creates an exception (also called from native code).
     *
     * @param status the C status code
     * @param message what went wrong
     */
    public PocketnnException(int status, String message) {
        super(message);
        this.status = status;
    }

    /**
     * The stable C status code.
     *
     * @return a {@code PnnStatus} value
     */
    public int status() {
        return status;
    }
}
