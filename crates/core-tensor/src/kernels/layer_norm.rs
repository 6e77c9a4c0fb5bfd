//! f32 layer normalisation over contiguous rows: kernel
//! `f32-layernorm-<isa>`.
//!
//! Per row of `n` values: the mean in f64 lanes; the variance as the sum of
//! `(x - m)²` about the f32 mean `m`, each difference and square split
//! exactly into f32 pairs (`two_sum`, `two_product`) and summed in f64
//! lanes, then corrected for `m` differing from the f64 mean — as accurate
//! as a two-pass f64 computation without f64 vector arithmetic. Rows whose
//! squares overflow f32 (differences above ~1.8e19) are redone in scalar
//! f64. Then `y = (x - m) · inv_std · scale + bias`, each operation rounded
//! separately (no FMA), as the scalar definition writes it.
//!
//! ```
//! use pocketnn_tensor::Isa;
//! use pocketnn_tensor::kernels::layer_norm::{LayerNorm, RowStatistics, layer_norm_rows_f32};
//!
//! let x = [1.0f32, 3.0];
//! let mut y = [0.0f32; 2];
//! let norm = LayerNorm { row_len: 2, scale: None, bias: None, epsilon: 0.0 };
//! layer_norm_rows_f32(Isa::best(), &norm, &x, &mut y, RowStatistics::default())?;
//! assert_eq!(y, [-1.0, 1.0]);
//! # Ok::<(), pocketnn_tensor::TensorError>(())
//! ```

use crate::error::TensorError;
use crate::isa::Isa;
use crate::kernels::simd::{
    Simd, SimdKernel, load_partial, run_on, store_partial, two_product, two_sum,
};

#[cfg(test)]
mod tests;

/// The parameters of one layer normalisation.
#[derive(Clone, Copy, Debug)]
pub struct LayerNorm<'a> {
    /// Values per row (the product of the normalised axes).
    pub row_len: usize,
    /// One factor per row position (`row_len` values), or none (1).
    pub scale: Option<&'a [f32]>,
    /// One offset per row position (`row_len` values), or none (0).
    pub bias: Option<&'a [f32]>,
    /// Added to the variance before the square root.
    pub epsilon: f32,
}

/// Where to store each row's mean and `1 / sqrt(variance + epsilon)` (one
/// value per row each), if wanted.
#[derive(Debug, Default)]
pub struct RowStatistics<'a> {
    /// Row means.
    pub mean: Option<&'a mut [f32]>,
    /// Row inverse standard deviations.
    pub inv_std: Option<&'a mut [f32]>,
}

/// Normalises each row of `norm.row_len` values of `input` into `output`
/// with the kernel of tier `isa`.
///
/// Fails when the lengths do not match (`input`, `output`; `scale` and
/// `bias` of `row_len`; statistics of one value per row), `row_len` does
/// not divide the input, or this CPU lacks the tier.
pub fn layer_norm_rows_f32(
    isa: Isa,
    norm: &LayerNorm<'_>,
    input: &[f32],
    output: &mut [f32],
    statistics: RowStatistics<'_>,
) -> Result<(), TensorError> {
    let mismatch = |expected: usize, actual: usize| TensorError::LengthMismatch {
        expected: expected.saturating_mul(4),
        actual: actual.saturating_mul(4),
    };
    if input.len() != output.len() {
        return Err(mismatch(input.len(), output.len()));
    }
    if input.is_empty() {
        return Ok(());
    }
    let row_len = norm.row_len;
    if row_len == 0 || !input.len().is_multiple_of(row_len) {
        return Err(TensorError::InvalidKernelArguments {
            kernel: "f32-layernorm",
            reason: "the row length does not divide the input",
        });
    }
    let rows = input.len() / row_len;
    for param in [norm.scale, norm.bias].into_iter().flatten() {
        if param.len() != row_len {
            return Err(mismatch(row_len, param.len()));
        }
    }
    for stat in [&statistics.mean, &statistics.inv_std]
        .into_iter()
        .flatten()
    {
        if stat.len() != rows {
            return Err(mismatch(rows, stat.len()));
        }
    }
    run_on(
        isa,
        LayerNormKernel {
            norm,
            input,
            output,
            statistics,
        },
    )
}

/// The arguments of one call, validated.
struct LayerNormKernel<'a> {
    norm: &'a LayerNorm<'a>,
    input: &'a [f32],
    output: &'a mut [f32],
    statistics: RowStatistics<'a>,
}

