//! Status codes, dtype codes, the thread-local last-error message and the
//! guard that keeps panics from crossing the C boundary.

use pocketnn::tensor::TensorError;
use pocketnn::{DType, Error};
use pocketnn_ops::OpError;
use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The result of every fallible pocketnn C function.
///
/// The numbers are stable: new kinds get new numbers at the end, existing
/// ones never change meaning. `pnn_last_error()` gives the message of the
/// last failure on the calling thread.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum PnnStatus {
    /// Success.
    PNN_OK = 0,
    /// A required pointer argument was NULL.
    PNN_ERROR_NULL_POINTER = 1,
    /// An argument is invalid: not UTF-8, a negative dimension, a shape
    /// whose size overflows, an unknown dtype code, the same input twice.
    PNN_ERROR_INVALID_ARGUMENT = 2,
    /// The model file could not be opened, read or mapped.
    PNN_ERROR_IO = 3,
    /// The bytes are not a valid `.pnn` model (bad magic, checksum,
    /// structure, graph).
    PNN_ERROR_INVALID_MODEL = 4,
    /// The model or request needs something this build cannot do (an
    /// operator or dtype without a kernel, a SIMD tier this CPU lacks,
    /// loading from a file descriptor on a non-Unix system).
    PNN_ERROR_UNSUPPORTED = 5,
    /// No model input or output has that name.
    PNN_ERROR_UNKNOWN_NAME = 6,
    /// A model input was not given to `pnn_session_run`.
    PNN_ERROR_MISSING_INPUT = 7,
    /// A tensor has another element type than the model (or the caller)
    /// expects.
    PNN_ERROR_WRONG_DTYPE = 8,
    /// An input's shape does not match the model's declared shape.
    PNN_ERROR_WRONG_SHAPE = 9,
    /// A data buffer's byte length is not dtype size × element count.
    PNN_ERROR_SIZE_MISMATCH = 10,
    /// The caller's output buffer is smaller than the output.
    PNN_ERROR_BUFFER_TOO_SMALL = 11,
    /// An input or output index is not below the count.
    PNN_ERROR_OUT_OF_RANGE = 12,
    /// Outputs were asked for before a successful `pnn_session_run`.
    PNN_ERROR_NO_RESULTS = 13,
    /// Running the model failed (an operator rejected a value, a thread
    /// pool could not start).
    PNN_ERROR_RUNTIME = 14,
    /// pocketnn panicked (a bug): the panic was caught at the boundary.
    /// A session that panicked during a run refuses further runs.
    PNN_ERROR_PANIC = 15,
}

impl PnnStatus {
    /// Every status, in code order.
    pub const ALL: [PnnStatus; 16] = [
        PnnStatus::PNN_OK,
        PnnStatus::PNN_ERROR_NULL_POINTER,
        PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
        PnnStatus::PNN_ERROR_IO,
        PnnStatus::PNN_ERROR_INVALID_MODEL,
        PnnStatus::PNN_ERROR_UNSUPPORTED,
        PnnStatus::PNN_ERROR_UNKNOWN_NAME,
        PnnStatus::PNN_ERROR_MISSING_INPUT,
        PnnStatus::PNN_ERROR_WRONG_DTYPE,
        PnnStatus::PNN_ERROR_WRONG_SHAPE,
        PnnStatus::PNN_ERROR_SIZE_MISMATCH,
        PnnStatus::PNN_ERROR_BUFFER_TOO_SMALL,
        PnnStatus::PNN_ERROR_OUT_OF_RANGE,
        PnnStatus::PNN_ERROR_NO_RESULTS,
        PnnStatus::PNN_ERROR_RUNTIME,
        PnnStatus::PNN_ERROR_PANIC,
    ];

    /// The status with this code, if there is one.
    pub fn from_code(code: i32) -> Option<PnnStatus> {
        PnnStatus::ALL.into_iter().find(|s| *s as i32 == code)
    }

