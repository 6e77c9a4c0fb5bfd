//! What the int8 GEMM does with each exact i32 sum: requantize it to u8 in
//! f32 arithmetic, or dequantize it to f32.

use crate::error::TensorError;
use crate::isa::Isa;
use crate::kernels::simd::{Simd, SimdKernel, run_on};

/// A positive real multiplier, the factor from an i32 sum to output units
/// (`x_scale · w_scale / y_scale`). The requantization ([`Requantize`])
/// uses it as an f32 ([`Self::scale`]), as onnxruntime and XNNPACK do: 16
/// lanes per AVX-512 vector and a handful of instructions per vector. It
/// also keeps an exact fixed-point form, `mantissa · 2^-shift` with a Q31
/// mantissa in `[2^30, 2^31)`, which [`Self::apply`] rounds with one 64-bit
/// product and no floating point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantMultiplier {
    /// In `[2^30, 2^31)` (0 for a multiplier that rounds everything to 0).
    mantissa: i32,
    shift: u32,
    /// The multiplier rounded to f32.
    scale: f32,
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
        let scale = real as f32;
        if shift > 62 {
            return Ok(QuantMultiplier {
                mantissa: 0,
                shift: 1,
                scale,
            });
        }
        // exponent <= 30 (real < 2^30), so shift >= 1.
        Ok(QuantMultiplier {
            mantissa,
            shift: shift as u32,
            scale,
        })
    }

    /// The multiplier as the f32 the requantization multiplies by.
    pub fn scale(self) -> f32 {
        self.scale
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

/// u8 output for column `j`:
///
/// ```text
/// b = acc + bias[j]                      (i32, saturating)
/// v = f32(b) · scale[j]                  (f32, rounded once each)
/// y = round(clamp(v, min - zero, max - zero)) + zero    (halves to even)
/// ```
///
/// with `scale[j]` the multiplier as f32 ([`QuantMultiplier::scale`]): the
/// form of onnxruntime's and XNNPACK's requantization, the same on every
/// tier bit for bit (no fused multiply-add). A clamp range narrower than
/// `0..=255` fuses ReLU or ReLU6.
#[derive(Clone, Debug, PartialEq)]
pub struct Requantize {
    multipliers: Vec<QuantMultiplier>,
    /// The multipliers' f32 scales, which the per-column loop loads as
    /// whole vectors.
    scales: Vec<f32>,
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
            scales: multipliers.iter().map(|m| m.scale).collect(),
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

    /// `out[c]` = the u8 value for sum `sums[c]` in column `col0 + c`:
    /// [`Self::apply`] as straight loops the compiler vectorises.
    #[inline(always)]
    pub(crate) fn apply_row(&self, sums: &[i32], col0: usize, out: &mut [u8]) {
        let n = out.len().min(sums.len());
        let (zero, range) = self.output_range();
        let columns = col0..col0 + n;
        let bias = self.bias.get(columns.clone());
        match (self.scales.as_slice(), bias) {
            ([scale], None) => {
                for (o, &acc) in out[..n].iter_mut().zip(sums) {
                    *o = requantize_scaled(acc, *scale, zero, range);
                }
            }
            ([scale], Some(bias)) => {
                for ((o, &acc), &b) in out[..n].iter_mut().zip(sums).zip(bias) {
                    *o = requantize_scaled(acc.saturating_add(b), *scale, zero, range);
                }
            }
            (scales, bias) => {
                let Some(scales) = scales.get(columns) else {
                    // Not reached: `check` ran. Keep the slow path correct.
                    for (c, (o, &acc)) in out.iter_mut().zip(sums).enumerate() {
                        *o = self.apply(acc, col0 + c);
                    }
                    return;
                };
                match bias {
                    None => {
                        for ((o, &acc), &scale) in out[..n].iter_mut().zip(sums).zip(scales) {
                            *o = requantize_scaled(acc, scale, zero, range);
                        }
                    }
                    Some(bias) => {
                        let terms = sums.iter().zip(bias).zip(scales);
                        for (o, ((&acc, &b), &scale)) in out[..n].iter_mut().zip(terms) {
                            *o = requantize_scaled(acc.saturating_add(b), scale, zero, range);
                        }
                    }
                }
            }
        }
    }

    /// The output zero point and the clamp range relative to it, as
    /// [`requantize_scaled`] takes them.
    #[inline(always)]
    fn output_range(&self) -> (i32, (f32, f32)) {
        let zero = i32::from(self.out_zero);
        let below = |limit: u8| (i32::from(limit) - zero) as f32;
        (zero, (below(self.min), below(self.max)))
    }

    /// [`Self::apply_row`] compiled for tier `isa`, whose wider registers
    /// vectorise it; the baseline build when the tier is not available.
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
        let biased =
            |acc: i32, offset: i64| (i64::from(acc) + offset).clamp(I32_MIN, I32_MAX) as i32;
        if self.apply_row_biased(sums, col0, offsets, out, biased) {
            return;
        }
        // Not reached: `check` ran. Keep the slow path correct.
        let terms = sums.iter().zip(offsets);
        for (c, (o, (&acc, &offset))) in out.iter_mut().zip(terms).enumerate() {
            let j = col0 + c;
            let corrected = i64::from(acc) + offset - self.bias_at(j);
            *o = self.apply(corrected.clamp(I32_MIN, I32_MAX) as i32, j);
        }
    }

    /// [`Self::apply_row_offsets`] with offsets that fit i32: the same
    /// results (a saturating i32 sum is the clamped i64 one), in i32 lanes.
    #[inline(always)]
    pub(crate) fn apply_row_narrow_offsets(
        &self,
        sums: &[i32],
        col0: usize,
        offsets: &[i32],
        out: &mut [u8],
    ) {
        if !self.apply_row_biased(sums, col0, offsets, out, i32::saturating_add) {
            // Not reached: `check` ran.
            let wide: Vec<i64> = offsets.iter().map(|&o| i64::from(o)).collect();
            self.apply_row_offsets(sums, col0, &wide, out);
        }
    }

    /// `out[c]` = the u8 value of `biased(sums[c], offsets[c])` in column
    /// `col0 + c`; false (nothing written) when the scales do not cover
    /// the columns.
    #[inline(always)]
    fn apply_row_biased<T: Copy>(
        &self,
        sums: &[i32],
        col0: usize,
        offsets: &[T],
        out: &mut [u8],
        biased: impl Fn(i32, T) -> i32,
    ) -> bool {
        let n = out.len().min(sums.len()).min(offsets.len());
        let (zero, range) = self.output_range();
        let terms = sums[..n].iter().zip(&offsets[..n]);
        match (self.scales.as_slice(), self.scales.get(col0..col0 + n)) {
            ([scale], _) => {
                for (o, (&acc, &offset)) in out[..n].iter_mut().zip(terms) {
                    *o = requantize_scaled(biased(acc, offset), *scale, zero, range);
                }
            }
            (_, Some(scales)) => {
                for (o, ((&acc, &offset), &scale)) in out[..n].iter_mut().zip(terms.zip(scales)) {
                    *o = requantize_scaled(biased(acc, offset), scale, zero, range);
                }
            }
            _ => return false,
        }
        true
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
        let (zero, range) = self.output_range();
        requantize_scaled(biased, per(&self.scales, j), zero, range)
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
        // Offsets that fit i32 (always, short of sums over ~65,000 terms)
        // go in i32 lanes: `saturating_add` then gives exactly what the
        // i64 sum and clamp give, at twice the vector width.
        let mut narrow = [0i32; NARROW_COLUMNS];
        let narrow = match self.offsets {
            Some(offsets) if offsets.len() <= NARROW_COLUMNS => {
                let fits = offsets.iter().zip(&mut narrow).all(|(&wide, narrow)| {
                    *narrow = wide as i32;
                    i64::from(*narrow) == wide
                });
                fits.then_some(&narrow[..offsets.len()])
            }
            _ => None,
        };
        let rows = self.sums.chunks(self.stride.max(1));
        for (r, sums) in rows.enumerate() {
            let Some(out) = self.out.get_mut(r * self.out_stride..) else {
                return;
            };
            let n = self.cols.min(sums.len()).min(out.len());
            match (narrow, self.offsets) {
                (Some(offsets), _) => {
                    let n = n.min(offsets.len());
                    let (sums, out) = (&sums[..n], &mut out[..n]);
                    self.requantize
                        .apply_row_narrow_offsets(sums, self.col0, &offsets[..n], out);
                }
                (None, Some(offsets)) => {
                    let n = n.min(offsets.len());
                    let (sums, out) = (&sums[..n], &mut out[..n]);
                    self.requantize
                        .apply_row_offsets(sums, self.col0, &offsets[..n], out);
                }
                (None, None) => self
                    .requantize
                    .apply_row(&sums[..n], self.col0, &mut out[..n]),
            }
        }
    }
}

