//! What the int8 GEMM does with each exact i32 sum: requantize it to u8 in
//! fixed point, or dequantize it to f32.

use crate::error::TensorError;
use crate::isa::Isa;
use crate::kernels::simd::{Simd, SimdKernel, run_on};

/// A positive real multiplier in fixed point: `mantissa · 2^-shift`, with
/// the mantissa a Q31 value in `[2^30, 2^31)`. Applying it rounds to the
/// nearest integer, halves to even (as ONNX `QuantizeLinear` and
/// onnxruntime do), with one 64-bit product, a shift and no branch — no
/// floating point at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantMultiplier {
    /// In `[2^30, 2^31)` (0 for a multiplier that rounds everything to 0):
    /// an i32, so that products with an i32 sum are 32 × 32 → 64-bit
    /// multiplies, which every SIMD tier has.
    mantissa: i32,
    shift: u32,
}

impl QuantMultiplier {
    /// The fixed-point form of `real`, which must be finite, positive and
    /// below `2^30`. Multipliers below `2^-32` round every i32 to zero.
    pub fn new(real: f64) -> Result<Self, TensorError> {
        if !(real.is_finite() && real > 0.0 && real < (1u64 << 30) as f64) {
            return Err(TensorError::InvalidQuantization {
                reason: format!("multiplier {real} is not in (0, 2^30)"),
            });
        }
        // real = fraction · 2^exponent with fraction in [0.5, 1).
        let mut exponent = real.log2().floor() as i32 + 1;
        let mut fraction = real * 2f64.powi(-exponent);
        while fraction >= 1.0 {
            fraction /= 2.0;
            exponent += 1;
        }
        while fraction < 0.5 {
            fraction *= 2.0;
            exponent -= 1;
        }
        let mut mantissa = (fraction * (1u64 << 31) as f64).round() as i64;
        if mantissa == 1 << 31 {
            mantissa = 1 << 30;
            exponent += 1;
        }
        // fraction < 1, so mantissa < 2^31 now.
        let mantissa = mantissa as i32;
        let shift = 31 - exponent;
        if shift > 62 {
            return Ok(QuantMultiplier {
                mantissa: 0,
                shift: 1,
            });
        }
        // exponent <= 30 (real < 2^30), so shift >= 1.
        Ok(QuantMultiplier {
            mantissa,
            shift: shift as u32,
        })
    }

    /// `round(x · multiplier)`, halves to even, saturated to i32.
    #[inline]
    pub fn apply(self, x: i32) -> i32 {
        let product = i64::from(x) * i64::from(self.mantissa);
        let floor = product >> self.shift;
        let remainder = product - (floor << self.shift);
        let half = 1i64 << (self.shift - 1);
        let round_up = (remainder > half) | ((remainder == half) & (floor & 1 == 1));
        let rounded = floor + i64::from(round_up);
        rounded.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
    }

    /// `2^(shift - 1) - 1`: added with the parity bit, it rounds a product
    /// shifted right by `shift` to nearest, halves to even.
    #[inline(always)]
    fn rounding(self) -> i64 {
        (1i64 << (self.shift - 1)) - 1
    }
}

/// Picks entry `i` of a list that holds either one value for all or one per
/// index.
#[inline]
fn per<T: Copy>(values: &[T], i: usize) -> T {
    if values.len() == 1 {
        values[0]
    } else {
        values[i]
    }
}

/// Checks that `values` holds one entry, or one per `count`.
fn check_len<T>(values: &[T], count: usize, what: &str) -> Result<(), TensorError> {
    if values.len() == 1 || values.len() == count {
        Ok(())
    } else {
        Err(TensorError::InvalidQuantization {
            reason: format!("{} {what} for {count} columns or rows", values.len()),
        })
    }
}

