//! The scalar tier: one f32 per "vector", portable Rust without `unsafe`.
//! Kernels written over [`Simd`] run here exactly as on the SIMD tiers,
//! one lane at a time; this is the fallback, the Miri path and the
//! reference the SIMD tiers are compared with lane for lane.

use super::{Simd, SimdKernel};
use crate::isa::Isa;

/// The scalar tier (always available).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scalar;

impl Simd for Scalar {
    const ISA: Isa = Isa::Scalar;
    const LANES: usize = 1;
    // Unfused, so that the scalar tier needs no libm `fmaf` on CPUs
    // without FMA.
    const FMA: bool = false;
    type F = f32;
    type M = bool;
    type D = f64;

    #[inline(always)]
    fn splat(self, value: f32) -> f32 {
        value
    }
    #[inline(always)]
    fn load(self, src: &[f32]) -> f32 {
        src[0]
    }
    #[inline(always)]
    fn store(self, dst: &mut [f32], v: f32) {
        dst[0] = v;
    }
    #[inline(always)]
    fn load_even_odd(self, src: &[f32]) -> (f32, f32) {
        (src[0], src[1])
    }
    #[inline(always)]
    fn add(self, a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    fn sub(self, a: f32, b: f32) -> f32 {
        a - b
    }
    #[inline(always)]
    fn mul(self, a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    fn div(self, a: f32, b: f32) -> f32 {
        a / b
    }
    #[inline(always)]
    fn mul_add(self, a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline(always)]
    fn min(self, a: f32, b: f32) -> f32 {
        if a < b { a } else { b }
    }
    #[inline(always)]
    fn max(self, a: f32, b: f32) -> f32 {
        if a > b { a } else { b }
    }
    #[inline(always)]
    fn abs(self, a: f32) -> f32 {
        a.abs()
    }
    #[inline(always)]
    fn copy_sign(self, magnitude: f32, sign: f32) -> f32 {
        magnitude.copysign(sign)
    }
    #[inline(always)]
    fn pow2i(self, n: f32) -> f32 {
        // `as` saturates (NaN gives 0), so no input can overflow here.
        let biased = (n as i32).wrapping_add(127) as u32;
        f32::from_bits(biased.wrapping_shl(23))
    }
    #[inline(always)]
    fn lt(self, a: f32, b: f32) -> bool {
        a < b
    }
    #[inline(always)]
    fn eq(self, a: f32, b: f32) -> bool {
        a == b
    }
    #[inline(always)]
    fn is_nan(self, a: f32) -> bool {
        a.is_nan()
    }
    #[inline(always)]
    fn or(self, a: bool, b: bool) -> bool {
        a | b
    }
    #[inline(always)]
    fn and(self, a: bool, b: bool) -> bool {
        a & b
    }
    #[inline(always)]
    fn select(self, mask: bool, a: f32, b: f32) -> f32 {
        if mask { a } else { b }
    }
    #[inline(always)]
    fn wide_zero(self) -> f64 {
        0.0
    }
    #[inline(always)]
    fn wide_add(self, acc: f64, v: f32) -> f64 {
        acc + f64::from(v)
    }
    #[inline(always)]
    fn wide_sum(self, acc: f64) -> f64 {
        acc
    }
    #[inline(always)]
    fn run<K: SimdKernel>(self, kernel: K) -> K::Output {
        kernel.run(self)
    }
}
