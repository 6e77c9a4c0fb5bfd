//! C functions: library information, errors, loading and describing models.

use crate::handles::PnnModel;
use crate::status::{FfiError, PnnDType, PnnStatus, guard, last_error_ptr};
use std::ffi::{CStr, c_char, c_int, c_void};

/// A model input or output as the model declares it. The pointers belong to
/// the model and stay valid until `pnn_model_destroy` (and for as long as a
/// session of the model exists).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PnnTensorInfo {
    /// NUL-terminated UTF-8 name.
    pub name: *const c_char,
    /// Element type.
    pub dtype: PnnDType,
    /// Number of dimensions, or -1 when the model declares no shape.
    pub rank: i32,
    /// `rank` dimensions; -1 for a symbolic dimension (e.g. the batch size
    /// `N`). NULL when `rank` is 0 or -1.
    pub shape: *const i64,
}

/// Reads a C string argument as UTF-8.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid and
/// unchanged for `'a`.
pub(crate) unsafe fn c_str<'a>(ptr: *const c_char, argument: &str) -> Result<&'a str, FfiError> {
    if ptr.is_null() {
        return Err(FfiError::null(argument));
    }
    // SAFETY: not NULL, and NUL-terminated and live for 'a per this
    // function's contract.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str().map_err(|_| {
        FfiError::new(
            PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
            format!("`{argument}` is not valid UTF-8"),
        )
    })
}

/// Borrows a model handle.
///
/// # Safety
/// `model` is NULL or a handle from a `pnn_model_load_*` function that has
/// not been destroyed, valid for `'a`.
pub(crate) unsafe fn model_ref<'a>(model: *const PnnModel) -> Result<&'a PnnModel, FfiError> {
    // SAFETY: by this function's contract a non-NULL `model` points to a
    // live `PnnModel` made by `Box::into_raw`, only read through `&`.
    unsafe { model.as_ref() }.ok_or_else(|| FfiError::null("model"))
}

/// Fails with `PNN_ERROR_NULL_POINTER` when an output pointer is NULL.
pub(crate) fn check_out<T>(ptr: *mut T, argument: &str) -> Result<(), FfiError> {
    if ptr.is_null() {
        Err(FfiError::null(argument))
    } else {
        Ok(())
    }
}

/// Hands a loaded model to the caller through `out_model`.
///
/// # Safety
/// `out_model` is not NULL and valid for a pointer-sized write.
unsafe fn give_model(out_model: *mut *mut PnnModel, model: PnnModel) {
    let raw = Box::into_raw(Box::new(model));
    // SAFETY: checked non-NULL by the caller; writable per the contract.
    unsafe { out_model.write(raw) };
}

/// The library version, e.g. `"0.1.0"` (static, NUL-terminated).
#[unsafe(no_mangle)]
pub extern "C" fn pnn_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The message of the last failed call on the calling thread ("" if none).
/// The string stays valid until the next failing call on this thread; copy
/// it to keep it.
#[unsafe(no_mangle)]
pub extern "C" fn pnn_last_error() -> *const c_char {
    last_error_ptr()
}

/// The name of a status code, e.g. `"PNN_ERROR_IO"`; `"PNN_UNKNOWN_STATUS"`
/// for a code that is not a `PnnStatus`. Static, NUL-terminated.
#[unsafe(no_mangle)]
pub extern "C" fn pnn_status_name(status: i32) -> *const c_char {
    PnnStatus::from_code(status)
        .map_or(c"PNN_UNKNOWN_STATUS", PnnStatus::name)
        .as_ptr()
}

/// Memory-maps and validates the `.pnn` file at `path`. The weights are
/// used in place from the mapping; do not modify the file while the model
/// is loaded.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out_model` is NULL or valid
/// for writing a pointer. On success `*out_model` is a new handle to pass to
/// `pnn_model_destroy`; on failure it is left unchanged.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_model_load_file(
    path: *const c_char,
    out_model: *mut *mut PnnModel,
) -> PnnStatus {
    guard(|| {
        check_out(out_model, "out_model")?;
        // SAFETY: NUL-terminated per this function's contract.
        let path = unsafe { c_str(path, "path") }?;
        let model = PnnModel::load_file(path)?;
        // SAFETY: `out_model` was checked non-NULL and is writable.
        unsafe { give_model(out_model, model) };
        Ok(())
    })
}

