//! f32 softmax and log-softmax over contiguous rows (the last axis):
//! kernels `f32-softmax-<isa>` and `f32-logsoftmax-<isa>`.
//!
//! Per row: the maximum `m` (a vector `max` pass), then `e = exp(x - m)`
//! with the vector `exp` of [`crate::kernels::activation`] while the sum of
//! the `e` is accumulated in f64 lanes (so one dominant element keeps the
//! log of a sum close to 1 accurate), then `y = e · (1 / sum)` or
//! `y = (x - m) - ln(sum)`. `x - m` is rounded to f32 as in the scalar
//! definition. A row holding NaN, or `+inf`, or only `-inf`, becomes all
//! NaN (as `exp(x - m) / sum` does in IEEE arithmetic).
//!
//! ```
//! use pocketnn_tensor::Isa;
//! use pocketnn_tensor::kernels::softmax::softmax_rows_f32;
//!
//! let x = [1.0f32, 1.0, 1.0, 1.0, 0.0, 0.0];
//! let mut y = [0.0f32; 6];
//! softmax_rows_f32(Isa::best(), &x, &mut y, 2, false)?;
//! assert!((y[0] - 0.5).abs() < 1e-6 && (y[5] - 0.5).abs() < 1e-6);
//! # Ok::<(), pocketnn_tensor::TensorError>(())
//! ```

use crate::error::TensorError;
use crate::isa::Isa;
use crate::kernels::activation::math;
use crate::kernels::simd::{Simd, SimdKernel, load_partial, reduce_max, run_on, store_partial};

#[cfg(test)]
mod tests;

/// The kernel name on tier `isa`: `f32-softmax-avx2`, `f32-logsoftmax-neon`.
pub fn kernel_name(log: bool, isa: Isa) -> String {
    let stem = if log { "f32-logsoftmax" } else { "f32-softmax" };
    format!("{stem}-{isa}")
}

/// Softmax (or log-softmax when `log`) of each row of `row_len` values of
/// `input` into `output`, with the kernel of tier `isa`.
///
/// Fails when the lengths differ, `row_len` does not divide them (a
/// `row_len` of 0 is only valid for empty slices) or this CPU lacks the
/// tier.
pub fn softmax_rows_f32(
    isa: Isa,
    input: &[f32],
    output: &mut [f32],
    row_len: usize,
    log: bool,
) -> Result<(), TensorError> {
    if input.len() != output.len() {
        return Err(TensorError::LengthMismatch {
            expected: std::mem::size_of_val(input),
            actual: std::mem::size_of_val(output),
        });
    }
    if input.is_empty() {
        return Ok(());
    }
    if row_len == 0 || !input.len().is_multiple_of(row_len) {
        return Err(TensorError::InvalidKernelArguments {
            kernel: "f32-softmax",
            reason: "the row length does not divide the input",
        });
    }
    run_on(
        isa,
        SoftmaxKernel {
            input,
            output,
            row_len,
            log,
        },
    )
}

/// The arguments of one call, validated.
struct SoftmaxKernel<'a> {
    input: &'a [f32],
    output: &'a mut [f32],
    row_len: usize,
    log: bool,
}

impl SimdKernel for SoftmaxKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let rows = self.input.chunks_exact(self.row_len);
        for (x, y) in rows.zip(self.output.chunks_exact_mut(self.row_len)) {
            row::<S>(s, x, y, self.log);
        }
    }
}

/// The largest value of `x` (non-empty); NaN handling as `Simd::max`.
#[inline(always)]
fn row_max<S: Simd>(s: S, x: &[f32]) -> f32 {
    let lanes = S::LANES;
    let body = x.len() - x.len() % lanes;
    let mut acc = s.splat(f32::NEG_INFINITY);
    for chunk in x[..body].chunks_exact(lanes) {
        acc = s.max(acc, s.load(chunk));
    }
    if body < x.len() {
        acc = s.max(acc, load_partial(s, &x[body..], f32::NEG_INFINITY));
    }
    reduce_max(s, acc)
}

/// One row: `y = softmax(x)` or `log_softmax(x)`.
#[inline(always)]
fn row<S: Simd>(s: S, x: &[f32], y: &mut [f32], log: bool) {
    let lanes = S::LANES;
    let max = s.splat(row_max(s, x));
    let body = x.len() - x.len() % lanes;
    // exp(x - max) into y (x - max for log), summed in f64 lanes.
    let mut sum = s.wide_zero();
    for (chunk, out) in x[..body]
        .chunks_exact(lanes)
        .zip(y[..body].chunks_exact_mut(lanes))
    {
        let shifted = s.sub(s.load(chunk), max);
        let e = math::exp(s, shifted);
        sum = s.wide_add(sum, e);
        s.store(out, if log { shifted } else { e });
    }
    if body < x.len() {
        // Unused lanes hold -inf: exp gives 0 unless the row is all NaN
        // already (max not finite).
        let shifted = s.sub(load_partial(s, &x[body..], f32::NEG_INFINITY), max);
        let e = math::exp(s, shifted);
        sum = s.wide_add(sum, e);
        store_partial(s, &mut y[body..], if log { shifted } else { e });
    }
    let sum = s.wide_sum(sum);
    if log {
        let log_sum = s.splat(sum.ln() as f32);
        map_row(s, y, |v| s.sub(v, log_sum));
    } else {
        let inverse = s.splat((1.0 / sum) as f32);
        map_row(s, y, |v| s.mul(v, inverse));
    }
}

/// `y[i] = f(y[i])`.
#[inline(always)]
fn map_row<S: Simd>(s: S, y: &mut [f32], f: impl Fn(S::F) -> S::F) {
    crate::kernels::simd::map_in_place(s, y, 0.0, f);
}
