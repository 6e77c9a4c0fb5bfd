//! JNI entry points for the Java API in `android/` (class
//! `org.pocketnn.Native`), built with the cargo feature `jni`.
//!
//! Each function converts its Java arguments, calls the same safe layer as
//! the C functions (`handles.rs`) and turns a failure into a thrown
//! `org.pocketnn.PocketnnException` carrying the C status code. Handles are
//! the addresses of boxed [`PnnModel`]s and [`PnnSession`]s as `long`; the
//! Java classes hand out each one once and zero it on `close()`.

mod model;
mod session;

use crate::handles::{PnnModel, PnnSession};
use crate::status::{FfiError, PnnStatus, panic_message};
use jni::JNIEnv;
use jni::objects::{JObject, JThrowable, JValue};
use jni::sys::jlong;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs a JNI entry point's body: a failure or a panic becomes a thrown
/// `PocketnnException` and the function returns `default`.
fn entry<'local, T>(
    env: &mut JNIEnv<'local>,
    default: T,
    body: impl FnOnce(&mut JNIEnv<'local>) -> Result<T, FfiError>,
) -> T {
    let error = match catch_unwind(AssertUnwindSafe(|| body(env))) {
        Ok(Ok(value)) => return value,
        Ok(Err(error)) => error,
        Err(payload) => FfiError::new(PnnStatus::PNN_ERROR_PANIC, panic_message(payload.as_ref())),
    };
    throw(env, &error);
    default
}

/// Throws `error` as a `PocketnnException`, unless a Java exception is
/// already pending (it then reaches the caller instead).
fn throw(env: &mut JNIEnv<'_>, error: &FfiError) {
    if env.exception_check().unwrap_or(true) {
        return;
    }
    let thrown = (|| -> jni::errors::Result<()> {
        let message = env.new_string(&error.message)?;
        let exception = env.new_object(
            "org/pocketnn/PocketnnException",
            "(ILjava/lang/String;)V",
            &[JValue::Int(error.status as i32), JValue::Object(&message)],
        )?;
        env.throw(JThrowable::from(exception))
    })();
    if thrown.is_err() && !env.exception_check().unwrap_or(true) {
        // The exception class is missing or broken: fall back to a plain one.
        let _ = env.throw_new("java/lang/RuntimeException", &error.message);
    }
}

/// A JNI call failed: a Java exception may be pending (it wins, see
/// [`throw`]); otherwise the argument was unusable.
fn jni_error(what: &str) -> impl FnOnce(jni::errors::Error) -> FfiError + '_ {
    move |error| {
        FfiError::new(
            PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
            format!("{what}: {error}"),
        )
    }
}

/// Fails with `PNN_ERROR_NULL_POINTER` when a Java object argument is null.
fn non_null(object: &JObject<'_>, argument: &str) -> Result<(), FfiError> {
    if object.is_null() {
        Err(FfiError::new(
            PnnStatus::PNN_ERROR_NULL_POINTER,
            format!("`{argument}` is null"),
        ))
    } else {
        Ok(())
    }
}

/// A `long` handle for a new model.
fn model_handle(model: PnnModel) -> jlong {
    Box::into_raw(Box::new(model)) as jlong
}

/// Borrows the model behind a handle.
///
/// # Safety
/// `handle` is 0 or a value from [`model_handle`] not yet given to
/// `modelDestroy`, and stays so for `'a`.
unsafe fn model_ref<'a>(handle: jlong) -> Result<&'a PnnModel, FfiError> {
    // SAFETY: per the contract a non-zero handle is a live boxed model,
    // only read through `&`.
    unsafe { (handle as *const PnnModel).as_ref() }
        .ok_or_else(|| FfiError::new(PnnStatus::PNN_ERROR_NULL_POINTER, "the model is closed"))
}

/// Borrows the session behind a handle.
///
/// # Safety
/// `handle` is 0 or a value from `sessionCreate` not yet given to
/// `sessionDestroy`, used by one thread at a time, for `'a`.
unsafe fn session_mut<'a>(handle: jlong) -> Result<&'a mut PnnSession, FfiError> {
    // SAFETY: per the contract a non-zero handle is a live boxed session
    // that no other thread uses during this call (Java synchronizes).
    unsafe { (handle as *mut PnnSession).as_mut() }
        .ok_or_else(|| FfiError::new(PnnStatus::PNN_ERROR_NULL_POINTER, "the session is closed"))
}
