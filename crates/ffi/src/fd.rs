//! Loading from a file descriptor range (Unix only).

use crate::handles::PnnModel;
use crate::status::{FfiError, PnnStatus};
use std::ffi::c_int;

/// Maps `len` bytes of the open file `fd` from `offset`. The descriptor is
/// duplicated for the call, never taken over or closed.
///
/// # Safety
/// `fd` is negative (an error) or an open file descriptor that stays open
/// until this returns.
#[cfg(unix)]
pub(crate) unsafe fn load_fd_range(fd: c_int, offset: u64, len: u64) -> Result<PnnModel, FfiError> {
    use std::os::fd::BorrowedFd;
    if fd < 0 {
        return Err(FfiError::new(
            PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
            format!("file descriptor {fd} is negative"),
        ));
    }
    // SAFETY: `fd` is not -1 and is open until this returns (contract);
    // the borrow does not outlive this call.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let owned = borrowed.try_clone_to_owned().map_err(|e| {
        FfiError::new(
            PnnStatus::PNN_ERROR_IO,
            format!("cannot use file descriptor {fd}: {e}"),
        )
    })?;
    PnnModel::load_file_range(&std::fs::File::from(owned), offset, len)
}

/// File descriptors are a Unix notion: unsupported elsewhere.
///
/// # Safety
/// None needed; `unsafe` only to match the Unix signature.
#[cfg(not(unix))]
pub(crate) unsafe fn load_fd_range(fd: c_int, offset: u64, len: u64) -> Result<PnnModel, FfiError> {
    let _ = (fd, offset, len);
    Err(FfiError::new(
        PnnStatus::PNN_ERROR_UNSUPPORTED,
        "loading from a file descriptor needs a Unix system",
    ))
}