/// u8 output: `clamp(out_zero + round((acc + bias[j]) · multiplier[j]), min, max)`
/// for column `j`. A clamp range narrower than `0..=255` fuses ReLU or ReLU6.
#[derive(Clone, Debug, PartialEq)]
pub struct Requantize {
    multipliers: Vec<QuantMultiplier>,
    /// The multipliers' mantissas, shifts and rounding terms
    /// (`2^(shift - 1) - 1`) as separate arrays, which the per-column loop
    /// loads as whole vectors.
    mantissas: Vec<i32>,
    shifts: Vec<i64>,
    roundings: Vec<i64>,
    bias: Vec<i32>,
    out_zero: u8,
    min: u8,
    max: u8,
}

impl Requantize {
    /// Requantization with one multiplier (per tensor) or one per column,
    /// an optional i32 bias per column (empty for none), the output zero
    /// point and the clamp range.
    pub fn new(
        multipliers: Vec<QuantMultiplier>,
        bias: Vec<i32>,
        out_zero: u8,
        (min, max): (u8, u8),
    ) -> Result<Self, TensorError> {
        if multipliers.is_empty() || min > max {
            return Err(TensorError::InvalidQuantization {
                reason: format!(
                    "{} multipliers, clamp range {min}..={max}",
                    multipliers.len()
                ),
            });
        }
        Ok(Requantize {
            mantissas: multipliers.iter().map(|m| m.mantissa).collect(),
            shifts: multipliers.iter().map(|m| i64::from(m.shift)).collect(),
            roundings: multipliers.iter().map(|m| m.rounding()).collect(),
            multipliers,
            bias,
            out_zero,
            min,
            max,
        })
    }

    pub(crate) fn check(&self, n: usize) -> Result<(), TensorError> {
        check_len(&self.multipliers, n, "multipliers")?;
        if !self.bias.is_empty() && self.bias.len() != n {
            return Err(TensorError::InvalidQuantization {
                reason: format!("{} bias values for {n} columns", self.bias.len()),
            });
        }
        Ok(())
    }

    /// `out[c]` = the u8 value for sum `sums[c]` in column `col0 + c`.
    ///
    /// The same arithmetic as [`QuantMultiplier::apply`] and [`Self::apply`],
    /// rewritten without branches in 64-bit integers so the compiler
    /// vectorises it: `r = (p + half - 1 + bit_s(p)) >> s` rounds `p / 2^s`
    /// to nearest with halves to even, and clamping once to `min..=max`
    /// after adding the zero point gives what the saturating steps give.
    #[inline(always)]
    pub(crate) fn apply_row(&self, sums: &[i32], col0: usize, out: &mut [u8]) {
        let n = out.len().min(sums.len());
        let (min, max) = (i64::from(self.min), i64::from(self.max));
        let zero = i64::from(self.out_zero);
        let columns = col0..col0 + n;
        let bias = self.bias.get(columns.clone());
        match (self.multipliers.as_slice(), bias) {
            ([m], None) => {
                for (o, &acc) in out[..n].iter_mut().zip(sums) {
                    *o = requantize_one(i64::from(acc), *m, zero, (min, max));
                }
            }
            ([m], Some(bias)) => {
                for ((o, &acc), &b) in out[..n].iter_mut().zip(sums).zip(bias) {
                    let biased = (i64::from(acc) + i64::from(b)).clamp(I32_MIN, I32_MAX);
                    *o = requantize_one(biased, *m, zero, (min, max));
                }
            }
            (_, bias) => {
                let (Some(mantissas), Some(shifts), Some(roundings)) = (
                    self.mantissas.get(columns.clone()),
                    self.shifts.get(columns.clone()),
                    self.roundings.get(columns),
                ) else {
                    // Not reached: `check` ran. Keep the slow path correct.
                    for (c, (o, &acc)) in out.iter_mut().zip(sums).enumerate() {
                        *o = self.apply(acc, col0 + c);
                    }
                    return;
                };
                let multipliers = mantissas.iter().zip(shifts).zip(roundings);
                match bias {
                    None => {
                        for ((o, &acc), ((&m, &s), &r)) in
                            out[..n].iter_mut().zip(sums).zip(multipliers)
                        {
                            *o = requantize_parts(i64::from(acc), (m, s, r), zero, (min, max));
                        }
                    }
                    Some(bias) => {
                        let terms = sums.iter().zip(bias).zip(multipliers);
                        for (o, ((&acc, &b), ((&m, &s), &r))) in out[..n].iter_mut().zip(terms) {
                            let biased = (i64::from(acc) + i64::from(b)).clamp(I32_MIN, I32_MAX);
                            *o = requantize_parts(biased, (m, s, r), zero, (min, max));
                        }
                    }
                }
            }
        }
    }

