//! The SSE4.1 tier: 4 f32 lanes in an `__m128`, multiply and add unfused.

use super::{Simd, SimdKernel};
use crate::isa::{Isa, Sse41Token};
use std::arch::x86_64::*;

/// SSE4.1 vectors; the token proves the CPU has SSE4.1.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sse41(Sse41Token);

impl Sse41 {
    /// The tier, if this CPU has it.
    pub(crate) fn new() -> Option<Sse41> {
        Sse41Token::new().map(Sse41)
    }
}

/// Runs `kernel` compiled for SSE4.1.
#[target_feature(enable = "sse4.1")]
fn trampoline<K: SimdKernel>(s: Sse41, kernel: K) -> K::Output {
    kernel.run(s)
}

/// Vector operations, each compiled for this tier (safe to call only where
/// the CPU has it; the trait methods below call them holding the token).
mod op {
    use std::arch::x86_64::*;

    const SIGN: f32 = -0.0;

    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn splat(v: f32) -> __m128 {
        _mm_set1_ps(v)
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn load(src: &[f32]) -> __m128 {
        let src = &src[..4];
        // SAFETY: `src` holds the 4 values read.
        unsafe { _mm_loadu_ps(src.as_ptr()) }
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn store(dst: &mut [f32], v: __m128) {
        let dst = &mut dst[..4];
        // SAFETY: `dst` holds the 4 values written.
        unsafe { _mm_storeu_ps(dst.as_mut_ptr(), v) }
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn even_odd(a: __m128, b: __m128) -> (__m128, __m128) {
        (
            _mm_shuffle_ps::<0b10_00_10_00>(a, b),
            _mm_shuffle_ps::<0b11_01_11_01>(a, b),
        )
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn add(a: __m128, b: __m128) -> __m128 {
        _mm_add_ps(a, b)
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn sub(a: __m128, b: __m128) -> __m128 {
        _mm_sub_ps(a, b)
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn mul(a: __m128, b: __m128) -> __m128 {
        _mm_mul_ps(a, b)
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn div(a: __m128, b: __m128) -> __m128 {
        _mm_div_ps(a, b)
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn mul_add(a: __m128, b: __m128, c: __m128) -> __m128 {
        _mm_add_ps(_mm_mul_ps(a, b), c)
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn min(a: __m128, b: __m128) -> __m128 {
        // minps returns its second operand unless a < b: the documented rule.
        _mm_min_ps(a, b)
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn max(a: __m128, b: __m128) -> __m128 {
        _mm_max_ps(a, b)
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn abs(a: __m128) -> __m128 {
        _mm_andnot_ps(_mm_set1_ps(SIGN), a)
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn copy_sign(magnitude: __m128, sign: __m128) -> __m128 {
        let sign_bit = _mm_set1_ps(SIGN);
        _mm_or_ps(
            _mm_andnot_ps(sign_bit, magnitude),
            _mm_and_ps(sign_bit, sign),
        )
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn pow2i(n: __m128) -> __m128 {
        let biased = _mm_add_epi32(_mm_cvtps_epi32(n), _mm_set1_epi32(127));
        _mm_castsi128_ps(_mm_slli_epi32::<23>(biased))
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn lt(a: __m128, b: __m128) -> __m128 {
        _mm_cmplt_ps(a, b)
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn eq(a: __m128, b: __m128) -> __m128 {
        _mm_cmpeq_ps(a, b)
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn is_nan(a: __m128) -> __m128 {
        _mm_cmpunord_ps(a, a)
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn or(a: __m128, b: __m128) -> __m128 {
        _mm_or_ps(a, b)
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn and(a: __m128, b: __m128) -> __m128 {
        _mm_and_ps(a, b)
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn select(mask: __m128, a: __m128, b: __m128) -> __m128 {
        _mm_blendv_ps(b, a, mask)
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn wide_zero() -> (__m128d, __m128d) {
        (_mm_setzero_pd(), _mm_setzero_pd())
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn wide_add(acc: (__m128d, __m128d), v: __m128) -> (__m128d, __m128d) {
        let lo = _mm_cvtps_pd(v);
        let hi = _mm_cvtps_pd(_mm_movehl_ps(v, v));
        (_mm_add_pd(acc.0, lo), _mm_add_pd(acc.1, hi))
    }
    #[target_feature(enable = "sse4.1")]
    #[inline]
    pub(super) fn wide_sum(acc: (__m128d, __m128d)) -> f64 {
        let both = _mm_add_pd(acc.0, acc.1);
        _mm_cvtsd_f64(_mm_add_sd(both, _mm_unpackhi_pd(both, both)))
    }
}

/// Implements a trait method by calling the `op` function of the same
/// name, which needs the token `self` holds.
macro_rules! with_token {
    ($name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty) => {
        #[inline(always)]
        fn $name(self, $($arg: $ty),*) -> $ret {
            // SAFETY: `self` holds an `Sse41Token`: the CPU has SSE4.1.
            unsafe { op::$name($($arg),*) }
        }
    };
}

impl Simd for Sse41 {
    const ISA: Isa = Isa::Sse41;
    const LANES: usize = 4;
    const FMA: bool = false;
    type F = __m128;
    type M = __m128;
    type D = (__m128d, __m128d);

    with_token!(splat(value: f32) -> __m128);
    with_token!(load(src: &[f32]) -> __m128);
    with_token!(store(dst: &mut [f32], v: __m128) -> ());
    with_token!(add(a: __m128, b: __m128) -> __m128);
    with_token!(sub(a: __m128, b: __m128) -> __m128);
    with_token!(mul(a: __m128, b: __m128) -> __m128);
    with_token!(div(a: __m128, b: __m128) -> __m128);
    with_token!(mul_add(a: __m128, b: __m128, c: __m128) -> __m128);
    with_token!(min(a: __m128, b: __m128) -> __m128);
    with_token!(max(a: __m128, b: __m128) -> __m128);
    with_token!(abs(a: __m128) -> __m128);
    with_token!(copy_sign(magnitude: __m128, sign: __m128) -> __m128);
    with_token!(pow2i(n: __m128) -> __m128);
    with_token!(lt(a: __m128, b: __m128) -> __m128);
    with_token!(eq(a: __m128, b: __m128) -> __m128);
    with_token!(is_nan(a: __m128) -> __m128);
    with_token!(or(a: __m128, b: __m128) -> __m128);
    with_token!(and(a: __m128, b: __m128) -> __m128);
    with_token!(select(mask: __m128, a: __m128, b: __m128) -> __m128);
    with_token!(wide_zero() -> (__m128d, __m128d));
    with_token!(wide_add(acc: (__m128d, __m128d), v: __m128) -> (__m128d, __m128d));
    with_token!(wide_sum(acc: (__m128d, __m128d)) -> f64);

    #[inline(always)]
    fn load_even_odd(self, src: &[f32]) -> (__m128, __m128) {
        let (a, b) = (self.load(src), self.load(&src[4..]));
        // SAFETY: `self` holds an `Sse41Token`: the CPU has SSE4.1.
        unsafe { op::even_odd(a, b) }
    }
    #[inline(always)]
    fn run<K: SimdKernel>(self, kernel: K) -> K::Output {
        // SAFETY: `self` holds an `Sse41Token`: the CPU has SSE4.1.
        unsafe { trampoline(self, kernel) }
    }
}
