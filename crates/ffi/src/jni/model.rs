//! JNI: loading and describing models (`org.pocketnn.Native.model*`).

use super::{entry, jni_error, model_handle, model_ref, non_null};
use crate::handles::PnnModel;
use crate::status::{FfiError, PnnStatus};
use jni::JNIEnv;
use jni::objects::{JByteArray, JByteBuffer, JClass, JObject, JString};
use jni::sys::{jboolean, jint, jlong, jlongArray, jstring};

/// A non-negative Java `long` as a byte count or offset.
fn unsigned(value: jlong, what: &str) -> Result<u64, FfiError> {
    u64::try_from(value).map_err(|_| {
        FfiError::new(
            PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
            format!("{what} {value} is negative"),
        )
    })
}

/// A non-negative Java `int` as an index.
pub(super) fn checked_index(value: jint) -> Result<usize, FfiError> {
    usize::try_from(value).map_err(|_| {
        FfiError::new(
            PnnStatus::PNN_ERROR_OUT_OF_RANGE,
            format!("index {value} is negative"),
        )
    })
}

/// `String Native.version()`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_version<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
) -> jstring {
    entry(&mut env, std::ptr::null_mut(), |env| {
        let text = env
            .new_string(env!("CARGO_PKG_VERSION"))
            .map_err(jni_error("version"))?;
        Ok(text.into_raw())
    })
}

/// `long Native.modelLoadFile(String path)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_modelLoadFile<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    path: JString<'local>,
) -> jlong {
    entry(&mut env, 0, |env| {
        non_null(&path, "path")?;
        let path: String = env.get_string(&path).map_err(jni_error("path"))?.into();
        Ok(model_handle(PnnModel::load_file(&path)?))
    })
}

/// `long Native.modelLoadBytes(byte[] bytes)`: validates a copy.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_modelLoadBytes<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    bytes: JByteArray<'local>,
) -> jlong {
    entry(&mut env, 0, |env| {
        non_null(&bytes, "bytes")?;
        let bytes = env.convert_byte_array(&bytes).map_err(jni_error("bytes"))?;
        Ok(model_handle(PnnModel::load_bytes(&bytes)?))
    })
}

/// `long Native.modelLoadDirect(ByteBuffer buffer)`: validates a copy of a
/// direct buffer's bytes (from its address, `capacity` bytes).
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_modelLoadDirect<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    buffer: JByteBuffer<'local>,
) -> jlong {
    entry(&mut env, 0, |env| {
        non_null(&buffer, "buffer")?;
        let bytes = direct_bytes(env, &buffer, "buffer")?;
        Ok(model_handle(PnnModel::load_bytes(bytes)?))
    })
}

/// The address and capacity of a direct `ByteBuffer`.
pub(super) fn direct_parts(
    env: &JNIEnv<'_>,
    buffer: &JByteBuffer<'_>,
    what: &str,
) -> Result<(*mut u8, usize), FfiError> {
    let not_direct = |_| {
        FfiError::new(
            PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
            format!("`{what}` is not a direct ByteBuffer"),
        )
    };
    let address = env.get_direct_buffer_address(buffer).map_err(not_direct)?;
    let capacity = env.get_direct_buffer_capacity(buffer).map_err(not_direct)?;
    if address.is_null() && capacity != 0 {
        return Err(not_direct(jni::errors::Error::NullPtr("buffer address")));
    }
    Ok((address, capacity))
}

/// The bytes of a direct `ByteBuffer` (address to capacity), read-only.
pub(super) fn direct_bytes<'b>(
    env: &JNIEnv<'_>,
    buffer: &'b JByteBuffer<'_>,
    what: &str,
) -> Result<&'b [u8], FfiError> {
    let (address, capacity) = direct_parts(env, buffer, what)?;
    if capacity == 0 {
        return Ok(&[]);
    }
    // SAFETY: the JVM reports `address` (not NULL) as the start of the
    // direct buffer's `capacity` bytes; the buffer is reachable from the
    // caller's local reference `buffer` for `'b`, direct buffers never move,
    // and the slice is only read.
    Ok(unsafe { std::slice::from_raw_parts(address, capacity) })
}

/// `long Native.modelLoadFd(FileDescriptor fd, long offset, long length)`:
/// maps a range of an open file (Android `AssetFileDescriptor`).
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_modelLoadFd<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    fd: JObject<'local>,
    offset: jlong,
    length: jlong,
) -> jlong {
    entry(&mut env, 0, |env| {
        non_null(&fd, "fd")?;
        let raw = descriptor_number(env, &fd)?;
        let (offset, length) = (unsigned(offset, "offset")?, unsigned(length, "length")?);
        // SAFETY: `raw` is the descriptor of a live `java.io.FileDescriptor`
        // held by the caller during this call.
        let model = unsafe { crate::fd::load_fd_range(raw, offset, length) }?;
        Ok(model_handle(model))
    })
}