    /// [`Self::apply_row`] compiled for tier `isa`, whose wider registers
    /// (and, on AVX-512, 64-bit multiplies) vectorise the fixed-point
    /// steps; the baseline build when the tier is not available.
    pub(crate) fn apply_row_on(&self, isa: Isa, sums: &[i32], col0: usize, out: &mut [u8]) {
        if !isa.is_available() {
            // Not reached from the GEMM (it checked its kernel's tier).
            return self.apply_row(sums, col0, out);
        }
        let run = RequantizeRow {
            requantize: self,
            sums,
            col0,
            out,
        };
        // Cannot fail: the tier is available.
        let _ = run_on(isa, run);
    }

    /// Column `j`'s i32 bias, 0 when there is none.
    pub(crate) fn bias_at(&self, j: usize) -> i64 {
        i64::from(self.bias.get(j).copied().unwrap_or(0))
    }

    /// [`Self::apply_row`] for sums that still need a per-column integer
    /// term: `offsets[c]` (the bias minus the GEMM's zero-point correction,
    /// exact in i64) replaces the bias. The same result as correcting the
    /// sums first and then [`Self::apply_row`], in one pass.
    #[inline(always)]
    pub(crate) fn apply_row_offsets(
        &self,
        sums: &[i32],
        col0: usize,
        offsets: &[i64],
        out: &mut [u8],
    ) {
        let n = out.len().min(sums.len()).min(offsets.len());
        let (min, max) = (i64::from(self.min), i64::from(self.max));
        let zero = i64::from(self.out_zero);
        let terms = sums[..n].iter().zip(&offsets[..n]);
        let columns = col0..col0 + n;
        match (
            self.multipliers.as_slice(),
            self.mantissas.get(columns.clone()),
            self.shifts.get(columns.clone()),
            self.roundings.get(columns),
        ) {
            ([m], ..) => {
                for (o, (&acc, &offset)) in out[..n].iter_mut().zip(terms) {
                    let biased = (i64::from(acc) + offset).clamp(I32_MIN, I32_MAX);
                    *o = requantize_one(biased, *m, zero, (min, max));
                }
            }
            (_, Some(mantissas), Some(shifts), Some(roundings)) => {
                let multipliers = mantissas.iter().zip(shifts).zip(roundings);
                for (o, ((&acc, &offset), ((&m, &s), &r))) in
                    out[..n].iter_mut().zip(terms.zip(multipliers))
                {
                    let biased = (i64::from(acc) + offset).clamp(I32_MIN, I32_MAX);
                    *o = requantize_parts(biased, (m, s, r), zero, (min, max));
                }
            }
            // Not reached: `check` ran. Keep the slow path correct.
            _ => {
                for (c, (o, (&acc, &offset))) in out[..n].iter_mut().zip(terms).enumerate() {
                    let j = col0 + c;
                    let corrected = i64::from(acc) + offset - self.bias_at(j);
                    let corrected = corrected.clamp(I32_MIN, I32_MAX) as i32;
                    *o = self.apply(corrected, j);
                }
            }
        }
    }

