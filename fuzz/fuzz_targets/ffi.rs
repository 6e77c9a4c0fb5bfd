//! The C API (`pocketnn-ffi`) driven as a C caller would, by a script of
//! calls read from the fuzz input: loading models (buffer, path, file
//! descriptor range), creating and destroying sessions with various thread
//! counts, describing inputs and outputs, looking names up, running with
//! mutated dtypes, shapes and buffer sizes, reading outputs in place and
//! copying them into buffers of right and wrong sizes, destroying handles in
//! any order (a model before its sessions is allowed, docs/ffi.md).
//!
//! Every call stays inside the C contract: pointers are valid for the
//! lengths passed, strings are NUL-terminated, handles are live; NULL is
//! passed only where the API documents it. So any panic (`PNN_ERROR_PANIC`),
//! abort or sanitizer report is a real bug. A failing call must also leave a
//! non-empty `pnn_last_error()`.
//!
//! Input layout: a little-endian `u32` length `n`, then `n` bytes of a
//! `.pnn` file (the model the loads use; checksums are left as they are, so
//! most byte mutations are rejected — structure is fuzzed by `load_and_run`),
//! then the call script. `fuzz/make_seeds.sh` writes seeds in this layout.
#![no_main]
// The target plays the C caller: one `unsafe` block per call.
#![allow(clippy::multiple_unsafe_ops_per_block)]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use pocketnn_ffi::*;
use std::ffi::{CStr, CString};
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::ptr;

#[path = "ffi_run.rs"]
mod ffi_run;

/// At most this many live models and sessions.
const MAX_HANDLES: usize = 4;
/// At most this many calls per input.
const MAX_CALLS: usize = 64;
/// Largest input buffer the target allocates.
const MAX_INPUT_BYTES: usize = 1 << 20;

/// Checks a status: never a panic, and a failure has a message.
fn check(status: PnnStatus) -> PnnStatus {
    if tracing() {
        eprintln!("ffi: {status:?} {}", last_error());
    }
    assert_ne!(
        status,
        PnnStatus::PNN_ERROR_PANIC,
        "panic: {}",
        last_error()
    );
    if status != PnnStatus::PNN_OK {
        assert!(!last_error().is_empty(), "{status:?} without a message");
    }
    // The status has a name.
    // SAFETY: pnn_status_name returns a static NUL-terminated string.
    let name = unsafe { CStr::from_ptr(pnn_status_name(status as i32)) };
    assert_ne!(name.to_bytes(), b"PNN_UNKNOWN_STATUS");
    status
}

/// `FFI_FUZZ_TRACE=1` prints every status (to check what a seed does).
fn tracing() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("FFI_FUZZ_TRACE").is_some())
}

