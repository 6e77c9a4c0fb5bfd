package org.pocketnn;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Runs a {@link Model} with its own memory. Methods are synchronized, but a session is meant for
 * one thread: give each thread its own session of the shared model.
 */
public final class Session implements AutoCloseable {
    private long handle;
    private final String[] outputNames;

    Session(long handle, String[] outputNames) {
        this.handle = handle;
        this.outputNames = outputNames;
    }

    /**
     * Runs the model. Every model input must be given exactly once.
     *
     * @param inputs input tensors by name
     * @return the outputs by name, in the model's output order; each owns a copy of its data
     * @throws PocketnnException e.g. UNKNOWN_NAME, MISSING_INPUT, WRONG_DTYPE, WRONG_SHAPE,
     *     SIZE_MISMATCH
     */
    public synchronized Map<String, Tensor> run(Map<String, Tensor> inputs) {
        if (inputs == null) {
            throw new PocketnnException(PocketnnException.NULL_POINTER, "`inputs` is null");
        }
        int n = inputs.size();
        String[] names = new String[n];
        int[] dtypes = new int[n];
        long[][] shapes = new long[n][];
        ByteBuffer[] data = new ByteBuffer[n];
        int i = 0;
        for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
            Tensor t = e.getValue();
            if (e.getKey() == null || t == null) {
                throw new PocketnnException(
                        PocketnnException.NULL_POINTER, "an input name or tensor is null");
            }
            names[i] = e.getKey();
            dtypes[i] = t.dtype().code;
            shapes[i] = t.shape();
            data[i] = t.nativeBuffer();
            i++;
        }
        Native.sessionRun(handle, names, dtypes, shapes, data);
        Map<String, Tensor> outputs = new LinkedHashMap<>();
        for (int k = 0; k < outputNames.length; k++) {
            outputs.put(outputNames[k], output(k));
        }
        return outputs;
    }

    /**
     * Output {@code index} of the last run, copied.
     *
     * @param index the output's position
     * @return a tensor owning a copy of the output
     */
    public synchronized Tensor output(int index) {
        Tensor.DType dtype = Tensor.DType.fromCode(Native.sessionOutputDType(handle, index));
        long[] shape = Native.sessionOutputShape(handle, index);
        ByteBuffer buffer = Tensor.allocate(Native.sessionOutputByteLength(handle, index));
        Native.sessionCopyOutput(handle, index, dtype.code, buffer);
        return Tensor.wrap(dtype, shape, buffer);
    }

    /**
     * Copies output {@code index} of the last run into {@code dst}, a direct buffer with room for
     * it from its position (the position is not moved).
     *
     * @param index the output's position
     * @param dtype the element type the caller expects
     * @param dst a direct buffer
     * @throws PocketnnException WRONG_DTYPE, BUFFER_TOO_SMALL, INVALID_ARGUMENT (not direct)
     */
    public synchronized void copyOutput(int index, Tensor.DType dtype, ByteBuffer dst) {
        if (dtype == null || dst == null) {
            throw new PocketnnException(PocketnnException.NULL_POINTER, "dtype or dst is null");
        }
        Native.sessionCopyOutput(handle, index, dtype.code, dst.slice());
    }

    /** Releases the session and its memory. Closing twice is harmless. */
    @Override
    public synchronized void close() {
        long h = handle;
        handle = 0;
        Native.sessionDestroy(h);
    }
}