impl SimdKernel for LayerNormKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let LayerNormKernel {
            norm,
            input,
            output,
            mut statistics,
        } = self;
        let row_len = norm.row_len;
        let rows = input
            .chunks_exact(row_len)
            .zip(output.chunks_exact_mut(row_len));
        for (r, (x, y)) in rows.enumerate() {
            let (mean, variance) = mean_and_variance(s, x);
            let inv_std = 1.0 / (variance + f64::from(norm.epsilon)).sqrt();
            let (mean, inv_std) = (mean as f32, inv_std as f32);
            if let Some(m) = statistics.mean.as_deref_mut() {
                m[r] = mean;
            }
            if let Some(i) = statistics.inv_std.as_deref_mut() {
                i[r] = inv_std;
            }
            normalize(s, x, y, mean, inv_std, norm.scale, norm.bias);
        }
    }
}

/// Mean and (population) variance of `x` (non-empty), in f64.
#[inline(always)]
fn mean_and_variance<S: Simd>(s: S, x: &[f32]) -> (f64, f64) {
    let lanes = S::LANES;
    let n = x.len() as f64;
    let body = x.len() - x.len() % lanes;
    let mut sum = s.wide_zero();
    for chunk in x[..body].chunks_exact(lanes) {
        sum = s.wide_add(sum, s.load(chunk));
    }
    if body < x.len() {
        sum = s.wide_add(sum, load_partial(s, &x[body..], 0.0));
    }
    let mean = s.wide_sum(sum) / n;
    let m32 = mean as f32;
    let m = s.splat(m32);
    // (x - m)² = dh² + 2·dh·dl + dl² with x - m = dh + dl exactly; dh² as an
    // exact pair, 2·dh·dl rounded (dl² is below f32 resolution of dh²).
    let mut acc = (s.wide_zero(), s.wide_zero());
    for chunk in x[..body].chunks_exact(lanes) {
        acc = add_square(s, acc, s.load(chunk), m);
    }
    if body < x.len() {
        // Unused lanes hold m: their difference is 0.
        acc = add_square(s, acc, load_partial(s, &x[body..], m32), m);
    }
    let (squares, errors) = acc;
    let about_m32 = (s.wide_sum(squares) + s.wide_sum(errors)) / n;
    if !about_m32.is_finite() && mean.is_finite() {
        // Squares overflowed f32: the row in scalar f64.
        let variance = x
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        return (mean, variance);
    }
    let shift = mean - f64::from(m32);
    let variance = about_m32 - shift * shift;
    // Clamp rounding below zero; keep NaN (`f64::max` would drop it).
    (mean, if variance < 0.0 { 0.0 } else { variance })
}

/// Adds `(v - m)²` to the (squares, their rounding errors) accumulators.
#[inline(always)]
fn add_square<S: Simd>(s: S, (squares, errors): (S::D, S::D), v: S::F, m: S::F) -> (S::D, S::D) {
    let (dh, dl) = two_sum(s, v, s.sub(s.splat(0.0), m));
    let (p, e) = two_product(s, dh, dh);
    let cross = s.mul(s.mul(s.splat(2.0), dh), dl);
    (s.wide_add(squares, p), s.wide_add(errors, s.add(e, cross)))
}

/// One vector of `(v - m) · inv [· scale] [+ bias]`.
#[inline(always)]
fn normalized<S: Simd>(
    s: S,
    v: S::F,
    m: S::F,
    inv: S::F,
    scale: Option<S::F>,
    bias: Option<S::F>,
) -> S::F {
    let mut t = s.mul(s.sub(v, m), inv);
    if let Some(scale) = scale {
        t = s.mul(t, scale);
    }
    if let Some(bias) = bias {
        t = s.add(t, bias);
    }
    t
}

/// `y = (x - mean) · inv_std · scale + bias`, operations rounded one by one.
// `if let` rather than `Option::map`: a closure may be compiled outside the
// tier's target-feature context.
#[allow(clippy::manual_map)]
#[inline(always)]
fn normalize<S: Simd>(
    s: S,
    x: &[f32],
    y: &mut [f32],
    mean: f32,
    inv_std: f32,
    scale: Option<&[f32]>,
    bias: Option<&[f32]>,
) {
    let lanes = S::LANES;
    let (m, inv) = (s.splat(mean), s.splat(inv_std));
    let body = x.len() - x.len() % lanes;
    for start in (0..body).step_by(lanes) {
        let sc = if let Some(p) = scale {
            Some(s.load(&p[start..]))
        } else {
            None
        };
        let b = if let Some(p) = bias {
            Some(s.load(&p[start..]))
        } else {
            None
        };
        s.store(
            &mut y[start..],
            normalized(s, s.load(&x[start..]), m, inv, sc, b),
        );
    }
    if body < x.len() {
        let sc = if let Some(p) = scale {
            Some(load_partial(s, &p[body..], 1.0))
        } else {
            None
        };
        let b = if let Some(p) = bias {
            Some(load_partial(s, &p[body..], 0.0))
        } else {
            None
        };
        let v = normalized(s, load_partial(s, &x[body..], 0.0), m, inv, sc, b);
        store_partial(s, &mut y[body..], v);
    }
}
