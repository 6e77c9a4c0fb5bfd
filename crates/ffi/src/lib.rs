//! pocketnn's C ABI: the one interface apps written in C, C++, Swift or
//! Objective-C use (and, through the `jni` feature, Java and Kotlin).
//!
//! Built as a static library (iOS, static linking), a shared library
//! (Android's `libpocketnn_ffi.so`) and an rlib. The header
//! `include/pocketnn.h` is generated from this crate by cbindgen and
//! committed; the test `tests/header.rs` fails when it drifts.
//!
//! The rules (details in `docs/ffi.md`):
//! - Opaque handles with create/destroy pairs: [`PnnModel`] (immutable,
//!   shareable between threads) and [`PnnSession`] (one per thread at a
//!   time; it keeps its model alive).
//! - Every fallible function returns a [`PnnStatus`]; the message of the
//!   last failure on a thread is `pnn_last_error()`.
//! - No panic crosses the boundary: every function body runs under
//!   `catch_unwind` and a panic becomes `PNN_ERROR_PANIC`. NULL pointers,
//!   wrong sizes, wrong dtypes and unknown names are errors, not crashes.
//! - Outputs belong to the session until its next run, or are copied into
//!   caller buffers whose size is checked.
//!
//! ```
//! use pocketnn_ffi::*;
//! use std::ptr;
//!
//! // A missing file is an error with a message, not a crash.
//! let mut model = ptr::null_mut();
//! let status = unsafe { pnn_model_load_file(c"/no/such/model.pnn".as_ptr(), &mut model) };
//! assert_eq!(status, PnnStatus::PNN_ERROR_IO);
//! assert!(model.is_null());
//! let message = unsafe { std::ffi::CStr::from_ptr(pnn_last_error()) };
//! assert!(message.to_str().unwrap().contains("/no/such/model.pnn"));
//! ```
#![deny(missing_docs)]

mod c_model;
mod c_session;
mod fd;
mod handles;
#[cfg(feature = "jni")]
mod jni;
mod status;

pub use c_model::*;
pub use c_session::*;
pub use handles::{PNN_MAX_RANK, PnnModel, PnnSession};
pub use status::{FfiError, PnnDType, PnnStatus};
