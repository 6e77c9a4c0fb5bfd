//! The NEON tier (aarch64 Advanced SIMD): 4 f32 lanes in a `float32x4_t`,
//! fused multiply-add. `min` and `max` are a compare and a bit select, so
//! that they follow the documented x86 rule (NaN or equal operands give the
//! second one) instead of `fmin`/`fmax`.

use super::{Simd, SimdKernel};
use crate::isa::{Isa, NeonToken};
use std::arch::aarch64::*;

/// NEON vectors; the token proves the CPU has Advanced SIMD.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Neon(NeonToken);

impl Neon {
    /// The tier, if this CPU has it.
    pub(crate) fn new() -> Option<Neon> {
        NeonToken::new().map(Neon)
    }
}

/// Runs `kernel` compiled for NEON.
#[target_feature(enable = "neon")]
fn trampoline<K: SimdKernel>(s: Neon, kernel: K) -> K::Output {
    kernel.run(s)
}

/// Vector operations, each compiled for this tier (safe to call only where
/// the CPU has it; the trait methods below call them holding the token).
mod op {
    use std::arch::aarch64::*;

    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn splat(v: f32) -> float32x4_t {
        vdupq_n_f32(v)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn load(src: &[f32]) -> float32x4_t {
        let src = &src[..4];
        // SAFETY: `src` holds the 4 values read.
        unsafe { vld1q_f32(src.as_ptr()) }
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn store(dst: &mut [f32], v: float32x4_t) {
        let dst = &mut dst[..4];
        // SAFETY: `dst` holds the 4 values written.
        unsafe { vst1q_f32(dst.as_mut_ptr(), v) }
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn load_even_odd(src: &[f32]) -> (float32x4_t, float32x4_t) {
        let src = &src[..8];
        // SAFETY: `src` holds the 8 values read.
        let pair = unsafe { vld2q_f32(src.as_ptr()) };
        (pair.0, pair.1)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn add(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        vaddq_f32(a, b)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn sub(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        vsubq_f32(a, b)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn mul(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        vmulq_f32(a, b)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn div(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        vdivq_f32(a, b)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn mul_add(a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
        vfmaq_f32(c, a, b)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn min(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        vbslq_f32(vcltq_f32(a, b), a, b)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn max(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        vbslq_f32(vcgtq_f32(a, b), a, b)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn abs(a: float32x4_t) -> float32x4_t {
        vabsq_f32(a)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn copy_sign(magnitude: float32x4_t, sign: float32x4_t) -> float32x4_t {
        vbslq_f32(vdupq_n_u32(0x8000_0000), sign, magnitude)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn pow2i(n: float32x4_t) -> float32x4_t {
        let biased = vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127));
        vreinterpretq_f32_s32(vshlq_n_s32::<23>(biased))
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn lt(a: float32x4_t, b: float32x4_t) -> uint32x4_t {
        vcltq_f32(a, b)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn eq(a: float32x4_t, b: float32x4_t) -> uint32x4_t {
        vceqq_f32(a, b)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn is_nan(a: float32x4_t) -> uint32x4_t {
        vmvnq_u32(vceqq_f32(a, a))
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn or(a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        vorrq_u32(a, b)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn and(a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        vandq_u32(a, b)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn select(mask: uint32x4_t, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        vbslq_f32(mask, a, b)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn wide_zero() -> (float64x2_t, float64x2_t) {
        (vdupq_n_f64(0.0), vdupq_n_f64(0.0))
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn wide_add(
        acc: (float64x2_t, float64x2_t),
        v: float32x4_t,
    ) -> (float64x2_t, float64x2_t) {
        let lo = vcvt_f64_f32(vget_low_f32(v));
        let hi = vcvt_high_f64_f32(v);
        (vaddq_f64(acc.0, lo), vaddq_f64(acc.1, hi))
    }
    #[target_feature(enable = "neon")]
    #[inline]
    pub(super) fn wide_sum(acc: (float64x2_t, float64x2_t)) -> f64 {
        vaddvq_f64(vaddq_f64(acc.0, acc.1))
    }
}

/// Implements a trait method by calling the `op` function of the same
/// name, which needs the token `self` holds.
macro_rules! with_token {
    ($name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty) => {
        #[inline(always)]
        fn $name(self, $($arg: $ty),*) -> $ret {
            // SAFETY: `self` holds a `NeonToken`: the CPU has Advanced SIMD.
            unsafe { op::$name($($arg),*) }
        }
    };
}

type F = float32x4_t;
type M = uint32x4_t;
type D = (float64x2_t, float64x2_t);

impl Simd for Neon {
    const ISA: Isa = Isa::Neon;
    const LANES: usize = 4;
    const FMA: bool = true;
    type F = F;
    type M = M;
    type D = D;

    with_token!(splat(value: f32) -> F);
    with_token!(load(src: &[f32]) -> F);
    with_token!(store(dst: &mut [f32], v: F) -> ());
    with_token!(load_even_odd(src: &[f32]) -> (F, F));
    with_token!(add(a: F, b: F) -> F);
    with_token!(sub(a: F, b: F) -> F);
    with_token!(mul(a: F, b: F) -> F);
    with_token!(div(a: F, b: F) -> F);
    with_token!(mul_add(a: F, b: F, c: F) -> F);
    with_token!(min(a: F, b: F) -> F);
    with_token!(max(a: F, b: F) -> F);
    with_token!(abs(a: F) -> F);
    with_token!(copy_sign(magnitude: F, sign: F) -> F);
    with_token!(pow2i(n: F) -> F);
    with_token!(lt(a: F, b: F) -> M);
    with_token!(eq(a: F, b: F) -> M);
    with_token!(is_nan(a: F) -> M);
    with_token!(or(a: M, b: M) -> M);
    with_token!(and(a: M, b: M) -> M);
    with_token!(select(mask: M, a: F, b: F) -> F);
    with_token!(wide_zero() -> D);
    with_token!(wide_add(acc: D, v: F) -> D);
    with_token!(wide_sum(acc: D) -> f64);

    #[inline(always)]
    fn run<K: SimdKernel>(self, kernel: K) -> K::Output {
        // SAFETY: `self` holds a `NeonToken`: the CPU has Advanced SIMD.
        unsafe { trampoline(self, kernel) }
    }
}