    /// The status's name as the header spells it, NUL-terminated.
    pub fn name(self) -> &'static std::ffi::CStr {
        match self {
            PnnStatus::PNN_OK => c"PNN_OK",
            PnnStatus::PNN_ERROR_NULL_POINTER => c"PNN_ERROR_NULL_POINTER",
            PnnStatus::PNN_ERROR_INVALID_ARGUMENT => c"PNN_ERROR_INVALID_ARGUMENT",
            PnnStatus::PNN_ERROR_IO => c"PNN_ERROR_IO",
            PnnStatus::PNN_ERROR_INVALID_MODEL => c"PNN_ERROR_INVALID_MODEL",
            PnnStatus::PNN_ERROR_UNSUPPORTED => c"PNN_ERROR_UNSUPPORTED",
            PnnStatus::PNN_ERROR_UNKNOWN_NAME => c"PNN_ERROR_UNKNOWN_NAME",
            PnnStatus::PNN_ERROR_MISSING_INPUT => c"PNN_ERROR_MISSING_INPUT",
            PnnStatus::PNN_ERROR_WRONG_DTYPE => c"PNN_ERROR_WRONG_DTYPE",
            PnnStatus::PNN_ERROR_WRONG_SHAPE => c"PNN_ERROR_WRONG_SHAPE",
            PnnStatus::PNN_ERROR_SIZE_MISMATCH => c"PNN_ERROR_SIZE_MISMATCH",
            PnnStatus::PNN_ERROR_BUFFER_TOO_SMALL => c"PNN_ERROR_BUFFER_TOO_SMALL",
            PnnStatus::PNN_ERROR_OUT_OF_RANGE => c"PNN_ERROR_OUT_OF_RANGE",
            PnnStatus::PNN_ERROR_NO_RESULTS => c"PNN_ERROR_NO_RESULTS",
            PnnStatus::PNN_ERROR_RUNTIME => c"PNN_ERROR_RUNTIME",
            PnnStatus::PNN_ERROR_PANIC => c"PNN_ERROR_PANIC",
        }
    }
}

/// Element types, with the ONNX `TensorProto.DataType` codes that `.pnn`
/// files use.
///
/// Functions take dtypes as plain `int32_t` codes (an unknown code is
/// `PNN_ERROR_INVALID_ARGUMENT`, never undefined behaviour) and report them
/// as these values.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum PnnDType {
    /// 32-bit IEEE float.
    PNN_DTYPE_F32 = 1,
    /// Unsigned 8-bit integer.
    PNN_DTYPE_U8 = 2,
    /// Signed 8-bit integer.
    PNN_DTYPE_I8 = 3,
    /// Signed 32-bit integer.
    PNN_DTYPE_I32 = 6,
    /// Signed 64-bit integer.
    PNN_DTYPE_I64 = 7,
    /// Boolean, one byte per element, 0 or 1.
    PNN_DTYPE_BOOL = 9,
    /// 16-bit IEEE float.
    PNN_DTYPE_F16 = 10,
}

impl From<DType> for PnnDType {
    fn from(dtype: DType) -> PnnDType {
        match dtype {
            DType::F32 => PnnDType::PNN_DTYPE_F32,
            DType::U8 => PnnDType::PNN_DTYPE_U8,
            DType::I8 => PnnDType::PNN_DTYPE_I8,
            DType::I32 => PnnDType::PNN_DTYPE_I32,
            DType::I64 => PnnDType::PNN_DTYPE_I64,
            DType::Bool => PnnDType::PNN_DTYPE_BOOL,
            DType::F16 => PnnDType::PNN_DTYPE_F16,
        }
    }
}

/// The runtime dtype for a caller's dtype code.
pub(crate) fn dtype_from_code(code: i32) -> Result<DType, FfiError> {
    u8::try_from(code)
        .ok()
        .and_then(DType::from_code)
        .ok_or_else(|| {
            FfiError::new(
                PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
                format!("{code} is not a dtype code (see PnnDType)"),
            )
        })
}

/// An error on its way to the caller: a status and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FfiError {
    /// The status returned.
    pub status: PnnStatus,
    /// The message `pnn_last_error()` returns.
    pub message: String,
}

impl FfiError {
    /// An error with this status and message.
    pub fn new(status: PnnStatus, message: impl Into<String>) -> FfiError {
        FfiError {
            status,
            message: message.into(),
        }
    }

    /// `PNN_ERROR_NULL_POINTER` naming the argument.
    pub(crate) fn null(argument: &str) -> FfiError {
        FfiError::new(
            PnnStatus::PNN_ERROR_NULL_POINTER,
            format!("`{argument}` is NULL"),
        )
    }

    /// A runtime error from loading a model.
    pub(crate) fn from_load(error: Error) -> FfiError {
        FfiError::from_runtime(error, PnnStatus::PNN_ERROR_INVALID_MODEL)
    }

    /// A runtime error from running a model.
    pub(crate) fn from_run(error: Error) -> FfiError {
        FfiError::from_runtime(error, PnnStatus::PNN_ERROR_RUNTIME)
    }

