//! C functions: sessions, running, reading outputs.

use crate::c_model::{c_str, check_out, model_ref};
use crate::handles::{InputKey, InputRef, PNN_MAX_RANK, PnnModel, PnnSession, shape_from_dims};
use crate::status::{FfiError, PnnDType, PnnStatus, dtype_from_code, guard};
use std::ffi::{c_char, c_void};

/// Options for `pnn_session_create`. Start from
/// `pnn_session_options_default()` so that fields added later get their
/// defaults.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PnnSessionOptions {
    /// Worker threads for one run: 1 (the default) runs on the calling
    /// thread, 0 uses every core the OS reports.
    pub threads: u32,
}

/// One input for `pnn_session_run`, borrowed for the duration of the call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PnnInput {
    /// The input's name (NUL-terminated UTF-8), or NULL to use `index`.
    pub name: *const c_char,
    /// The input's position in the model's input list; used only when
    /// `name` is NULL.
    pub index: usize,
    /// Element type: a `PnnDType` code.
    pub dtype: i32,
    /// `rank` dimensions (each >= 0); may be NULL when `rank` is 0.
    pub shape: *const i64,
    /// Number of dimensions (at most 64).
    pub rank: usize,
    /// Row-major element data; may be NULL when `byte_len` is 0. Need not be
    /// aligned (misaligned data is copied once into aligned memory).
    pub data: *const c_void,
    /// Size of `data` in bytes: must be the dtype's size times the product
    /// of the dims.
    pub byte_len: usize,
}

/// An output of the last run, owned by the session: the pointers stay valid
/// until the next `pnn_session_run` or `pnn_session_destroy` on it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PnnTensor {
    /// NUL-terminated UTF-8 name (owned by the model).
    pub name: *const c_char,
    /// Element type.
    pub dtype: PnnDType,
    /// Number of dimensions.
    pub rank: usize,
    /// `rank` dimensions; NULL when `rank` is 0.
    pub shape: *const i64,
    /// Row-major element data, aligned for the dtype; NULL when `byte_len`
    /// is 0.
    pub data: *const c_void,
    /// Size of `data` in bytes.
    pub byte_len: usize,
}

/// Borrows a session handle for reading.
///
/// # Safety
/// `session` is NULL or a live handle valid for `'a`, not used mutably
/// meanwhile.
unsafe fn session_ref<'a>(session: *const PnnSession) -> Result<&'a PnnSession, FfiError> {
    // SAFETY: per contract a non-NULL pointer is a live `Box`ed session.
    unsafe { session.as_ref() }.ok_or_else(|| FfiError::null("session"))
}

/// The default options: one thread.
#[unsafe(no_mangle)]
pub extern "C" fn pnn_session_options_default() -> PnnSessionOptions {
    PnnSessionOptions { threads: 1 }
}

/// Creates a session for `model`. `options` may be NULL (defaults). A session
/// keeps its model alive; use each session from one thread at a time.
///
/// # Safety
/// `model` is NULL or a live model handle; `options` is NULL or readable;
/// `out_session` is NULL or valid for writing a pointer. On success
/// `*out_session` is a new handle for `pnn_session_destroy`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_session_create(
    model: *const PnnModel,
    options: *const PnnSessionOptions,
    out_session: *mut *mut PnnSession,
) -> PnnStatus {
    guard(|| {
        check_out(out_session, "out_session")?;
        // SAFETY: live handle or NULL per contract.
        let model = unsafe { model_ref(model) }?;
        // SAFETY: NULL or readable per contract; copied out at once.
        let options = unsafe { options.as_ref() }
            .copied()
            .unwrap_or_else(|| pnn_session_options_default());
        let session = PnnSession::new(model, options.threads as usize)?;
        let raw = Box::into_raw(Box::new(session));
        // SAFETY: checked non-NULL, writable per contract.
        unsafe { out_session.write(raw) };
        Ok(())
    })
}

