package org.pocketnn;

import java.io.FileDescriptor;
import java.nio.ByteBuffer;

/**
 * A loaded {@code .pnn} model: immutable, safe to share between threads (its methods are
 * synchronized so that {@link #close()} cannot free it under another thread). Create one {@link
 * Session} per thread to run it. Close it when done; sessions keep working after their model is
 * closed (they hold the model's memory until they are closed too).
 *
 * <pre>{@code
 * try (Model model = Model.load(path); Session session = model.newSession(1)) {
 *     Map<String, Tensor> out = session.run(Map.of("input", Tensor.fromFloats(pixels, 1, 1, 28, 28)));
 *     float[] logits = out.get("logits").toFloatArray();
 * }
 * }</pre>
 */
public final class Model implements AutoCloseable {
    private long handle;

    private Model(long handle) {
        this.handle = handle;
    }

    /**
     * Memory-maps and validates the model file at {@code path}.
     *
     * @param path the file
     * @return the model
     * @throws PocketnnException IO if the file cannot be read, INVALID_MODEL if it is not a model
     */
    public static Model load(String path) {
        return new Model(Native.modelLoadFile(path));
    }

    /**
     * Validates a model held in memory (e.g. an asset read into a buffer). The bytes from the
     * buffer's position to its limit are copied; the buffer may be reused afterwards.
     *
     * @param buffer a direct or heap buffer
     * @return the model
     */
    public static Model fromByteBuffer(ByteBuffer buffer) {
        if (buffer == null) {
            throw new PocketnnException(PocketnnException.NULL_POINTER, "`buffer` is null");
        }
        if (buffer.isDirect()) {
            return new Model(Native.modelLoadDirect(buffer.slice()));
        }
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return new Model(Native.modelLoadBytes(bytes));
    }

    /**
     * Maps {@code length} bytes of an open file from {@code offset}: an uncompressed model inside
     * an APK, via {@code AssetFileDescriptor.getFileDescriptor()}, {@code getStartOffset()} and
     * {@code getLength()}. The descriptor stays the caller's; it may be closed after this returns.
     *
     * @param fd an open file
     * @param offset where the model starts
     * @param length the model's size in bytes
     * @return the model
     */
    public static Model fromFileDescriptor(FileDescriptor fd, long offset, long length) {
        return new Model(Native.modelLoadFd(fd, offset, length));
    }

    /**
     * As {@link #fromFileDescriptor(FileDescriptor, long, long)}, for a raw descriptor number
     * ({@code ParcelFileDescriptor.getFd()}).
     *
     * @param fd an open file descriptor number
     * @param offset where the model starts
     * @param length the model's size in bytes
     * @return the model
     */
    public static Model fromFileDescriptor(int fd, long offset, long length) {
        return new Model(Native.modelLoadRawFd(fd, offset, length));
    }

    /**
     * The native library's version.
     *
     * @return e.g. "0.1.0"
     */
    public static String version() {
        return Native.version();
    }

    /** The handle; the caller holds the lock, so close() cannot free it meanwhile. */
    private long handle() {
        return handle;
    }

    /**
     * Creates a session for running this model from one thread.
     *
     * @param threads worker threads per run: 1 runs on the calling thread, 0 uses every core
     * @return a new session, to be closed
     */
    public synchronized Session newSession(int threads) {
        long model = handle();
        String[] outputs = new String[Native.modelCount(model, true)];
        for (int i = 0; i < outputs.length; i++) {
            outputs[i] = Native.modelName(model, true, i);
        }
        return new Session(Native.sessionCreate(model, threads), outputs);
    }

    /**
     * Whether the weights are used straight from a memory-mapped file.
     *
     * @return true for a mapping, false for an owned copy
     */
    public synchronized boolean isMemoryMapped() {
        return Native.modelIsMemoryMapped(handle());
    }

    /**
     * The number of inputs.
     *
     * @return the count
     */
    public synchronized int inputCount() {
        return Native.modelCount(handle(), false);
    }

    /**
     * The number of outputs.
     *
     * @return the count
     */
    public synchronized int outputCount() {
        return Native.modelCount(handle(), true);
    }

    /**
     * The name of input {@code index}.
     *
     * @param index below {@link #inputCount()}
     * @return the name
     */
    public synchronized String inputName(int index) {
        return Native.modelName(handle(), false, index);
    }

    /**
     * The name of output {@code index}.
     *
     * @param index below {@link #outputCount()}
     * @return the name
     */
    public synchronized String outputName(int index) {
        return Native.modelName(handle(), true, index);
    }

    /**
     * The element type of input {@code index}.
     *
     * @param index below {@link #inputCount()}
     * @return the dtype
     */
    public synchronized Tensor.DType inputDType(int index) {
        return Tensor.DType.fromCode(Native.modelDType(handle(), false, index));
    }

    /**
     * The element type of output {@code index}.
     *
     * @param index below {@link #outputCount()}
     * @return the dtype
     */
    public synchronized Tensor.DType outputDType(int index) {
        return Tensor.DType.fromCode(Native.modelDType(handle(), true, index));
    }

    /**
     * The declared shape of input {@code index}; -1 marks a symbolic dimension (e.g. the batch).
     *
     * @param index below {@link #inputCount()}
     * @return the dims, or null when the model declares none
     */
    public synchronized long[] inputShape(int index) {
        return Native.modelShape(handle(), false, index);
    }

    /**
     * The declared shape of output {@code index}; -1 marks a symbolic dimension.
     *
     * @param index below {@link #outputCount()}
     * @return the dims, or null when the model declares none
     */
    public synchronized long[] outputShape(int index) {
        return Native.modelShape(handle(), true, index);
    }

    /** Releases the model (sessions keep their share). Closing twice is harmless. */
    @Override
    public synchronized void close() {
        long h = handle;
        handle = 0;
        Native.modelDestroy(h);
    }
}
