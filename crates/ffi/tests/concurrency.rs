//! One `PnnModel` shared by eight threads, each with its own `PnnSession`,
//! through the C ABI: every run's logits are bit-identical to a
//! single-thread run (and that run matches onnxruntime).

// These tests play the C caller: one `unsafe` block per scenario, its SAFETY
// comment covering every C call in it (all pointers are live locals or NULL).
#![allow(clippy::multiple_unsafe_ops_per_block)]

mod common;

use pocketnn_ffi::*;
use std::ptr;

const THREADS: usize = 8;
const RUNS_PER_THREAD: usize = 100;

/// A model handle that may cross threads: the C API documents `PnnModel` as
/// immutable and shareable.
#[derive(Clone, Copy)]
struct SharedModel(*const PnnModel);
// SAFETY: the C API's contract: a model handle is read-only after loading
// and may be used from any number of threads at once.
unsafe impl Send for SharedModel {}
// SAFETY: as above.
unsafe impl Sync for SharedModel {}

/// Runs `digit` (one 28x28 image) `runs` times on a new session of `model`,
/// returning the logits of every run.
fn runs(model: SharedModel, digits: &[f32], digit: usize, runs: usize) -> Vec<Vec<f32>> {
    let image = &digits[digit * 784..(digit + 1) * 784];
    let shape = [1i64, 1, 28, 28];
    let mut session = ptr::null_mut();
    let options = PnnSessionOptions { threads: 1 };
    // SAFETY: throughout this function, live model, handles used by this thread only,
    // input pointers live for each call.
    unsafe {
        assert_eq!(
            pnn_session_create(model.0, &options, &mut session),
            PnnStatus::PNN_OK
        );
        let input = PnnInput {
            name: c"input".as_ptr(),
            index: 0,
            dtype: PnnDType::PNN_DTYPE_F32 as i32,
            shape: shape.as_ptr(),
            rank: 4,
            data: image.as_ptr().cast(),
            byte_len: 784 * 4,
        };
        let mut all = Vec::with_capacity(runs);
        for _ in 0..runs {
            assert_eq!(pnn_session_run(session, &input, 1), PnnStatus::PNN_OK);
            let mut logits = [0f32; 10];
            let status = pnn_session_copy_output(
                session,
                0,
                PnnDType::PNN_DTYPE_F32 as i32,
                logits.as_mut_ptr().cast(),
                40,
                ptr::null_mut(),
            );
            assert_eq!(status, PnnStatus::PNN_OK);
            all.push(logits.to_vec());
        }
        pnn_session_destroy(session);
        all
    }
}

#[test]
fn eight_threads_share_one_model_with_identical_results() {
    let bytes = common::seed_mlp_pnn();
    let digits = common::digits();
    let mut raw = ptr::null_mut();
    // SAFETY: live slice, writable out pointer.
    let status = unsafe { pnn_model_load_buffer(bytes.as_ptr().cast(), bytes.len(), &mut raw) };
    assert_eq!(status, PnnStatus::PNN_OK);
    let model = SharedModel(raw);

    // Single-thread reference, itself checked against onnxruntime.
    let single: Vec<Vec<f32>> = (0..10)
        .map(|d| runs(model, &digits, d, 1).remove(0))
        .collect();
    common::assert_matches_reference(&single.concat());

    let results: Vec<(usize, Vec<Vec<f32>>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let digits = &digits;
                scope.spawn(move || (t, runs(model, digits, t, RUNS_PER_THREAD)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread finished"))
            .collect()
    });
    for (digit, logits) in results {
        assert_eq!(logits.len(), RUNS_PER_THREAD);
        for (run, got) in logits.iter().enumerate() {
            let same_bits = got
                .iter()
                .zip(&single[digit])
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(
                same_bits,
                "thread {digit} run {run}: {got:?} != {:?}",
                single[digit]
            );
        }
    }
    // SAFETY: every session is gone; the handle is not used again.
    unsafe { pnn_model_destroy(raw) };
}