/// Destroys a session and the outputs it holds. NULL is ignored.
///
/// # Safety
/// `session` is NULL or a live handle, not used again after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_session_destroy(session: *mut PnnSession) {
    if session.is_null() {
        return;
    }
    // SAFETY: a live handle from `Box::into_raw` in `pnn_session_create`,
    // given back exactly once per contract.
    let boxed = unsafe { Box::from_raw(session) };
    let _ = guard(move || {
        drop(boxed);
        Ok(())
    });
}

/// Reads one `PnnInput` into a borrowed [`InputRef`].
///
/// # Safety
/// The pointers in `input` are valid as `PnnInput` documents, for `'a`.
unsafe fn read_input<'a>(input: &PnnInput, position: usize) -> Result<InputRef<'a>, FfiError> {
    let context = |mut e: FfiError| {
        e.message = format!("inputs[{position}]: {}", e.message);
        e
    };
    let key = if input.name.is_null() {
        InputKey::Index(input.index)
    } else {
        // SAFETY: non-NULL and NUL-terminated per contract.
        InputKey::Name(unsafe { c_str(input.name, "name") }.map_err(context)?)
    };
    let dtype = dtype_from_code(input.dtype).map_err(context)?;
    if input.rank > PNN_MAX_RANK {
        return Err(context(FfiError::new(
            PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
            format!("rank {} is above the limit of {PNN_MAX_RANK}", input.rank),
        )));
    }
    let dims: &[i64] = match (input.rank, input.shape.is_null()) {
        (0, _) => &[],
        (_, true) => return Err(context(FfiError::null("shape"))),
        // SAFETY: non-NULL and readable for `rank` (<= 64) values per
        // contract; only read during the call.
        (rank, false) => unsafe { std::slice::from_raw_parts(input.shape, rank) },
    };
    let shape = shape_from_dims(dims).map_err(context)?;
    let data: &[u8] = match (input.byte_len, input.data.is_null()) {
        (0, _) => &[],
        (_, true) => return Err(context(FfiError::null("data"))),
        (len, false) if len > isize::MAX as usize => {
            return Err(context(FfiError::new(
                PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
                "`byte_len` is larger than any buffer",
            )));
        }
        // SAFETY: non-NULL, readable for `byte_len` bytes per contract,
        // length checked to fit isize; only read during the call.
        (len, false) => unsafe { std::slice::from_raw_parts(input.data.cast::<u8>(), len) },
    };
    Ok(InputRef {
        key,
        dtype,
        shape,
        data,
    })
}

/// Runs the model on `count` inputs (every model input exactly once, in any
/// order). On success the outputs can be read with `pnn_session_output*`
/// until the next run; on failure the session has no outputs.
///
/// # Safety
/// `session` is NULL or a live handle not used by another thread during the
/// call; `inputs` is NULL (only if `count` is 0) or points to `count`
/// `PnnInput`s whose pointers are valid as documented there.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_session_run(
    session: *mut PnnSession,
    inputs: *const PnnInput,
    count: usize,
) -> PnnStatus {
    guard(|| {
        // SAFETY: per contract a non-NULL pointer is a live `Box`ed session
        // used by this thread only.
        let session = unsafe { session.as_mut() }.ok_or_else(|| FfiError::null("session"))?;
        session.forget_results();
        let declared = session.model.inputs.len();
        if count > declared {
            return Err(FfiError::new(
                PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
                format!("{count} inputs given, the model has {declared}"),
            ));
        }
        let raw: &[PnnInput] = match (count, inputs.is_null()) {
            (0, _) => &[],
            (_, true) => return Err(FfiError::null("inputs")),
            // SAFETY: non-NULL, `count` readable `PnnInput`s per contract
            // (`count` is at most the model's input count).
            (n, false) => unsafe { std::slice::from_raw_parts(inputs, n) },
        };
        let mut refs = Vec::with_capacity(raw.len());
        for (position, input) in raw.iter().enumerate() {
            // SAFETY: the pointers inside are valid per contract.
            refs.push(unsafe { read_input(input, position) }?);
        }
        session.run(&refs)
    })
}

