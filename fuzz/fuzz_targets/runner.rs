//! Loads model bytes with the runtime under tight limits and runs them on
//! small inputs made from the fuzzer's bytes. Every outcome is fine except
//! a panic, a sanitizer report, an abort or a hang.
#![allow(dead_code)]

use libfuzzer_sys::arbitrary::Unstructured;
use pocketnn::{DType, Dim, Limits, LoadOptions, Model, Session, SessionOptions, TensorView};

/// Limits small enough that a fuzz input cannot make a run take long or
/// use much memory, large enough for the seed models.
pub fn tight_limits() -> Limits {
    Limits {
        max_tensor_bytes: 4 << 20,
        max_activation_bytes: 32 << 20,
        max_dim: 1 << 20,
        max_symbolic_dim: 16,
        ..Limits::default()
    }
}

/// Inputs above this many elements are not fed (seed_mlp's input has 784).
/// It bounds the work per execution: an input is often a weight (an ONNX
/// node test feeds W as an input), and a ConvTranspose with X of 612 and
/// W of 102,930 elements took 38 s under ASan — bounded work, but a
/// timeout for the fuzzer.
const MAX_INPUT_ELEMENTS: usize = 1 << 14;

/// Loads `bytes` and, if that succeeds, runs the model twice (the second
/// run reuses the cached plan) on inputs chosen by `u`.
pub fn load_and_run(bytes: &[u8], u: &mut Unstructured<'_>) {
    let options = LoadOptions {
        verify_data_checksum: true,
        limits: tight_limits(),
    };
    let Ok(model) = Model::from_bytes_with(bytes, &options) else {
        return;
    };
    run_model(&model, u);
}

/// Runs `model` on inputs chosen by `u`, with one or two threads.
pub fn run_model(model: &Model, u: &mut Unstructured<'_>) {
    let threads = if u.ratio(1, 8).unwrap_or(false) { 2 } else { 1 };
    let Ok(mut session) = Session::new(model, SessionOptions::with_threads(threads)) else {
        return;
    };
    let symbol = u.int_in_range(0..=3).unwrap_or(1);
    let Some(inputs) = make_inputs(model, symbol, u) else {
        return;
    };
    let named: Vec<(&str, TensorView<'_>)> = inputs
        .iter()
        .map(|(name, t)| (name.as_str(), t.view()))
        .collect();
    for _ in 0..2 {
        if let Ok(outputs) = session.run_views(&named) {
            for (_, view) in outputs.iter() {
                // read every output byte (ASan checks the views)
                std::hint::black_box(view.bytes().iter().fold(0u8, |a, b| a ^ b));
            }
        }
    }
}

/// One tensor per declared input: fixed dims as declared, symbolic ones
/// `symbol` (or a few other small sizes), undeclared shapes small; the data
/// from `u`, zero when it runs out. `None` when an input would be too big.
fn make_inputs(
    model: &Model,
    symbol: usize,
    u: &mut Unstructured<'_>,
) -> Option<Vec<(String, pocketnn::Tensor)>> {
    let mut inputs = Vec::new();
    for info in model.inputs() {
        let shape: Vec<usize> = match &info.shape {
            Some(dims) => dims
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => usize::try_from(*n).unwrap_or(usize::MAX),
                    Dim::Symbolic(_) => symbol,
                })
                .collect(),
            None => {
                let rank = u.int_in_range(0..=3).unwrap_or(1);
                (0..rank)
                    .map(|_| u.int_in_range(0..=4).unwrap_or(1))
                    .collect()
            }
        };
        let elements = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .filter(|&n| n <= MAX_INPUT_ELEMENTS)?;
        let mut bytes = vec![0u8; elements * info.dtype.size()];
        fill(&mut bytes, info.dtype, u);
        let tensor = pocketnn::Tensor::from_bytes(info.dtype, &shape, &bytes).ok()?;
        inputs.push((info.name.clone(), tensor));
    }
    Some(inputs)
}

/// Mostly a small integer, sometimes a huge one.
fn index_like(u: &mut Unstructured<'_>) -> i64 {
    const HUGE: &[i64] = &[1 << 20, 1 << 31, 1 << 40, i64::MAX, i64::MIN, -(1 << 31)];
    if u.ratio(1, 16).unwrap_or(false) {
        u.choose(HUGE).copied().unwrap_or(0)
    } else {
        i64::from(u.int_in_range(-4i8..=8).unwrap_or(1))
    }
}

/// Input values: the fuzzer's bytes, but small integers for integer
/// tensors (they are often indices or shapes) and 0/1 for bools.
fn fill(bytes: &mut [u8], dtype: DType, u: &mut Unstructured<'_>) {
    let size = dtype.size();
    for chunk in bytes.chunks_exact_mut(size) {
        if u.is_empty() {
            return;
        }
        match dtype {
            DType::I64 => chunk.copy_from_slice(&index_like(u).to_le_bytes()),
            DType::I32 => chunk.copy_from_slice(&(index_like(u) as i32).to_le_bytes()),
            DType::Bool => chunk[0] = u.int_in_range(0..=1).unwrap_or(0),
            _ => {
                for b in chunk {
                    *b = u.arbitrary().unwrap_or(0);
                }
            }
        }
    }
}