    /// [`Self::apply_row`] for every row of a tile, in one dispatch to
    /// tier `isa`: row `r` has `cols` sums at `sums[r · stride..]` and is
    /// written to `out[r · out_stride..]`.
    ///
    /// With `offsets` (one per column from `col0`), each sum is the raw
    /// product and `offsets[c]` replaces the bias: see
    /// [`Self::apply_row_offsets`].
    pub(crate) fn apply_tile_on(
        &self,
        isa: Isa,
        (sums, stride): (&[i32], usize),
        (col0, cols): (usize, usize),
        (out, out_stride): (&mut [u8], usize),
        offsets: Option<&[i64]>,
    ) {
        let run = RequantizeTile {
            requantize: self,
            sums,
            stride,
            col0,
            cols,
            out,
            out_stride,
            offsets,
        };
        if isa.is_available() {
            // Cannot fail: the tier is available.
            let _ = run_on(isa, run);
        } else {
            // Not reached from the GEMM (it checked its kernel's tier).
            run.run(crate::kernels::simd::scalar::Scalar);
        }
    }

    /// Column `j`'s multiplier, bias (0 when there is none), output zero
    /// point and clamp range.
    pub(crate) fn channel(&self, j: usize) -> (QuantMultiplier, i32, u8, (u8, u8)) {
        let bias = self.bias.get(j).copied().unwrap_or(0);
        let multiplier = per(&self.multipliers, j);
        (multiplier, bias, self.out_zero, (self.min, self.max))
    }

    /// The u8 value for sum `acc` in column `j` (the reference form).
    #[inline]
    pub(crate) fn apply(&self, acc: i32, j: usize) -> u8 {
        let biased = match self.bias.get(j) {
            Some(&b) => acc.saturating_add(b),
            None => acc,
        };
        let scaled = per(&self.multipliers, j).apply(biased);
        let shifted = scaled.saturating_add(i32::from(self.out_zero));
        shifted.clamp(i32::from(self.min), i32::from(self.max)) as u8
    }
}

/// [`Requantize::apply_row`] as a kernel of the SIMD dispatcher.
struct RequantizeRow<'a> {
    requantize: &'a Requantize,
    sums: &'a [i32],
    col0: usize,
    out: &'a mut [u8],
}

impl SimdKernel for RequantizeRow<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, _s: S) {
        self.requantize.apply_row(self.sums, self.col0, self.out);
    }
}

/// [`Requantize::apply_tile_on`] as a kernel of the SIMD dispatcher.
struct RequantizeTile<'a> {
    requantize: &'a Requantize,
    sums: &'a [i32],
    stride: usize,
    col0: usize,
    cols: usize,
    out: &'a mut [u8],
    out_stride: usize,
    /// Per column from `col0`: replaces the bias (see
    /// [`Requantize::apply_row_offsets`]).
    offsets: Option<&'a [i64]>,
}

impl SimdKernel for RequantizeTile<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, _s: S) {
        let rows = self.sums.chunks(self.stride.max(1));
        for (r, sums) in rows.enumerate() {
            let Some(out) = self.out.get_mut(r * self.out_stride..) else {
                return;
            };
            let n = self.cols.min(sums.len()).min(out.len());
            match self.offsets {
                Some(offsets) => {
                    let n = n.min(offsets.len());
                    let (sums, out) = (&sums[..n], &mut out[..n]);
                    self.requantize
                        .apply_row_offsets(sums, self.col0, &offsets[..n], out);
                }
                None => self
                    .requantize
                    .apply_row(&sums[..n], self.col0, &mut out[..n]),
            }
        }
    }
}

const I32_MIN: i64 = i32::MIN as i64;
const I32_MAX: i64 = i32::MAX as i64;

/// `clamp(zero + round(x · m), min, max)` for `x` in i32 range: the
/// branch-free form of [`Requantize::apply`].
#[inline(always)]
pub(crate) fn requantize_one(x: i64, m: QuantMultiplier, zero: i64, range: (i64, i64)) -> u8 {
    let parts = (m.mantissa, i64::from(m.shift), m.rounding());
    requantize_parts(x, parts, zero, range)
}