/// Validates a model held in memory (an iOS bundle resource, an Android
/// asset read into memory). The bytes are **copied once** into 64-byte
/// aligned memory owned by the model: the caller may free `data` as soon as
/// this returns.
///
/// # Safety
/// `data` is NULL or valid for reading `len` bytes; `out_model` is NULL or
/// valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_model_load_buffer(
    data: *const c_void,
    len: usize,
    out_model: *mut *mut PnnModel,
) -> PnnStatus {
    guard(|| {
        check_out(out_model, "out_model")?;
        if data.is_null() {
            return Err(FfiError::null("data"));
        }
        if len > isize::MAX as usize {
            return Err(FfiError::new(
                PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
                "`len` is larger than any buffer",
            ));
        }
        // SAFETY: `data` is non-NULL and readable for `len` bytes (contract),
        // `len` fits in isize, and the slice is only read during this call.
        let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
        let model = PnnModel::load_bytes(bytes)?;
        // SAFETY: `out_model` was checked non-NULL and is writable.
        unsafe { give_model(out_model, model) };
        Ok(())
    })
}

/// Memory-maps and validates `len` bytes of the open file `fd` starting at
/// byte `offset` — an Android `AssetFileDescriptor` (`getParcelFileDescriptor
/// ().getFd()`, `getStartOffset()`, `getLength()`) for a model stored
/// uncompressed in the APK.
///
/// The range is mapped read-only, not copied, when `offset` is a multiple of
/// 64; otherwise it is copied once into aligned memory
/// (`pnn_model_is_memory_mapped` tells which). `fd` is not taken over: the
/// caller still owns it and may close it as soon as this returns. A range
/// past the end of the file is `PNN_ERROR_IO`; on a system without file
/// descriptors this returns `PNN_ERROR_UNSUPPORTED`.
///
/// # Safety
/// `fd` is an open file descriptor (or negative: an error) that no other
/// thread closes during the call; `out_model` is NULL or valid for writing a
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_model_load_fd(
    fd: c_int,
    offset: u64,
    len: u64,
    out_model: *mut *mut PnnModel,
) -> PnnStatus {
    guard(|| {
        check_out(out_model, "out_model")?;
        // SAFETY: the caller guarantees `fd` is open during the call.
        let model = unsafe { crate::fd::load_fd_range(fd, offset, len) }?;
        // SAFETY: `out_model` was checked non-NULL and is writable.
        unsafe { give_model(out_model, model) };
        Ok(())
    })
}

/// Destroys a model handle. Sessions created from it keep working (they
/// share the model); the memory is released with the last of them. NULL is
/// accepted and ignored.
///
/// # Safety
/// `model` is NULL or a live handle, not used again after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_model_destroy(model: *mut PnnModel) {
    if model.is_null() {
        return;
    }
    // SAFETY: a live handle made by `Box::into_raw` in `give_model`, given
    // back exactly once per this function's contract.
    let boxed = unsafe { Box::from_raw(model) };
    let _ = guard(move || {
        drop(boxed);
        Ok(())
    });
}

/// Sets `*out_mapped` to true when the model's weights are used straight
/// from a memory-mapped file, false when they live in an owned copy.
///
/// # Safety
/// `model` is NULL or a live handle; `out_mapped` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_model_is_memory_mapped(
    model: *const PnnModel,
    out_mapped: *mut bool,
) -> PnnStatus {
    guard(|| {
        check_out(out_mapped, "out_mapped")?;
        // SAFETY: live handle or NULL per contract.
        let model = unsafe { model_ref(model) }?;
        // SAFETY: checked non-NULL, writable per contract.
        unsafe { out_mapped.write(model.is_memory_mapped()) };
        Ok(())
    })
}

/// Writes the number of model inputs (`outputs == false`) or outputs.
///
/// # Safety
/// As for the public functions that call it.
unsafe fn count(model: *const PnnModel, outputs: bool, out_count: *mut usize) -> PnnStatus {
    guard(|| {
        check_out(out_count, "out_count")?;
        // SAFETY: live handle or NULL per the caller's contract.
        let model = unsafe { model_ref(model) }?;
        let n = model.shared.entries(outputs).len();
        // SAFETY: checked non-NULL, writable per the caller's contract.
        unsafe { out_count.write(n) };
        Ok(())
    })
}

