//! The C API's handle code on a tiny model built in memory — no file
//! system, no mmap, one thread — so that it also runs under Miri
//! (`scripts/miri.sh ffi`): loading from a (misaligned) buffer, describing
//! inputs and outputs, sessions created, run and destroyed (the model handle
//! before its session), outputs read in place and copied, NULL pointers and
//! the last-error strings. Values are checked against sums computed here.

// These tests play the C caller: one `unsafe` block per scenario, its SAFETY
// comment covering every C call in it (all pointers are live locals or NULL).
#![allow(clippy::multiple_unsafe_ops_per_block)]

use pocketnn::format::{DType, Dim, GraphDef, Metadata, NodeDef, OpCode, PnnWriter, ValueDef};
use pocketnn_ffi::*;
use std::ffi::{CStr, c_void};
use std::mem::MaybeUninit;
use std::ptr;

use PnnStatus::*;

/// `y = a + b` with `a: f32 [N, 3]`, `b: f32 [1, 3]` (broadcast).
fn add_model() -> Vec<u8> {
    let value = |name: &str, shape: Option<Vec<Dim>>| ValueDef {
        name: name.into(),
        dtype: DType::F32,
        shape,
        constant: None,
    };
    let mut graph = GraphDef::default();
    graph.values.push(value(
        "a",
        Some(vec![Dim::Symbolic("N".into()), Dim::Fixed(3)]),
    ));
    graph
        .values
        .push(value("b", Some(vec![Dim::Fixed(1), Dim::Fixed(3)])));
    graph.values.push(value("y", None));
    graph.inputs = vec![0, 1];
    let mut body = pocketnn::format::Body::default();
    body.nodes.push(NodeDef {
        name: "add".into(),
        op: OpCode::Add,
        inputs: vec![Some(0), Some(1)],
        outputs: vec![2],
        attributes: vec![],
    });
    body.outputs = vec![2];
    graph.bodies = vec![body];
    PnnWriter::new(Metadata::default(), graph)
        .to_bytes()
        .expect("a valid model")
}