/// [`requantize_one`] with the multiplier as `(mantissa, shift, rounding)`.
#[inline(always)]
fn requantize_parts(
    x: i64,
    (mantissa, shift, rounding): (i32, i64, i64),
    zero: i64,
    (min, max): (i64, i64),
) -> u8 {
    // x is in i32 range (callers clamp it): both factors are i32, so the
    // product is one 32 × 32 → 64-bit multiply; 1 <= shift <= 62.
    let product = i64::from(x as i32) * i64::from(mantissa);
    let rounded = (product + rounding + ((product >> shift) & 1)) >> shift;
    (rounded + zero).clamp(min, max) as u8
}

/// f32 output: `acc · a_scale[i] · b_scale[j] + bias[j]` for row `i`,
/// column `j` (per-row activation scales serve dynamic quantization).
#[derive(Clone, Debug, PartialEq)]
pub struct Dequantize {
    a_scales: Vec<f32>,
    b_scales: Vec<f32>,
    bias: Vec<f32>,
}

impl Dequantize {
    /// Dequantization with activation scales (one, or one per row), weight
    /// scales (one, or one per column) and an optional f32 bias per column.
    pub fn new(
        a_scales: Vec<f32>,
        b_scales: Vec<f32>,
        bias: Vec<f32>,
    ) -> Result<Self, TensorError> {
        let finite = |s: &f32| s.is_finite();
        if a_scales.is_empty()
            || b_scales.is_empty()
            || !a_scales.iter().all(finite)
            || !b_scales.iter().all(finite)
        {
            return Err(TensorError::InvalidQuantization {
                reason: "scales must be given and finite".into(),
            });
        }
        Ok(Dequantize {
            a_scales,
            b_scales,
            bias,
        })
    }

    pub(crate) fn check(&self, m: usize, n: usize) -> Result<(), TensorError> {
        check_len(&self.a_scales, m, "activation scales")?;
        check_len(&self.b_scales, n, "weight scales")?;
        if !self.bias.is_empty() && self.bias.len() != n {
            return Err(TensorError::InvalidQuantization {
                reason: format!("{} bias values for {n} columns", self.bias.len()),
            });
        }
        Ok(())
    }

    /// `out[c]` = the f32 value for sum `sums[c]` in row `i`, column
    /// `col0 + c`.
    /// The common case — one scale per column and a bias — as a straight
    /// loop the compiler vectorises; the same arithmetic as [`Self::apply`].
    pub(crate) fn apply_row(&self, sums: &[i32], i: usize, col0: usize, out: &mut [f32]) {
        let n = out.len().min(sums.len());
        let columns = col0..col0 + n;
        let a_scale = per(&self.a_scales, i);
        if let (true, Some(b_scales), Some(bias)) = (
            self.b_scales.len() > 1,
            self.b_scales.get(columns.clone()),
            self.bias.get(columns),
        ) {
            let terms = sums[..n].iter().zip(b_scales).zip(bias);
            for (o, ((&acc, &b_scale), &b)) in out[..n].iter_mut().zip(terms) {
                *o = acc as f32 * (a_scale * b_scale) + b;
            }
            return;
        }
        for (c, (o, &acc)) in out.iter_mut().zip(sums).enumerate() {
            *o = self.apply(acc, i, col0 + c);
        }
    }

    /// The f32 value for sum `acc` in row `i`, column `j`.
    #[inline]
    pub(crate) fn apply(&self, acc: i32, i: usize, j: usize) -> f32 {
        let scaled = acc as f32 * (per(&self.a_scales, i) * per(&self.b_scales, j));
        match self.bias.get(j) {
            Some(&b) => scaled + b,
            None => scaled,
        }
    }
}