/// Sets `*out_count` to the number of model inputs.
///
/// # Safety
/// `model` is NULL or a live handle; `out_count` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_model_input_count(
    model: *const PnnModel,
    out_count: *mut usize,
) -> PnnStatus {
    // SAFETY: same contract.
    unsafe { count(model, false, out_count) }
}

/// Sets `*out_count` to the number of model outputs.
///
/// # Safety
/// `model` is NULL or a live handle; `out_count` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_model_output_count(
    model: *const PnnModel,
    out_count: *mut usize,
) -> PnnStatus {
    // SAFETY: same contract.
    unsafe { count(model, true, out_count) }
}

/// Describes input or output `index`.
///
/// # Safety
/// As for the public functions that call it.
unsafe fn info(
    model: *const PnnModel,
    outputs: bool,
    index: usize,
    out_info: *mut PnnTensorInfo,
) -> PnnStatus {
    guard(|| {
        check_out(out_info, "out_info")?;
        // SAFETY: live handle or NULL per the caller's contract.
        let model = unsafe { model_ref(model) }?;
        let entry = model.shared.entry(outputs, index)?;
        let (rank, shape) = match &entry.shape {
            None => (-1, std::ptr::null()),
            Some(dims) if dims.is_empty() => (0, std::ptr::null()),
            Some(dims) => (i32::try_from(dims.len()).unwrap_or(i32::MAX), dims.as_ptr()),
        };
        let info = PnnTensorInfo {
            name: entry.name.as_ptr(),
            dtype: entry.dtype,
            rank,
            shape,
        };
        // SAFETY: checked non-NULL, writable per the caller's contract.
        unsafe { out_info.write(info) };
        Ok(())
    })
}

/// Describes model input `index` (name, dtype, declared shape).
///
/// # Safety
/// `model` is NULL or a live handle; `out_info` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_model_input_info(
    model: *const PnnModel,
    index: usize,
    out_info: *mut PnnTensorInfo,
) -> PnnStatus {
    // SAFETY: same contract.
    unsafe { info(model, false, index, out_info) }
}

/// Describes model output `index` (name, dtype, declared shape).
///
/// # Safety
/// `model` is NULL or a live handle; `out_info` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_model_output_info(
    model: *const PnnModel,
    index: usize,
    out_info: *mut PnnTensorInfo,
) -> PnnStatus {
    // SAFETY: same contract.
    unsafe { info(model, true, index, out_info) }
}

/// Finds the position of the input or output called `name`.
///
/// # Safety
/// As for the public functions that call it.
unsafe fn index_of(
    model: *const PnnModel,
    outputs: bool,
    name: *const c_char,
    out_index: *mut usize,
) -> PnnStatus {
    guard(|| {
        check_out(out_index, "out_index")?;
        // SAFETY: live handle or NULL per the caller's contract.
        let model = unsafe { model_ref(model) }?;
        // SAFETY: NULL or NUL-terminated per the caller's contract.
        let name = unsafe { c_str(name, "name") }?;
        let index = model.shared.index_of(outputs, name)?;
        // SAFETY: checked non-NULL, writable per the caller's contract.
        unsafe { out_index.write(index) };
        Ok(())
    })
}

/// Sets `*out_index` to the position of the input called `name`
/// (`PNN_ERROR_UNKNOWN_NAME` if there is none).
///
/// # Safety
/// `model` is NULL or a live handle; `name` is NULL or NUL-terminated;
/// `out_index` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_model_input_index(
    model: *const PnnModel,
    name: *const c_char,
    out_index: *mut usize,
) -> PnnStatus {
    // SAFETY: same contract.
    unsafe { index_of(model, false, name, out_index) }
}

/// Sets `*out_index` to the position of the output called `name`
/// (`PNN_ERROR_UNKNOWN_NAME` if there is none).
///
/// # Safety
/// `model` is NULL or a live handle; `name` is NULL or NUL-terminated;
/// `out_index` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_model_output_index(
    model: *const PnnModel,
    name: *const c_char,
    out_index: *mut usize,
) -> PnnStatus {
    // SAFETY: same contract.
    unsafe { index_of(model, true, name, out_index) }
}