    /// Maps a runtime error; `node_status` is what a failing node means in
    /// this phase (an invalid model at load time, a runtime error later).
    fn from_runtime(error: Error, node_status: PnnStatus) -> FfiError {
        use PnnStatus::*;
        use pocketnn::tensor::TensorError as T;
        let status = match &error {
            Error::Io { .. } => PNN_ERROR_IO,
            Error::Format(_) | Error::InvalidGraph { .. } => PNN_ERROR_INVALID_MODEL,
            Error::Node { source, .. } => match source {
                OpError::Unsupported { .. } | OpError::UnsupportedDType { .. } => {
                    PNN_ERROR_UNSUPPORTED
                }
                _ => node_status,
            },
            Error::UnknownInput { .. } | Error::UnknownOutput { .. } => PNN_ERROR_UNKNOWN_NAME,
            Error::MissingInput { .. } => PNN_ERROR_MISSING_INPUT,
            Error::DuplicateInput { .. } => PNN_ERROR_INVALID_ARGUMENT,
            Error::InputDType { .. } | Error::Tensor(T::DTypeMismatch { .. }) => {
                PNN_ERROR_WRONG_DTYPE
            }
            Error::InputShape { .. } => PNN_ERROR_WRONG_SHAPE,
            Error::Tensor(T::LengthMismatch { .. }) => PNN_ERROR_SIZE_MISMATCH,
            Error::Tensor(T::ShapeOverflow { .. }) => PNN_ERROR_INVALID_ARGUMENT,
            Error::Tensor(T::IsaUnavailable { .. }) | Error::Isa(_) => PNN_ERROR_UNSUPPORTED,
            _ => PNN_ERROR_RUNTIME,
        };
        FfiError::new(status, error.to_string())
    }
}

impl From<TensorError> for FfiError {
    fn from(error: TensorError) -> FfiError {
        FfiError::from_run(Error::Tensor(error))
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `message` as this thread's last error.
pub(crate) fn set_last_error(message: &str) {
    // Interior NULs would cut the C string short; show them instead.
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut() {
            *slot = text;
        }
    });
}

/// A pointer to this thread's last error message (valid until the next
/// failing call on this thread).
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|cell| match cell.try_borrow() {
        Ok(text) => text.as_ptr(),
        Err(_) => c"".as_ptr(),
    })
}

/// The message of a caught panic.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string());
    format!("internal error (panic caught at the API boundary): {detail}")
}

/// Runs `body`, catching panics, and turns its outcome into a status,
/// recording the message of a failure as this thread's last error.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), FfiError>) -> PnnStatus {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => PnnStatus::PNN_OK,
        Ok(Err(error)) => {
            set_last_error(&error.message);
            error.status
        }
        Err(payload) => {
            set_last_error(&panic_message(payload.as_ref()));
            PnnStatus::PNN_ERROR_PANIC
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last_error() -> String {
        // SAFETY: `last_error_ptr` returns a live NUL-terminated string.
        unsafe { CStr::from_ptr(last_error_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = guard(|| panic!("kernel exploded"));
        assert_eq!(status, PnnStatus::PNN_ERROR_PANIC);
        assert!(last_error().contains("kernel exploded"), "{}", last_error());
        let status = guard(|| std::panic::panic_any(42u8));
        assert_eq!(status, PnnStatus::PNN_ERROR_PANIC);
        assert!(last_error().contains("no message"));
    }

    #[test]
    fn errors_set_the_thread_local_message_and_success_keeps_it() {
        let status = guard(|| Err(FfiError::new(PnnStatus::PNN_ERROR_IO, "disk\0gone")));
        assert_eq!(status, PnnStatus::PNN_ERROR_IO);
        assert_eq!(last_error(), "disk\\0gone");
        assert_eq!(guard(|| Ok(())), PnnStatus::PNN_OK);
        assert_eq!(last_error(), "disk\\0gone");
        // Another thread has its own message.
        let other = std::thread::spawn(last_error).join().unwrap_or_default();
        assert_eq!(other, "");
    }

    #[test]
    fn runtime_errors_map_to_their_status() {
        let error = FfiError::from_run(Error::MissingInput {
            name: "input".to_string(),
        });
        assert_eq!(error.status, PnnStatus::PNN_ERROR_MISSING_INPUT);
        assert_eq!(dtype_from_code(1).ok(), Some(DType::F32));
        assert_eq!(
            dtype_from_code(4).map_err(|e| e.status),
            Err(PnnStatus::PNN_ERROR_INVALID_ARGUMENT)
        );
        assert!(dtype_from_code(-1).is_err() && dtype_from_code(300).is_err());
    }
}
