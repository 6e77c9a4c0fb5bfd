//! The C ABI driven from Rust exactly as a C caller would: loading from a
//! path, a buffer and a file descriptor range, describing inputs and
//! outputs, running the seed MLP (checked against onnxruntime's logits), and
//! the error paths (NULL pointers, wrong sizes, wrong dtypes, bad files).

// These tests play the C caller: one `unsafe` block per scenario, its SAFETY
// comment covering every C call in it (all pointers are live locals or NULL).
#![allow(clippy::multiple_unsafe_ops_per_block)]

mod common;

use pocketnn_ffi::*;
use std::ffi::{CStr, CString, c_void};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::ptr;

use PnnStatus::*;

fn last_error() -> String {
    // SAFETY: pnn_last_error returns a NUL-terminated thread-local string.
    unsafe { CStr::from_ptr(pnn_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn load_buffer(bytes: &[u8]) -> *mut PnnModel {
    let mut model = ptr::null_mut();
    // SAFETY: a live slice and a writable out pointer.
    let status = unsafe { pnn_model_load_buffer(bytes.as_ptr().cast(), bytes.len(), &mut model) };
    assert_eq!(status, PNN_OK, "{}", last_error());
    model
}

fn new_session(model: *const PnnModel) -> *mut PnnSession {
    let mut session = ptr::null_mut();
    // SAFETY: a live model; NULL options mean defaults.
    let status = unsafe { pnn_session_create(model, ptr::null(), &mut session) };
    assert_eq!(status, PNN_OK, "{}", last_error());
    session
}

fn empty_info() -> PnnTensorInfo {
    PnnTensorInfo {
        name: ptr::null(),
        dtype: PnnDType::PNN_DTYPE_F32,
        rank: 0,
        shape: ptr::null(),
    }
}

fn empty_tensor() -> PnnTensor {
    PnnTensor {
        name: ptr::null(),
        dtype: PnnDType::PNN_DTYPE_F32,
        rank: 0,
        shape: ptr::null(),
        data: ptr::null(),
        byte_len: 0,
    }
}

const SHAPE: [i64; 4] = [10, 1, 28, 28];

fn digits_input(name: Option<&CStr>, digits: &[f32]) -> PnnInput {
    PnnInput {
        name: name.map_or(ptr::null(), CStr::as_ptr),
        index: 0,
        dtype: PnnDType::PNN_DTYPE_F32 as i32,
        shape: SHAPE.as_ptr(),
        rank: SHAPE.len(),
        data: digits.as_ptr().cast(),
        byte_len: std::mem::size_of_val(digits),
    }
}

/// Runs the ten digits and returns the logits read through
/// `pnn_session_output` (session-owned memory).
fn run_digits(session: *mut PnnSession, input: &PnnInput) -> Vec<f32> {
    // SAFETY: live session; the input's pointers live for the call.
    let status = unsafe { pnn_session_run(session, input, 1) };
    assert_eq!(status, PNN_OK, "{}", last_error());
    let mut tensor = std::mem::MaybeUninit::<PnnTensor>::uninit();
    // SAFETY: live session, writable out pointer.
    let status = unsafe { pnn_session_output(session, 0, tensor.as_mut_ptr()) };
    assert_eq!(status, PNN_OK, "{}", last_error());
    // SAFETY: written on PNN_OK.
    let tensor = unsafe { tensor.assume_init() };
    assert_eq!(tensor.dtype, PnnDType::PNN_DTYPE_F32);
    assert_eq!(tensor.rank, 2);
    // SAFETY: `rank` dims owned by the session until the next run.
    let shape = unsafe { std::slice::from_raw_parts(tensor.shape, tensor.rank) };
    assert_eq!(shape, [10, 10]);
    // SAFETY: NUL-terminated name owned by the model.
    assert_eq!(unsafe { CStr::from_ptr(tensor.name) }, c"logits");
    assert_eq!(tensor.byte_len, 400);
    assert_eq!(
        tensor.data as usize % 4,
        0,
        "output data is aligned for f32"
    );
    // SAFETY: byte_len bytes of f32 data, aligned, live until the next run.
    unsafe { std::slice::from_raw_parts(tensor.data.cast::<f32>(), 100) }.to_vec()
}

#[test]
fn loads_from_a_buffer_describes_io_and_matches_onnxruntime() {
    let bytes = common::seed_mlp_pnn();
    let model = load_buffer(&bytes);
    let (mut inputs, mut outputs) = (0usize, 0usize);
    // SAFETY: throughout this test, live handles, writable out pointers.
    unsafe {
        assert_eq!(pnn_model_input_count(model, &mut inputs), PNN_OK);
        assert_eq!(pnn_model_output_count(model, &mut outputs), PNN_OK);
        assert_eq!((inputs, outputs), (1, 1));
        let mut info = empty_info();
        assert_eq!(pnn_model_input_info(model, 0, &mut info), PNN_OK);
        assert_eq!(CStr::from_ptr(info.name), c"input");
        assert_eq!(info.dtype, PnnDType::PNN_DTYPE_F32);
        assert_eq!(
            std::slice::from_raw_parts(info.shape, info.rank as usize),
            [-1, 1, 28, 28]
        );
        assert_eq!(pnn_model_output_info(model, 0, &mut info), PNN_OK);
        assert_eq!(CStr::from_ptr(info.name), c"logits");
        assert_eq!(
            std::slice::from_raw_parts(info.shape, info.rank as usize),
            [-1, 10]
        );
        let mut index = 99;
        assert_eq!(
            pnn_model_output_index(model, c"logits".as_ptr(), &mut index),
            PNN_OK
        );
        assert_eq!(index, 0);
        assert_eq!(
            pnn_model_input_index(model, c"input".as_ptr(), &mut index),
            PNN_OK
        );
        assert_eq!(index, 0);
        let mut mapped = true;
        assert_eq!(pnn_model_is_memory_mapped(model, &mut mapped), PNN_OK);
        assert!(!mapped, "a buffer is copied");

        let digits = common::digits();
        let session = new_session(model);
        // The model handle may go before its sessions.
        pnn_model_destroy(model);
        let by_name = run_digits(session, &digits_input(Some(c"input"), &digits));
        common::assert_matches_reference(&by_name);
        let by_index = run_digits(session, &digits_input(None, &digits));
        assert_eq!(by_name, by_index);

        // Copy into a caller buffer, after asking for the size.
        let mut needed = 0;
        let status = pnn_session_copy_output(session, 0, 1, ptr::null_mut(), 0, &mut needed);
        assert_eq!(status, PNN_ERROR_BUFFER_TOO_SMALL);
        assert_eq!(needed, 400);
        let mut copy = vec![0f32; 100];
        let status =
            pnn_session_copy_output(session, 0, 1, copy.as_mut_ptr().cast(), 400, &mut needed);
        assert_eq!(status, PNN_OK, "{}", last_error());
        assert_eq!(copy, by_name);
        let mut tensor = empty_tensor();
        assert_eq!(
            pnn_session_output_by_name(session, c"logits".as_ptr(), &mut tensor),
            PNN_OK
        );
        assert_eq!(tensor.byte_len, 400);
        pnn_session_destroy(session);
    }
}

#[test]
fn loads_from_a_path_and_from_a_file_descriptor_range() {
    let bytes = common::seed_mlp_pnn();
    let digits = common::digits();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("seed_mlp.pnn");
    std::fs::write(&path, &bytes).expect("written");
    let c_path = CString::new(path.to_str().expect("UTF-8 path")).expect("no NUL");

    // Inside a larger file, as in an APK: at a 64-aligned offset (mapped)
    // and at an odd offset (copied), with garbage on both sides.
    let packed = dir.path().join("packed.bin");
    let mut file = std::fs::File::create(&packed).expect("created");
    file.write_all(&[0xAB; 128]).expect("written");
    file.write_all(&bytes).expect("written");
    file.write_all(&[0xCD; 3]).expect("written");
    file.write_all(&bytes).expect("written");
    file.write_all(&[0xEF; 100]).expect("written");
    drop(file);
    let file = std::fs::File::open(&packed).expect("opened");
    let fd = file.as_raw_fd();
    let len = bytes.len() as u64;
    let second = 128 + len + 3;

    // SAFETY: throughout this test, live handles, open fd, writable out pointers.
    unsafe {
        let mut models = Vec::new();
        let mut model = ptr::null_mut();
        assert_eq!(
            pnn_model_load_file(c_path.as_ptr(), &mut model),
            PNN_OK,
            "{}",
            last_error()
        );
        models.push((model, true));
        assert_eq!(
            pnn_model_load_fd(fd, 128, len, &mut model),
            PNN_OK,
            "{}",
            last_error()
        );
        models.push((model, true));
        assert_eq!(
            pnn_model_load_fd(fd, second, len, &mut model),
            PNN_OK,
            "{}",
            last_error()
        );
        models.push((model, false));
        // The caller still owns the descriptor: it works after the loads.
        assert!(file.metadata().is_ok());
        drop(file);
        for (model, expect_mapped) in models {
            let mut mapped = !expect_mapped;
            assert_eq!(pnn_model_is_memory_mapped(model, &mut mapped), PNN_OK);
            assert_eq!(mapped, expect_mapped);
            let session = new_session(model);
            let logits = run_digits(session, &digits_input(Some(c"input"), &digits));
            common::assert_matches_reference(&logits);
            pnn_session_destroy(session);
            pnn_model_destroy(model);
        }
    }
}

#[test]
fn bad_files_are_errors_with_messages() {
    let bytes = common::seed_mlp_pnn();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("model.pnn");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("written");
    let truncated = CString::new(path.to_str().expect("UTF-8")).expect("no NUL");
    let file = std::fs::File::open(&path).expect("opened");
    let mut model = ptr::null_mut();
    // SAFETY: throughout this test, valid or NULL pointers as the contracts allow.
    unsafe {
        assert_eq!(
            pnn_model_load_file(c"/no/such.pnn".as_ptr(), &mut model),
            PNN_ERROR_IO
        );
        assert!(last_error().contains("/no/such.pnn"), "{}", last_error());
        assert_eq!(
            pnn_model_load_file(truncated.as_ptr(), &mut model),
            PNN_ERROR_INVALID_MODEL
        );
        assert!(!last_error().is_empty());
        let garbage = [7u8; 1000];
        let status = pnn_model_load_buffer(garbage.as_ptr().cast(), garbage.len(), &mut model);
        assert_eq!(status, PNN_ERROR_INVALID_MODEL);
        let status = pnn_model_load_buffer(bytes.as_ptr().cast(), 0, &mut model);
        assert_eq!(status, PNN_ERROR_INVALID_MODEL);
        let past_end = bytes.len() as u64;
        assert_eq!(
            pnn_model_load_fd(file.as_raw_fd(), 0, past_end, &mut model),
            PNN_ERROR_IO
        );
        assert_eq!(
            pnn_model_load_fd(file.as_raw_fd(), u64::MAX, 10, &mut model),
            PNN_ERROR_IO
        );
        assert_eq!(
            pnn_model_load_fd(-1, 0, 10, &mut model),
            PNN_ERROR_INVALID_ARGUMENT
        );
        let not_utf8 = [0xFFu8, 0xFE, 0];
        assert_eq!(
            pnn_model_load_file(not_utf8.as_ptr().cast(), &mut model),
            PNN_ERROR_INVALID_ARGUMENT
        );
        assert!(model.is_null(), "no handle on failure");
    }
}

#[test]
fn null_pointers_are_errors() {
    let bytes = common::seed_mlp_pnn();
    let model = load_buffer(&bytes);
    let session = new_session(model);
    let mut out_model = ptr::null_mut();
    let mut out_session = ptr::null_mut();
    let mut count = 0usize;
    let mut info = empty_info();
    let null_model: *const PnnModel = ptr::null();
    let null_session: *mut PnnSession = ptr::null_mut();
    let check = |status: PnnStatus, argument: &str| {
        assert_eq!(status, PNN_ERROR_NULL_POINTER, "{argument}");
        assert!(
            last_error().contains(argument),
            "{argument}: {}",
            last_error()
        );
    };
    // SAFETY: throughout this test, every pointer is NULL or valid.
    unsafe {
        check(pnn_model_load_file(ptr::null(), &mut out_model), "path");
        check(
            pnn_model_load_file(c"x".as_ptr(), ptr::null_mut()),
            "out_model",
        );
        check(
            pnn_model_load_buffer(ptr::null(), 10, &mut out_model),
            "data",
        );
        check(
            pnn_model_load_buffer(bytes.as_ptr().cast(), 10, ptr::null_mut()),
            "out_model",
        );
        check(pnn_model_load_fd(0, 0, 10, ptr::null_mut()), "out_model");
        check(pnn_model_input_count(null_model, &mut count), "model");
        check(pnn_model_output_count(model, ptr::null_mut()), "out_count");
        check(pnn_model_input_info(null_model, 0, &mut info), "model");
        check(pnn_model_output_info(model, 0, ptr::null_mut()), "out_info");
        check(
            pnn_model_input_index(model, ptr::null(), &mut count),
            "name",
        );
        check(
            pnn_model_is_memory_mapped(model, ptr::null_mut()),
            "out_mapped",
        );
        check(
            pnn_session_create(null_model, ptr::null(), &mut out_session),
            "model",
        );
        check(
            pnn_session_create(model, ptr::null(), ptr::null_mut()),
            "out_session",
        );
        check(pnn_session_run(null_session, ptr::null(), 0), "session");
        check(pnn_session_run(session, ptr::null(), 1), "inputs");
        check(
            pnn_session_output(session, 0, ptr::null_mut()),
            "out_tensor",
        );
        check(
            pnn_session_output_by_name(session, ptr::null(), &mut empty_tensor()),
            "name",
        );
        check(
            pnn_session_copy_output(null_session, 0, 1, ptr::null_mut(), 0, ptr::null_mut()),
            "session",
        );
        let digits = common::digits();
        let mut input = digits_input(None, &digits);
        input.data = ptr::null();
        check(pnn_session_run(session, &input, 1), "data");
        let mut input = digits_input(None, &digits);
        input.shape = ptr::null();
        check(pnn_session_run(session, &input, 1), "shape");
        assert!(out_model.is_null() && out_session.is_null());
        // Destroying NULL is a no-op.
        pnn_model_destroy(ptr::null_mut());
        pnn_session_destroy(ptr::null_mut());
        pnn_session_destroy(session);
        pnn_model_destroy(model);
    }
}

#[test]
fn wrong_sizes_dtypes_shapes_and_names_are_errors() {
    let bytes = common::seed_mlp_pnn();
    let model = load_buffer(&bytes);
    let session = new_session(model);
    let digits = common::digits();
    let run = |input: &PnnInput, count: usize| {
        // SAFETY: live session, valid input pointers.
        unsafe { pnn_session_run(session, input, count) }
    };
    // SAFETY: throughout this test, live handles, valid or NULL pointers.
    unsafe {
        let mut tensor = empty_tensor();
        assert_eq!(
            pnn_session_output(session, 0, &mut tensor),
            PNN_ERROR_NO_RESULTS
        );

        let mut input = digits_input(Some(c"input"), &digits);
        input.byte_len -= 4;
        assert_eq!(run(&input, 1), PNN_ERROR_SIZE_MISMATCH, "{}", last_error());
        let mut input = digits_input(Some(c"input"), &digits);
        input.dtype = PnnDType::PNN_DTYPE_I32 as i32;
        assert_eq!(run(&input, 1), PNN_ERROR_WRONG_DTYPE, "{}", last_error());
        input.dtype = 42;
        assert_eq!(
            run(&input, 1),
            PNN_ERROR_INVALID_ARGUMENT,
            "{}",
            last_error()
        );
        let wrong_shape = [10i64, 1, 28, 27];
        let mut input = digits_input(Some(c"input"), &digits[..10 * 28 * 27]);
        input.shape = wrong_shape.as_ptr();
        assert_eq!(run(&input, 1), PNN_ERROR_WRONG_SHAPE, "{}", last_error());
        let negative = [-10i64, 1, 28, 28];
        input.shape = negative.as_ptr();
        assert_eq!(
            run(&input, 1),
            PNN_ERROR_INVALID_ARGUMENT,
            "{}",
            last_error()
        );
        let input = digits_input(Some(c"pixels"), &digits);
        assert_eq!(run(&input, 1), PNN_ERROR_UNKNOWN_NAME, "{}", last_error());
        let mut input = digits_input(None, &digits);
        input.index = 1;
        assert_eq!(run(&input, 1), PNN_ERROR_OUT_OF_RANGE, "{}", last_error());
        assert_eq!(run(&input, 0), PNN_ERROR_MISSING_INPUT, "{}", last_error());
        let two = [
            digits_input(None, &digits),
            digits_input(Some(c"input"), &digits),
        ];
        assert_eq!(
            pnn_session_run(session, two.as_ptr(), 2),
            PNN_ERROR_INVALID_ARGUMENT
        );

        // Misaligned input data is accepted (copied) and gives the same result.
        let good = run_digits(session, &digits_input(Some(c"input"), &digits));
        let mut shifted = vec![0u8; digits.len() * 4 + 1];
        for (chunk, v) in shifted[1..].chunks_exact_mut(4).zip(&digits) {
            chunk.copy_from_slice(&v.to_ne_bytes());
        }
        let mut input = digits_input(Some(c"input"), &digits);
        input.data = shifted[1..].as_ptr().cast::<c_void>();
        assert_eq!(run_digits(session, &input), good);

        // Output access errors.
        assert_eq!(
            pnn_session_output(session, 1, &mut tensor),
            PNN_ERROR_OUT_OF_RANGE
        );
        let status = pnn_session_output_by_name(session, c"probabilities".as_ptr(), &mut tensor);
        assert_eq!(status, PNN_ERROR_UNKNOWN_NAME);
        let mut small = [0f32; 99];
        let mut needed = 0;
        let status =
            pnn_session_copy_output(session, 0, 1, small.as_mut_ptr().cast(), 396, &mut needed);
        assert_eq!(status, PNN_ERROR_BUFFER_TOO_SMALL, "{}", last_error());
        assert_eq!(needed, 400);
        assert!(small.iter().all(|&v| v == 0.0), "nothing written");
        let mut big = [0f32; 100];
        let status =
            pnn_session_copy_output(session, 0, 7, big.as_mut_ptr().cast(), 400, ptr::null_mut());
        assert_eq!(status, PNN_ERROR_WRONG_DTYPE, "{}", last_error());
        let status = pnn_session_copy_output(
            session,
            0,
            -3,
            big.as_mut_ptr().cast(),
            400,
            ptr::null_mut(),
        );
        assert_eq!(status, PNN_ERROR_INVALID_ARGUMENT);
        let mut info = empty_info();
        assert_eq!(
            pnn_model_input_info(model, 1, &mut info),
            PNN_ERROR_OUT_OF_RANGE
        );
        let mut index = 0;
        assert_eq!(
            pnn_model_input_index(model, c"logits".as_ptr(), &mut index),
            PNN_ERROR_UNKNOWN_NAME
        );

        // A failed run leaves no outputs.
        assert_eq!(
            run(&digits_input(Some(c"x"), &digits), 1),
            PNN_ERROR_UNKNOWN_NAME
        );
        assert_eq!(
            pnn_session_output(session, 0, &mut tensor),
            PNN_ERROR_NO_RESULTS
        );
        pnn_session_destroy(session);
        pnn_model_destroy(model);
    }
}

#[test]
fn status_names_and_version() {
    for status in PnnStatus::ALL {
        // SAFETY: static NUL-terminated strings.
        let name = unsafe { CStr::from_ptr(pnn_status_name(status as i32)) };
        assert_eq!(name, status.name());
        assert_eq!(PnnStatus::from_code(status as i32), Some(status));
    }
    // SAFETY: as above.
    let unknown = unsafe { CStr::from_ptr(pnn_status_name(999)) };
    assert_eq!(unknown, c"PNN_UNKNOWN_STATUS");
    assert_eq!(PNN_ERROR_PANIC as i32, 15, "codes are stable");
    // SAFETY: static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(pnn_version()) };
    assert_eq!(version.to_str(), Ok(env!("CARGO_PKG_VERSION")));
    let options = pnn_session_options_default();
    assert_eq!(options.threads, 1);
}

/// Regression (fuzz target `ffi`, 2026-11-29): a run refused before it
/// reached the model (more inputs than the model has, NULL inputs) left the
/// previous run's outputs readable; every failed run must leave none.
#[test]
fn a_run_refused_for_its_arguments_leaves_no_outputs() {
    let bytes = common::seed_mlp_pnn();
    let model = load_buffer(&bytes);
    let session = new_session(model);
    let digits = common::digits();
    let input = digits_input(Some(c"input"), &digits);
    // SAFETY: throughout this test, live handles, valid or NULL pointers.
    unsafe {
        let mut tensor = empty_tensor();
        assert_eq!(pnn_session_run(session, &input, 1), PNN_OK);
        assert_eq!(pnn_session_output(session, 0, &mut tensor), PNN_OK);
        assert_eq!(
            pnn_session_run(session, &input, 2),
            PNN_ERROR_INVALID_ARGUMENT
        );
        assert_eq!(
            pnn_session_output(session, 0, &mut tensor),
            PNN_ERROR_NO_RESULTS
        );
        assert_eq!(pnn_session_run(session, &input, 1), PNN_OK);
        assert_eq!(
            pnn_session_run(session, std::ptr::null(), 1),
            PNN_ERROR_NULL_POINTER
        );
        assert_eq!(
            pnn_session_output(session, 0, &mut tensor),
            PNN_ERROR_NO_RESULTS
        );
        pnn_session_destroy(session);
        pnn_model_destroy(model);
    }
}
