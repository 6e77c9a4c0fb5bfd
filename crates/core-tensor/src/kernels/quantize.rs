//! f32 → u8 linear quantization with one scale and zero point (ONNX
//! `QuantizeLinear` per tensor), vectorised on every tier.
//!
//! `q = clamp(round_half_even(x / scale) + zero, low, high)`, with a NaN
//! quantized as 0 before the zero point is added (what `f32 as i32` does in
//! the scalar definition, [`quantize_u8_reference`]). Division, not a
//! reciprocal product, as ONNX specifies, so every tier agrees bit for bit
//! with the reference.
//!
//! ```
//! use pocketnn_tensor::Isa;
//! use pocketnn_tensor::kernels::quantize::quantize_u8;
//!
//! let mut q = [0u8; 4];
//! quantize_u8(Isa::best(), &[0.0, 0.25, 1.0, -9.0], 0.5, 10, (0, 255), &mut q)?;
//! assert_eq!(q, [10, 10, 12, 0]); // 0.25 / 0.5 = 0.5 rounds to 0 (even)
//! # Ok::<(), pocketnn_tensor::TensorError>(())
//! ```

use crate::error::TensorError;
use crate::isa::Isa;
use crate::kernels::simd::{Simd, SimdKernel, map, run_on};

/// Values converted per step (a stack buffer of f32 between the vector
/// arithmetic and the narrowing to bytes).
const CHUNK: usize = 256;

/// `1.5 · 2^23`: adding and subtracting it rounds an f32 of magnitude below
/// `2^22` to an integer, halves to even (the default rounding mode). Larger
/// magnitudes are clamped to `low`/`high` afterwards whatever the rounding.
const ROUNDER: f32 = 12_582_912.0;

/// The scalar definition: `clamp(round_half_even(x / scale) as i32 + zero,
/// low, high)` per value.
pub fn quantize_u8_reference(
    x: &[f32],
    scale: f32,
    zero: i32,
    (low, high): (u8, u8),
    out: &mut [u8],
) {
    for (o, &v) in out.iter_mut().zip(x) {
        let q = (v / scale).round_ties_even() as i32;
        *o = q
            .saturating_add(zero)
            .clamp(i32::from(low), i32::from(high)) as u8;
    }
}

/// Quantizes `x` into `out` on tier `isa` (see the module docs).
///
/// Fails when the slices differ in length, when `scale` is not finite and
/// positive, when `zero` is outside `0..=255` or `low > high`, or when the
/// CPU lacks the tier.
pub fn quantize_u8(
    isa: Isa,
    x: &[f32],
    scale: f32,
    zero: i32,
    (low, high): (u8, u8),
    out: &mut [u8],
) -> Result<(), TensorError> {
    if x.len() != out.len() {
        return Err(TensorError::LengthMismatch {
            expected: x.len(),
            actual: out.len(),
        });
    }
    let valid = scale.is_finite() && scale > 0.0 && (0..=255).contains(&zero) && low <= high;
    if !valid {
        return Err(TensorError::InvalidQuantization {
            reason: format!("scale {scale}, zero point {zero}, range {low}..={high}"),
        });
    }
    run_on(
        isa,
        Quantize {
            x,
            scale,
            zero: zero as f32,
            range: (f32::from(low), f32::from(high)),
            out,
        },
    )
}

struct Quantize<'a> {
    x: &'a [f32],
    scale: f32,
    zero: f32,
    range: (f32, f32),
    out: &'a mut [u8],
}

impl SimdKernel for Quantize<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let (scale, zero) = (s.splat(self.scale), s.splat(self.zero));
        let (low, high) = (s.splat(self.range.0), s.splat(self.range.1));
        let (rounder, nothing) = (s.splat(ROUNDER), s.splat(0.0));
        let mut buffer = [0f32; CHUNK];
        for (x, out) in self.x.chunks(CHUNK).zip(self.out.chunks_mut(CHUNK)) {
            let buffer = &mut buffer[..x.len()];
            map(s, x, buffer, 0.0, |v| {
                let ratio = s.div(v, scale);
                // Exact for |ratio| < 2^22; a larger magnitude stays larger
                // than 255 with its sign, so the clamp below still decides.
                let rounded = s.sub(s.add(ratio, rounder), rounder);
                let q = s.select(s.is_nan(ratio), nothing, rounded);
                // min/max keep the second operand for NaN; none is left.
                s.min(s.max(s.add(q, zero), low), high)
            });
            // Integer values in 0..=255: the conversion is exact.
            for (o, &q) in out.iter_mut().zip(buffer.iter()) {
                *o = q as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn special_values() -> Vec<f32> {
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            -0.5,
            -1.5,
            -2.5,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            1e-40,
            4_194_303.5,
            4_194_304.5,
            8_388_607.5,
            16_777_217.0,
            -4_194_303.5,
            -12_582_912.0,
            -12_582_913.0,
            -2e7,
            127.5,
            128.5,
            -127.5,
        ];
        // A sweep across the range around the zero point, odd length.
        values.extend((0..1001).map(|i| (i as f32 - 500.0) * 0.37));
        values
    }

    #[test]
    fn every_tier_matches_the_reference_bit_for_bit() {
        let x = special_values();
        for isa in Isa::available() {
            for (scale, zero, range) in [
                (1.0, 0, (0, 255)),
                (0.5, 128, (0, 255)),
                (0.37, 3, (0, 255)),
                (2.0, 255, (0, 255)),
                (1.0, 128, (1, 254)),
                (1e-30, 7, (0, 255)),
            ] {
                for len in [0, 1, 7, 16, 17, 255, 256, 257, x.len()] {
                    let x = &x[..len];
                    let mut want = vec![0u8; len];
                    quantize_u8_reference(x, scale, zero, range, &mut want);
                    let mut got = vec![0xAAu8; len];
                    quantize_u8(isa, x, scale, zero, range, &mut got).unwrap();
                    assert_eq!(got, want, "{isa:?} scale {scale} zero {zero} len {len}");
                }
            }
        }
    }

    #[test]
    fn hand_computed_values() {
        let mut q = [0u8; 6];
        let x = [0.0, 0.25, 0.75, 1.0, -9.0, f32::NAN];
        quantize_u8_reference(&x, 0.5, 10, (0, 255), &mut q);
        assert_eq!(q, [10, 10, 12, 12, 0, 10]);
    }

    #[test]
    fn bad_parameters_are_errors() {
        let mut q = [0u8; 2];
        let isa = Isa::Scalar;
        assert!(quantize_u8(isa, &[1.0], 1.0, 0, (0, 255), &mut q).is_err());
        for (scale, zero, range) in [
            (0.0, 0, (0, 255)),
            (-1.0, 0, (0, 255)),
            (f32::NAN, 0, (0, 255)),
            (f32::INFINITY, 0, (0, 255)),
            (1.0, 256, (0, 255)),
            (1.0, -1, (0, 255)),
            (1.0, 0, (9, 8)),
        ] {
            assert!(quantize_u8(isa, &[1.0, 2.0], scale, zero, range, &mut q).is_err());
        }
    }
}