/// The most columns of a tile whose offsets go in i32 lanes
/// ([`Requantize::apply_row_narrow_offsets`]); the widest micro-kernel
/// tile has 32.
const NARROW_COLUMNS: usize = 64;

const I32_MIN: i64 = i32::MIN as i64;
const I32_MAX: i64 = i32::MAX as i64;

/// `clamp(zero + round(x · m), min, max)` for a biased sum `x`, as
/// [`Requantize::apply`] computes it.
#[inline(always)]
pub(crate) fn requantize_one(x: i32, m: QuantMultiplier, zero: u8, (min, max): (u8, u8)) -> u8 {
    let zero = i32::from(zero);
    let below = |limit: u8| (i32::from(limit) - zero) as f32;
    requantize_scaled(x, m.scale, zero, (below(min), below(max)))
}

/// `round(clamp(f32(x) · scale, low, high)) + zero`, halves to even: the
/// requantization of one biased sum ([`Requantize`]). `low` and `high` are
/// the output range minus the zero point (within ±255), so the result fits
/// u8.
///
/// The rounding adds `1.5 · 2^23`: for `|v| < 2^22` the f32 sum has no
/// fraction bits left, so the addition itself rounds `v` to an integer
/// (halves to even, the IEEE default) and the low mantissa bits hold it.
/// Plain bit operations, which vectorise on every tier; `round_ties_even`
/// followed by a saturating `as i32` went element by element.
#[inline(always)]
fn requantize_scaled(x: i32, scale: f32, zero: i32, (low, high): (f32, f32)) -> u8 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23
    // Comparisons, not `f32::max`/`min`: these lower to one `maxps` /
    // `minps` each, without the NaN handling `max`/`min` add (the product
    // of an i32 and a finite scale is never NaN).
    let v = x as f32 * scale;
    let v = if v < low { low } else { v };
    let v = if v > high { high } else { v };
    let rounded = (v + MAGIC).to_bits() as i32 - MAGIC.to_bits() as i32;
    (rounded + zero) as u8
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