fn last_error() -> String {
    // SAFETY: a NUL-terminated thread-local string.
    unsafe { CStr::from_ptr(pnn_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// Loads `bytes` from a copy that starts one byte past an aligned address.
fn load_misaligned(bytes: &[u8]) -> *mut PnnModel {
    let mut held = vec![0u8; bytes.len() + 1];
    held[1..].copy_from_slice(bytes);
    let mut model = ptr::null_mut();
    // SAFETY: `bytes.len()` readable bytes, writable out pointer.
    let status =
        unsafe { pnn_model_load_buffer(held[1..].as_ptr().cast(), bytes.len(), &mut model) };
    assert_eq!(status, PNN_OK, "{}", last_error());
    drop(held); // the model keeps its own copy
    model
}

fn input(name: Option<&CStr>, index: usize, shape: &[i64], data: &[f32]) -> PnnInput {
    PnnInput {
        name: name.map_or(ptr::null(), CStr::as_ptr),
        index,
        dtype: PnnDType::PNN_DTYPE_F32 as i32,
        shape: shape.as_ptr(),
        rank: shape.len(),
        data: data.as_ptr().cast(),
        byte_len: size_of_val(data),
    }
}

#[test]
fn a_buffer_model_describes_runs_and_outlives_its_handle() {
    let model = load_misaligned(&add_model());
    let (mut inputs, mut outputs, mut mapped) = (0usize, 0usize, true);
    let mut info = MaybeUninit::<PnnTensorInfo>::uninit();
    let mut index = usize::MAX;
    // SAFETY: a live model and writable locals.
    unsafe {
        assert_eq!(pnn_model_input_count(model, &mut inputs), PNN_OK);
        assert_eq!(pnn_model_output_count(model, &mut outputs), PNN_OK);
        assert_eq!(pnn_model_is_memory_mapped(model, &mut mapped), PNN_OK);
        assert_eq!((inputs, outputs, mapped), (2, 1, false));
        assert_eq!(pnn_model_input_info(model, 0, info.as_mut_ptr()), PNN_OK);
        let a = info.assume_init();
        assert_eq!(CStr::from_ptr(a.name), c"a");
        assert_eq!(a.dtype, PnnDType::PNN_DTYPE_F32);
        assert_eq!(std::slice::from_raw_parts(a.shape, 2), [-1, 3]);
        assert_eq!(pnn_model_output_info(model, 0, info.as_mut_ptr()), PNN_OK);
        let y = info.assume_init();
        assert_eq!(CStr::from_ptr(y.name), c"y");
        assert_eq!((y.rank, y.shape), (-1, ptr::null()));
        assert_eq!(
            pnn_model_input_info(model, 2, info.as_mut_ptr()),
            PNN_ERROR_OUT_OF_RANGE
        );
        assert_eq!(
            pnn_model_input_index(model, c"b".as_ptr(), &mut index),
            PNN_OK
        );
        assert_eq!(index, 1);
        assert_eq!(
            pnn_model_output_index(model, c"y".as_ptr(), &mut index),
            PNN_OK
        );
        assert_eq!(index, 0);
        assert_eq!(
            pnn_model_input_index(model, c"y".as_ptr(), &mut index),
            PNN_ERROR_UNKNOWN_NAME
        );
        assert!(last_error().contains('y'), "{}", last_error());
    }

    let options = PnnSessionOptions { threads: 1 };
    let mut session = ptr::null_mut();
    // SAFETY: a live model, readable options, writable out pointer.
    let status = unsafe { pnn_session_create(model, &options, &mut session) };
    assert_eq!(status, PNN_OK);
    // A session keeps its model alive: destroy the handle first.
    // SAFETY: a live handle, not used again.
    unsafe { pnn_model_destroy(model) };

    let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    let b = [10.0f32, 20.0, 30.0];
    let inputs = [
        input(None, 1, &[1, 3], &b),
        input(Some(c"a"), 7, &[2, 3], &a),
    ];
    let expected = [11.0f32, 22.0, 33.0, 14.0, 25.0, 36.0];
    let mut tensor = MaybeUninit::<PnnTensor>::uninit();
    let mut copy = [0f32; 6];
    let mut len = 0usize;
    // SAFETY: a live session; inputs and buffers are live locals.
    unsafe {
        assert_eq!(
            pnn_session_output(session, 0, tensor.as_mut_ptr()),
            PNN_ERROR_NO_RESULTS
        );
        assert_eq!(
            pnn_session_run(session, inputs.as_ptr(), 2),
            PNN_OK,
            "{}",
            last_error()
        );
        assert_eq!(
            pnn_session_output_by_name(session, c"y".as_ptr(), tensor.as_mut_ptr()),
            PNN_OK
        );
        let y = tensor.assume_init();
        assert_eq!(CStr::from_ptr(y.name), c"y");
        assert_eq!(std::slice::from_raw_parts(y.shape, y.rank), [2, 3]);
        assert_eq!(y.byte_len, 24);
        assert_eq!(
            std::slice::from_raw_parts(y.data.cast::<f32>(), 6),
            expected
        );

        // Copies: size query, too small, wrong dtype, exact.
        assert_eq!(
            pnn_session_copy_output(session, 0, 1, ptr::null_mut(), 0, &mut len),
            PNN_ERROR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, 24);
        let dst: *mut c_void = copy.as_mut_ptr().cast();
        assert_eq!(
            pnn_session_copy_output(session, 0, 1, dst, 23, ptr::null_mut()),
            PNN_ERROR_BUFFER_TOO_SMALL
        );
        assert_eq!(copy, [0.0; 6], "nothing written on failure");
        assert_eq!(
            pnn_session_copy_output(session, 0, 7, dst, 24, &mut len),
            PNN_ERROR_WRONG_DTYPE
        );
        assert_eq!(
            pnn_session_copy_output(session, 1, 1, dst, 24, &mut len),
            PNN_ERROR_OUT_OF_RANGE
        );
        assert_eq!(
            pnn_session_copy_output(session, 0, 1, dst, 24, &mut len),
            PNN_OK
        );
        assert_eq!(copy, expected);

        // A failed run (a missing input) leaves no outputs.
        assert_eq!(
            pnn_session_run(session, inputs.as_ptr(), 1),
            PNN_ERROR_MISSING_INPUT
        );
        assert!(last_error().contains('a'), "{}", last_error());
        assert_eq!(
            pnn_session_output(session, 0, tensor.as_mut_ptr()),
            PNN_ERROR_NO_RESULTS
        );
        // And a later run works again, with another batch size.
        let one = [input(Some(c"a"), 0, &[1, 3], &a[..3]), inputs[0]];
        assert_eq!(pnn_session_run(session, one.as_ptr(), 2), PNN_OK);
        assert_eq!(pnn_session_output(session, 0, tensor.as_mut_ptr()), PNN_OK);
        let y = tensor.assume_init();
        assert_eq!(
            std::slice::from_raw_parts(y.data.cast::<f32>(), 3),
            &expected[..3]
        );
        pnn_session_destroy(session);
    }
}

#[test]
fn bad_inputs_are_typed_errors_with_messages() {
    let model = load_misaligned(&add_model());
    let mut session = ptr::null_mut();
    // SAFETY: a live model; NULL options mean defaults.
    let status = unsafe { pnn_session_create(model, ptr::null(), &mut session) };
    assert_eq!(status, PNN_OK);
    let a = [0f32; 6];
    let b = [0f32; 3];
    let good_b = input(Some(c"b"), 0, &[1, 3], &b);
    let deep = [1i64; 65];
    let cases: Vec<(PnnInput, PnnStatus)> = vec![
        (
            input(Some(c"a"), 0, &[2, 3], &a[..5]),
            PNN_ERROR_SIZE_MISMATCH,
        ),
        (input(Some(c"a"), 0, &[3, 2], &a), PNN_ERROR_WRONG_SHAPE),
        (
            input(Some(c"a"), 0, &[-2, 3], &a),
            PNN_ERROR_INVALID_ARGUMENT,
        ),
        (input(Some(c"zz"), 0, &[2, 3], &a), PNN_ERROR_UNKNOWN_NAME),
        (input(None, 9, &[2, 3], &a), PNN_ERROR_OUT_OF_RANGE),
        (
            input(Some(c"b"), 0, &[1, 3], &b),
            PNN_ERROR_INVALID_ARGUMENT,
        ),
        (
            PnnInput {
                dtype: 7,
                ..input(Some(c"a"), 0, &[2, 3], &a)
            },
            PNN_ERROR_SIZE_MISMATCH,
        ),
        (
            PnnInput {
                dtype: 4242,
                ..input(Some(c"a"), 0, &[2, 3], &a)
            },
            PNN_ERROR_INVALID_ARGUMENT,
        ),
        (
            PnnInput {
                shape: deep.as_ptr(),
                rank: deep.len(),
                ..input(Some(c"a"), 0, &[], &a[..1])
            },
            PNN_ERROR_INVALID_ARGUMENT,
        ),
    ];
    for (i, (bad, want)) in cases.into_iter().enumerate() {
        let pair = [bad, good_b];
        // SAFETY: a live session; the inputs' pointers are live locals.
        let status = unsafe { pnn_session_run(session, pair.as_ptr(), 2) };
        assert_eq!(status, want, "case {i}: {}", last_error());
        assert!(!last_error().is_empty(), "case {i} has a message");
    }
    // Non-UTF-8 name.
    let name = [0xffu8, 0xfe, 0];
    let pair = [
        PnnInput {
            name: name.as_ptr().cast(),
            ..input(None, 0, &[2, 3], &a)
        },
        good_b,
    ];
    // SAFETY: as above; the name is NUL-terminated.
    let status = unsafe { pnn_session_run(session, pair.as_ptr(), 2) };
    assert_eq!(status, PNN_ERROR_INVALID_ARGUMENT, "{}", last_error());
    // SAFETY: live handles, not used again.
    unsafe {
        pnn_session_destroy(session);
        pnn_model_destroy(model);
    }
}

#[test]
fn null_pointers_and_bad_bytes_are_errors_that_name_the_argument() {
    let bytes = add_model();
    let model = load_misaligned(&bytes);
    let mut out_model = ptr::null_mut();
    let mut out_session = ptr::null_mut();
    let mut count = 0usize;
    let mut info = MaybeUninit::<PnnTensorInfo>::uninit();
    let mut tensor = MaybeUninit::<PnnTensor>::uninit();
    let null_model: *const PnnModel = ptr::null();
    let null_session: *mut PnnSession = ptr::null_mut();
    let expect = |status: PnnStatus, argument: &str| {
        assert_eq!(status, PNN_ERROR_NULL_POINTER, "{argument}");
        assert!(
            last_error().contains(argument),
            "{argument}: {}",
            last_error()
        );
    };
    // SAFETY: every pointer is NULL or a live local/handle.
    unsafe {
        expect(
            pnn_model_load_buffer(ptr::null(), 4, &mut out_model),
            "data",
        );
        expect(
            pnn_model_load_buffer(bytes.as_ptr().cast(), bytes.len(), ptr::null_mut()),
            "out_model",
        );
        expect(pnn_model_input_count(null_model, &mut count), "model");
        expect(pnn_model_output_count(model, ptr::null_mut()), "out_count");
        expect(pnn_model_input_info(model, 0, ptr::null_mut()), "out_info");
        expect(
            pnn_model_output_info(null_model, 0, info.as_mut_ptr()),
            "model",
        );
        expect(
            pnn_model_input_index(model, ptr::null(), &mut count),
            "name",
        );
        expect(
            pnn_session_create(null_model, ptr::null(), &mut out_session),
            "model",
        );
        expect(
            pnn_session_create(model, ptr::null(), ptr::null_mut()),
            "out_session",
        );
        expect(pnn_session_run(null_session, ptr::null(), 0), "session");
        expect(
            pnn_session_output(null_session, 0, tensor.as_mut_ptr()),
            "session",
        );
        expect(
            pnn_session_copy_output(null_session, 0, 1, ptr::null_mut(), 0, &mut count),
            "session",
        );
        assert!(out_model.is_null() && out_session.is_null());

        // NULL data is an error even with length 0.
        expect(
            pnn_model_load_buffer(ptr::null(), 0, &mut out_model),
            "data",
        );
        // Bad bytes: empty, truncated, one flipped byte.
        assert_eq!(
            pnn_model_load_buffer(bytes.as_ptr().cast(), 0, &mut out_model),
            PNN_ERROR_INVALID_MODEL
        );
        assert_eq!(
            pnn_model_load_buffer(bytes.as_ptr().cast(), bytes.len() / 2, &mut out_model),
            PNN_ERROR_INVALID_MODEL
        );
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 0x40;
        assert_eq!(
            pnn_model_load_buffer(flipped.as_ptr().cast(), flipped.len(), &mut out_model),
            PNN_ERROR_INVALID_MODEL
        );
        assert!(out_model.is_null());
        assert!(!last_error().is_empty());

        // Destroy accepts NULL.
        pnn_model_destroy(ptr::null_mut());
        pnn_session_destroy(ptr::null_mut());
        pnn_model_destroy(model);

        // Status names.
        assert_eq!(CStr::from_ptr(pnn_status_name(0)), c"PNN_OK");
        assert_eq!(CStr::from_ptr(pnn_status_name(15)), c"PNN_ERROR_PANIC");
        assert_eq!(CStr::from_ptr(pnn_status_name(-3)), c"PNN_UNKNOWN_STATUS");
        assert!(!CStr::from_ptr(pnn_version()).is_empty());
    }
}
