package org.pocketnn;

import java.io.FileDescriptor;
import java.nio.ByteBuffer;

/**
 * The JNI entry points of {@code libpocketnn_ffi} (crates/ffi/src/jni). Failures throw {@link
 * PocketnnException}. Handles are {@code long}s owned by {@link Model} and {@link Session}.
 */
final class Native {
    static {
        System.loadLibrary("pocketnn_ffi");
    }

    private Native() {}

    static native String version();

    static native long modelLoadFile(String path);

    static native long modelLoadBytes(byte[] bytes);

    static native long modelLoadDirect(ByteBuffer buffer);

    static native long modelLoadFd(FileDescriptor fd, long offset, long length);

    static native long modelLoadRawFd(int fd, long offset, long length);

    static native void modelDestroy(long model);

    static native boolean modelIsMemoryMapped(long model);

    static native int modelCount(long model, boolean outputs);

    static native String modelName(long model, boolean outputs, int index);

    static native int modelDType(long model, boolean outputs, int index);

    static native long[] modelShape(long model, boolean outputs, int index);

    static native long sessionCreate(long model, int threads);

    static native void sessionDestroy(long session);

    static native void sessionRun(
            long session, String[] names, int[] dtypes, long[][] shapes, ByteBuffer[] data);

    static native int sessionOutputDType(long session, int index);

    static native long[] sessionOutputShape(long session, int index);

    static native long sessionOutputByteLength(long session, int index);

    static native void sessionCopyOutput(long session, int index, int dtype, ByteBuffer dst);
}