fn last_error() -> String {
    // SAFETY: a NUL-terminated thread-local string.
    unsafe { CStr::from_ptr(pnn_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// A temp file per process, holding the model bytes for path/fd loads.
fn model_file(bytes: &[u8]) -> Option<std::path::PathBuf> {
    let path = std::env::temp_dir().join(format!("pocketnn-fuzz-ffi-{}.pnn", std::process::id()));
    std::fs::write(&path, bytes).ok()?;
    Some(path)
}

struct Caller<'a> {
    model_bytes: &'a [u8],
    models: Vec<*mut PnnModel>,
    sessions: Vec<*mut PnnSession>,
}

impl Caller<'_> {
    fn pick<T: Copy>(u: &mut Unstructured, items: &[T]) -> Result<Option<T>> {
        if items.is_empty() {
            return Ok(None);
        }
        Ok(Some(items[u.choose_index(items.len())?]))
    }

    fn add_model(&mut self, status: PnnStatus, model: *mut PnnModel) {
        if status == PnnStatus::PNN_OK {
            assert!(!model.is_null());
            self.models.push(model);
        } else {
            assert!(model.is_null(), "failure wrote the out pointer");
        }
    }

    fn load_buffer(&mut self, u: &mut Unstructured) -> Result<()> {
        if self.models.len() >= MAX_HANDLES {
            return Ok(());
        }
        let mut bytes = self.model_bytes.to_vec();
        match u.int_in_range(0..=3u8)? {
            0 => {}
            1 => bytes.truncate(u.int_in_range(0..=bytes.len())?),
            2 => {
                // Flip a few bytes.
                for _ in 0..u.int_in_range(1..=4u8)? {
                    if !bytes.is_empty() {
                        let at = u.choose_index(bytes.len())?;
                        bytes[at] ^= u.int_in_range(1..=255u8)?;
                    }
                }
            }
            _ => {
                // NULL data with length 0, or a NULL out pointer.
                let mut model = ptr::null_mut();
                // SAFETY: NULL data only with length 0.
                let status = check(unsafe { pnn_model_load_buffer(ptr::null(), 0, &mut model) });
                self.add_model(status, model);
                // SAFETY: NULL out pointer is documented as an error.
                let status = check(unsafe {
                    pnn_model_load_buffer(bytes.as_ptr().cast(), bytes.len(), ptr::null_mut())
                });
                assert_eq!(status, PnnStatus::PNN_ERROR_NULL_POINTER);
                return Ok(());
            }
        }
        // Misaligned copies too.
        let shift = u.int_in_range(0..=3usize)?;
        let mut held = vec![0u8; shift];
        held.extend_from_slice(&bytes);
        let mut model = ptr::null_mut();
        // SAFETY: `bytes.len()` readable bytes, writable out pointer.
        let status = check(unsafe {
            pnn_model_load_buffer(held[shift..].as_ptr().cast(), bytes.len(), &mut model)
        });
        drop(held); // the model owns its copy
        self.add_model(status, model);
        Ok(())
    }

    fn load_path(&mut self, u: &mut Unstructured) -> Result<()> {
        if self.models.len() >= MAX_HANDLES {
            return Ok(());
        }
        let mut model = ptr::null_mut();
        let status = match u.int_in_range(0..=2u8)? {
            0 => {
                let Some(path) = model_file(self.model_bytes) else {
                    return Ok(());
                };
                let Ok(c_path) = CString::new(path.into_os_string().into_encoded_bytes()) else {
                    return Ok(());
                };
                // SAFETY: NUL-terminated path, writable out pointer.
                check(unsafe { pnn_model_load_file(c_path.as_ptr(), &mut model) })
            }
            1 => {
                // Arbitrary path bytes (NUL-terminated at the first NUL).
                let mut raw: Vec<u8> = u.arbitrary::<&[u8]>()?.iter().take(64).copied().collect();
                raw.push(0);
                // SAFETY: NUL-terminated within the vector.
                check(unsafe { pnn_model_load_file(raw.as_ptr().cast(), &mut model) })
            }
            _ => {
                // SAFETY: NULL path is documented as an error.
                check(unsafe { pnn_model_load_file(ptr::null(), &mut model) })
            }
        };
        self.add_model(status, model);
        Ok(())
    }

    fn load_fd(&mut self, u: &mut Unstructured) -> Result<()> {
        if self.models.len() >= MAX_HANDLES {
            return Ok(());
        }
        let mut model = ptr::null_mut();
        if u.ratio(1, 8)? {
            // SAFETY: a negative fd is documented as an error.
            let status = check(unsafe { pnn_model_load_fd(-1, 0, 16, &mut model) });
            assert_ne!(status, PnnStatus::PNN_OK);
            return Ok(());
        }
        // The model at a chosen offset inside a bigger file.
        let prefix = match u.int_in_range(0..=3u8)? {
            0 => 0,
            1 => 64,
            2 => u.int_in_range(1..=200usize)?,
            _ => 128,
        };
        let mut file_bytes = vec![0xA5u8; prefix];
        file_bytes.extend_from_slice(self.model_bytes);
        file_bytes.extend(std::iter::repeat_n(0u8, u.int_in_range(0..=70usize)?));
        let Some(path) = model_file(&file_bytes) else {
            return Ok(());
        };
        let Ok(file) = std::fs::File::open(&path) else {
            return Ok(());
        };
        let (offset, len) = match u.int_in_range(0..=3u8)? {
            0 => (prefix as u64, self.model_bytes.len() as u64),
            1 => (u.arbitrary::<u64>()?, u.arbitrary::<u64>()?),
            2 => (
                u.int_in_range(0..=file_bytes.len() as u64 + 8)?,
                u.int_in_range(0..=file_bytes.len() as u64 + 8)?,
            ),
            _ => (prefix as u64, file_bytes.len() as u64),
        };
        // SAFETY: an open fd that lives for the call, writable out pointer.
        let status = check(unsafe { pnn_model_load_fd(file.as_raw_fd(), offset, len, &mut model) });
        drop(file); // the caller may close the fd at once
        self.add_model(status, model);
        if status == PnnStatus::PNN_OK {
            let mut mapped = false;
            // SAFETY: live model, writable bool.
            check(unsafe { pnn_model_is_memory_mapped(model, &mut mapped) });
        }
        Ok(())
    }

    fn destroy_model(&mut self, u: &mut Unstructured) -> Result<()> {
        if self.models.is_empty() {
            // SAFETY: NULL is accepted.
            unsafe { pnn_model_destroy(ptr::null_mut()) };
            return Ok(());
        }
        let model = self.models.swap_remove(u.choose_index(self.models.len())?);
        // SAFETY: a live handle, dropped from the list so never used again.
        unsafe { pnn_model_destroy(model) };
        Ok(())
    }

    fn create_session(&mut self, u: &mut Unstructured) -> Result<()> {
        if self.sessions.len() >= MAX_HANDLES {
            return Ok(());
        }
        let model = Self::pick(u, &self.models)?.unwrap_or(ptr::null_mut());
        let threads = match u.int_in_range(0..=7u8)? {
            0 => 0,
            1 | 2 => 2,
            3 => 3,
            _ => 1,
        };
        let options = PnnSessionOptions { threads };
        let mut session = ptr::null_mut();
        let options_ptr = if u.ratio(1, 4)? {
            ptr::null()
        } else {
            &options
        };
        // SAFETY: live model or NULL, readable options or NULL, writable out.
        let status = check(unsafe { pnn_session_create(model, options_ptr, &mut session) });
        if status == PnnStatus::PNN_OK {
            assert!(!session.is_null());
            self.sessions.push(session);
        } else {
            assert!(session.is_null());
            // A live model may still be refused (an operator this build
            // cannot run, a pool that cannot start), but never as NULL.
            assert!(
                model.is_null() || status != PnnStatus::PNN_ERROR_NULL_POINTER,
                "create failed: {}",
                last_error()
            );
        }
        Ok(())
    }

    fn destroy_session(&mut self, u: &mut Unstructured) -> Result<()> {
        if self.sessions.is_empty() {
            // SAFETY: NULL is accepted.
            unsafe { pnn_session_destroy(ptr::null_mut()) };
            return Ok(());
        }
        let session = self
            .sessions
            .swap_remove(u.choose_index(self.sessions.len())?);
        // SAFETY: a live handle, dropped from the list so never used again.
        unsafe { pnn_session_destroy(session) };
        Ok(())
    }

    /// Counts, infos (every pointer read through), memory-mapped flag.
    fn describe(&mut self, u: &mut Unstructured) -> Result<()> {
        let model = Self::pick(u, &self.models)?.unwrap_or(ptr::null_mut());
        let (mut inputs, mut outputs) = (0usize, 0usize);
        // SAFETY: live model or NULL, writable counts.
        let a = check(unsafe { pnn_model_input_count(model, &mut inputs) });
        // SAFETY: as above.
        let b = check(unsafe { pnn_model_output_count(model, &mut outputs) });
        if model.is_null() {
            assert_eq!(
                (a, b),
                (
                    PnnStatus::PNN_ERROR_NULL_POINTER,
                    PnnStatus::PNN_ERROR_NULL_POINTER
                )
            );
        }
        let mut mapped = false;
        // SAFETY: live model or NULL, writable bool or NULL.
        check(unsafe { pnn_model_is_memory_mapped(model, &mut mapped) });
        // SAFETY: NULL out pointer is documented as an error.
        check(unsafe { pnn_model_input_count(model, ptr::null_mut()) });
        for is_input in [true, false] {
            let count = if is_input { inputs } else { outputs };
            let index = match u.int_in_range(0..=2u8)? {
                0 => u.int_in_range(0..=count.saturating_add(1))?,
                1 => u.arbitrary::<usize>()?,
                _ => 0,
            };
            let mut info = MaybeUninit::<PnnTensorInfo>::uninit();
            let status = if is_input {
                // SAFETY: live model or NULL, writable info.
                check(unsafe { pnn_model_input_info(model, index, info.as_mut_ptr()) })
            } else {
                // SAFETY: as above.
                check(unsafe { pnn_model_output_info(model, index, info.as_mut_ptr()) })
            };
            if status == PnnStatus::PNN_OK {
                assert!(index < count);
                // SAFETY: written on PNN_OK.
                let info = unsafe { info.assume_init() };
                read_info(&info);
            } else if !model.is_null() {
                assert_eq!(status, PnnStatus::PNN_ERROR_OUT_OF_RANGE);
                assert!(index >= count);
            }
        }
        Ok(())
    }

    /// Index by name: a real name, arbitrary bytes, or NULL.
    fn index_by_name(&mut self, u: &mut Unstructured) -> Result<()> {
        let model = Self::pick(u, &self.models)?.unwrap_or(ptr::null_mut());
        let is_input = u.arbitrary::<bool>()?;
        let name = self.name_for(u, model, is_input)?;
        let name_ptr = name.as_ref().map_or(ptr::null(), |n| n.as_ptr().cast());
        let mut index = usize::MAX;
        let out = if u.ratio(1, 8)? {
            ptr::null_mut()
        } else {
            &mut index as *mut usize
        };
        let status = if is_input {
            // SAFETY: live model or NULL, NUL-terminated name or NULL, writable out or NULL.
            check(unsafe { pnn_model_input_index(model, name_ptr, out) })
        } else {
            // SAFETY: as above.
            check(unsafe { pnn_model_output_index(model, name_ptr, out) })
        };
        if status == PnnStatus::PNN_OK {
            let mut count = 0;
            // SAFETY: live model (an index was found), writable count.
            if is_input {
                check(unsafe { pnn_model_input_count(model, &mut count) });
            } else {
                // SAFETY: as above.
                check(unsafe { pnn_model_output_count(model, &mut count) });
            }
            assert!(index < count);
        }
        Ok(())
    }

    /// A NUL-terminated name (a model's, or up to 80 arbitrary bytes with
    /// interior NULs and invalid UTF-8), or None for NULL.
    fn name_for(
        &self,
        u: &mut Unstructured,
        model: *const PnnModel,
        is_input: bool,
    ) -> Result<Option<Vec<u8>>> {
        match u.int_in_range(0..=5u8)? {
            0 => Ok(None),
            1 | 2 => {
                let mut raw: Vec<u8> = u.arbitrary::<&[u8]>()?.iter().take(80).copied().collect();
                raw.push(0);
                Ok(Some(raw))
            }
            _ => {
                let mut info = MaybeUninit::<PnnTensorInfo>::uninit();
                let index = u.int_in_range(0..=2usize)?;
                let status = if is_input {
                    // SAFETY: live model or NULL, writable info.
                    unsafe { pnn_model_input_info(model, index, info.as_mut_ptr()) }
                } else {
                    // SAFETY: as above.
                    unsafe { pnn_model_output_info(model, index, info.as_mut_ptr()) }
                };
                if check(status) != PnnStatus::PNN_OK {
                    return Ok(Some(b"x\0".to_vec()));
                }
                // SAFETY: written on PNN_OK; the name is NUL-terminated.
                let name = unsafe { CStr::from_ptr(info.assume_init().name) };
                let mut raw = name.to_bytes_with_nul().to_vec();
                if u.ratio(1, 4)? {
                    // A near miss: one byte more or less.
                    raw.pop();
                    if u.arbitrary::<bool>()? {
                        raw.pop();
                    } else {
                        raw.push(b'_');
                    }
                    raw.push(0);
                }
                Ok(Some(raw))
            }
        }
    }

    fn call(&mut self, u: &mut Unstructured) -> Result<()> {
        match u.int_in_range(0..=11u8)? {
            0 => self.load_buffer(u),
            1 => self.load_path(u),
            2 => self.load_fd(u),
            3 => self.destroy_model(u),
            4 | 5 => self.create_session(u),
            6 => self.destroy_session(u),
            7 => self.describe(u),
            8 => self.index_by_name(u),
            9 | 10 => self.run(u),
            _ => {
                let session = Self::pick(u, &self.sessions)?.unwrap_or(ptr::null_mut());
                self.read_outputs(u, session)
            }
        }
    }

    /// Destroys what is left, models and sessions interleaved in a chosen order.
    fn finish(&mut self, u: &mut Unstructured) {
        while !self.models.is_empty() || !self.sessions.is_empty() {
            let model_first = u.arbitrary::<bool>().unwrap_or(true);
            if (model_first && !self.models.is_empty()) || self.sessions.is_empty() {
                let _ = self.destroy_model(u);
            } else {
                let _ = self.destroy_session(u);
            }
        }
    }
}

/// The shape an info declares (empty for rank -1 or 0), read through its pointer.
fn info_shape(info: &PnnTensorInfo) -> Vec<i64> {
    match usize::try_from(info.rank) {
        Ok(0) | Err(_) => {
            assert!(info.shape.is_null());
            Vec::new()
        }
        // SAFETY: `rank` dims owned by the model.
        Ok(rank) => unsafe { std::slice::from_raw_parts(info.shape, rank) }.to_vec(),
    }
}

fn read_info(info: &PnnTensorInfo) {
    // SAFETY: a NUL-terminated name owned by the model.
    let name = unsafe { CStr::from_ptr(info.name) };
    assert!(name.to_str().is_ok(), "names are UTF-8");
    assert!(info.rank >= -1);
    let _ = info_shape(info);
}

fn read_tensor(tensor: &PnnTensor) {
    // SAFETY: a NUL-terminated name owned by the model.
    let name = unsafe { CStr::from_ptr(tensor.name) };
    assert!(name.to_str().is_ok());
    let shape = if tensor.rank == 0 {
        assert!(tensor.shape.is_null());
        &[][..]
    } else {
        // SAFETY: `rank` dims owned by the session.
        unsafe { std::slice::from_raw_parts(tensor.shape, tensor.rank) }
    };
    let elements = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(usize::try_from(d).ok()?));
    assert!(elements.is_some(), "output shape {shape:?}");
    if tensor.byte_len == 0 {
        assert!(tensor.data.is_null());
        return;
    }
    // SAFETY: `byte_len` bytes owned by the session; every byte is read
    // so that AddressSanitizer checks the whole range.
    let data = unsafe { std::slice::from_raw_parts(tensor.data.cast::<u8>(), tensor.byte_len) };
    std::hint::black_box(data.iter().fold(0u8, |a, &b| a ^ b));
}

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (model_bytes, script) = rest.split_at(len);
    let mut u = Unstructured::new(script);
    let mut caller = Caller {
        model_bytes,
        models: Vec::new(),
        sessions: Vec::new(),
    };
    for _ in 0..MAX_CALLS {
        if u.is_empty() || caller.call(&mut u).is_err() {
            break;
        }
    }
    caller.finish(&mut u);
});