/// Fills `out` with output `index` of the last run.
fn describe_output(session: &PnnSession, index: usize) -> Result<PnnTensor, FfiError> {
    let (entry, record) = session.output(index)?;
    let bytes = session.output_bytes(record);
    Ok(PnnTensor {
        name: entry.name.as_ptr(),
        dtype: record.dtype.into(),
        rank: record.shape.len(),
        shape: if record.shape.is_empty() {
            std::ptr::null()
        } else {
            record.shape.as_ptr()
        },
        data: if bytes.is_empty() {
            std::ptr::null()
        } else {
            bytes.as_ptr().cast()
        },
        byte_len: bytes.len(),
    })
}

/// Describes output `index` of the last run: name, dtype, shape and a
/// pointer to its data, owned by the session (valid until the next run or
/// `pnn_session_destroy`). No copy is made.
///
/// # Safety
/// `session` is NULL or a live handle; `out_tensor` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_session_output(
    session: *const PnnSession,
    index: usize,
    out_tensor: *mut PnnTensor,
) -> PnnStatus {
    guard(|| {
        check_out(out_tensor, "out_tensor")?;
        // SAFETY: live handle or NULL per contract.
        let session = unsafe { session_ref(session) }?;
        let tensor = describe_output(session, index)?;
        // SAFETY: checked non-NULL, writable per contract.
        unsafe { out_tensor.write(tensor) };
        Ok(())
    })
}

/// `pnn_session_output` for the output called `name`.
///
/// # Safety
/// `session` is NULL or a live handle; `name` is NULL or NUL-terminated;
/// `out_tensor` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_session_output_by_name(
    session: *const PnnSession,
    name: *const c_char,
    out_tensor: *mut PnnTensor,
) -> PnnStatus {
    guard(|| {
        check_out(out_tensor, "out_tensor")?;
        // SAFETY: live handle or NULL per contract.
        let session = unsafe { session_ref(session) }?;
        // SAFETY: NULL or NUL-terminated per contract.
        let name = unsafe { c_str(name, "name") }?;
        let index = session.model.index_of(true, name)?;
        let tensor = describe_output(session, index)?;
        // SAFETY: checked non-NULL, writable per contract.
        unsafe { out_tensor.write(tensor) };
        Ok(())
    })
}

/// Copies output `index` of the last run into the caller's buffer `dst` of
/// `capacity` bytes. `dtype` is the `PnnDType` code the caller expects
/// (`PNN_ERROR_WRONG_DTYPE` if the output has another). If `out_len` is not
/// NULL it receives the output's size in bytes, also when the buffer is too
/// small (`PNN_ERROR_BUFFER_TOO_SMALL`, nothing written): call with
/// `capacity` 0 to ask for the size.
///
/// # Safety
/// `session` is NULL or a live handle; `dst` is NULL or writable for
/// `capacity` bytes; `out_len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pnn_session_copy_output(
    session: *const PnnSession,
    index: usize,
    dtype: i32,
    dst: *mut c_void,
    capacity: usize,
    out_len: *mut usize,
) -> PnnStatus {
    guard(|| {
        // SAFETY: live handle or NULL per contract.
        let session = unsafe { session_ref(session) }?;
        let expected = dtype_from_code(dtype)?;
        let (_, record) = session.output(index)?;
        let needed = session.output_bytes(record).len();
        if !out_len.is_null() {
            // SAFETY: non-NULL, writable per contract.
            unsafe { out_len.write(needed) };
        }
        if capacity > isize::MAX as usize {
            return Err(FfiError::new(
                PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
                "`capacity` is larger than any buffer",
            ));
        }
        let target: &mut [u8] = match (capacity, dst.is_null()) {
            (0, _) => &mut [],
            (_, true) => return Err(FfiError::null("dst")),
            // SAFETY: non-NULL, writable for `capacity` bytes per contract,
            // and not aliased by the session's memory (the caller's buffer).
            (n, false) => unsafe { std::slice::from_raw_parts_mut(dst.cast::<u8>(), n) },
        };
        session.copy_output(index, expected, target)?;
        Ok(())
    })
}