/// The number inside a `java.io.FileDescriptor`: the private field
/// `descriptor` on Android, `fd` on OpenJDK (JNI may read private fields).
fn descriptor_number(env: &mut JNIEnv<'_>, fd: &JObject<'_>) -> Result<i32, FfiError> {
    for field in ["descriptor", "fd"] {
        match env.get_field(fd, field, "I").and_then(|v| v.i()) {
            Ok(number) => return Ok(number),
            Err(_) => {
                // NoSuchFieldError is pending: clear it and try the next name.
                let _ = env.exception_clear();
            }
        }
    }
    Err(FfiError::new(
        PnnStatus::PNN_ERROR_UNSUPPORTED,
        "cannot read the descriptor number of this java.io.FileDescriptor",
    ))
}

/// `long Native.modelLoadRawFd(int fd, long offset, long length)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_modelLoadRawFd<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    fd: jint,
    offset: jlong,
    length: jlong,
) -> jlong {
    entry(&mut env, 0, |_| {
        let (offset, length) = (unsigned(offset, "offset")?, unsigned(length, "length")?);
        // SAFETY: the Java contract (ParcelFileDescriptor.getFd()) is an
        // open descriptor during the call; a negative one is rejected.
        let model = unsafe { crate::fd::load_fd_range(fd, offset, length) }?;
        Ok(model_handle(model))
    })
}

/// `void Native.modelDestroy(long model)`; 0 is ignored.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_modelDestroy<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    model: jlong,
) {
    entry(&mut env, (), |_| {
        if model != 0 {
            // SAFETY: Java gives each handle back once (Model.close zeroes
            // it under a lock); it came from `model_handle`'s Box::into_raw.
            drop(unsafe { Box::from_raw(model as *mut PnnModel) });
        }
        Ok(())
    })
}

/// `boolean Native.modelIsMemoryMapped(long model)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_modelIsMemoryMapped<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    model: jlong,
) -> jboolean {
    entry(&mut env, 0, |_| {
        // SAFETY: a live handle from Model (or 0: an error).
        let model = unsafe { model_ref(model) }?;
        Ok(jboolean::from(model.is_memory_mapped()))
    })
}

/// `int Native.modelCount(long model, boolean outputs)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_modelCount<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    model: jlong,
    outputs: jboolean,
) -> jint {
    entry(&mut env, 0, |_| {
        // SAFETY: a live handle from Model (or 0: an error).
        let model = unsafe { model_ref(model) }?;
        let count = model.shared.entries(outputs != 0).len();
        Ok(jint::try_from(count).unwrap_or(jint::MAX))
    })
}

/// `String Native.modelName(long model, boolean outputs, int index)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_modelName<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    model: jlong,
    outputs: jboolean,
    position: jint,
) -> jstring {
    entry(&mut env, std::ptr::null_mut(), |env| {
        // SAFETY: a live handle from Model (or 0: an error).
        let model = unsafe { model_ref(model) }?;
        let entry = model.shared.entry(outputs != 0, checked_index(position)?)?;
        let name = env
            .new_string(entry.name_str())
            .map_err(jni_error("name"))?;
        Ok(name.into_raw())
    })
}

/// `int Native.modelDType(long model, boolean outputs, int index)`: a
/// `PnnDType` code.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_modelDType<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    model: jlong,
    outputs: jboolean,
    position: jint,
) -> jint {
    entry(&mut env, 0, |_| {
        // SAFETY: a live handle from Model (or 0: an error).
        let model = unsafe { model_ref(model) }?;
        Ok(model
            .shared
            .entry(outputs != 0, checked_index(position)?)?
            .dtype as jint)
    })
}

/// `long[] Native.modelShape(long model, boolean outputs, int index)`: the
/// declared dims (-1 symbolic), or null when the model declares none.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_modelShape<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    model: jlong,
    outputs: jboolean,
    position: jint,
) -> jlongArray {
    entry(&mut env, std::ptr::null_mut(), |env| {
        // SAFETY: a live handle from Model (or 0: an error).
        let model = unsafe { model_ref(model) }?;
        match &model
            .shared
            .entry(outputs != 0, checked_index(position)?)?
            .shape
        {
            None => Ok(std::ptr::null_mut()),
            Some(dims) => Ok(super::session::long_array(env, dims)?),
        }
    })
}
