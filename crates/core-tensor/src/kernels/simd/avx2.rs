//! The AVX2 + FMA tier: 8 f32 lanes in an `__m256`, fused multiply-add.

use super::{Simd, SimdKernel};
use crate::isa::{Avx2Token, Isa};
use std::arch::x86_64::*;

/// AVX2 vectors; the token proves the CPU has AVX2 and FMA.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2(Avx2Token);

impl Avx2 {
    /// The tier, if this CPU has it.
    pub(crate) fn new() -> Option<Avx2> {
        Avx2Token::new().map(Avx2)
    }
}

/// Runs `kernel` compiled for AVX2 + FMA.
#[target_feature(enable = "avx,avx2,fma")]
fn trampoline<K: SimdKernel>(s: Avx2, kernel: K) -> K::Output {
    kernel.run(s)
}

/// Vector operations, each compiled for this tier (safe to call only where
/// the CPU has it; the trait methods below call them holding the token).
mod op {
    use std::arch::x86_64::*;

    const SIGN: f32 = -0.0;

    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn splat(v: f32) -> __m256 {
        _mm256_set1_ps(v)
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn load(src: &[f32]) -> __m256 {
        let src = &src[..8];
        // SAFETY: `src` holds the 8 values read.
        unsafe { _mm256_loadu_ps(src.as_ptr()) }
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn store(dst: &mut [f32], v: __m256) {
        let dst = &mut dst[..8];
        // SAFETY: `dst` holds the 8 values written.
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), v) }
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn even_odd(a: __m256, b: __m256) -> (__m256, __m256) {
        // In each 128-bit half: [a0 a2 b0 b2 | a4 a6 b4 b6]; then the 64-bit
        // pairs reordered 0, 2, 1, 3 give x0 x2 x4 ... x14.
        let even = _mm256_shuffle_ps::<0b10_00_10_00>(a, b);
        let odd = _mm256_shuffle_ps::<0b11_01_11_01>(a, b);
        let reorder = |v: __m256| {
            _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)))
        };
        (reorder(even), reorder(odd))
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn add(a: __m256, b: __m256) -> __m256 {
        _mm256_add_ps(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn sub(a: __m256, b: __m256) -> __m256 {
        _mm256_sub_ps(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn mul(a: __m256, b: __m256) -> __m256 {
        _mm256_mul_ps(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn div(a: __m256, b: __m256) -> __m256 {
        _mm256_div_ps(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn mul_add(a: __m256, b: __m256, c: __m256) -> __m256 {
        _mm256_fmadd_ps(a, b, c)
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn min(a: __m256, b: __m256) -> __m256 {
        _mm256_min_ps(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn max(a: __m256, b: __m256) -> __m256 {
        _mm256_max_ps(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn abs(a: __m256) -> __m256 {
        _mm256_andnot_ps(_mm256_set1_ps(SIGN), a)
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn copy_sign(magnitude: __m256, sign: __m256) -> __m256 {
        let sign_bit = _mm256_set1_ps(SIGN);
        _mm256_or_ps(
            _mm256_andnot_ps(sign_bit, magnitude),
            _mm256_and_ps(sign_bit, sign),
        )
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn pow2i(n: __m256) -> __m256 {
        let biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
        _mm256_castsi256_ps(_mm256_slli_epi32::<23>(biased))
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn lt(a: __m256, b: __m256) -> __m256 {
        _mm256_cmp_ps::<_CMP_LT_OQ>(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn eq(a: __m256, b: __m256) -> __m256 {
        _mm256_cmp_ps::<_CMP_EQ_OQ>(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn is_nan(a: __m256) -> __m256 {
        _mm256_cmp_ps::<_CMP_UNORD_Q>(a, a)
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn or(a: __m256, b: __m256) -> __m256 {
        _mm256_or_ps(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn and(a: __m256, b: __m256) -> __m256 {
        _mm256_and_ps(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn select(mask: __m256, a: __m256, b: __m256) -> __m256 {
        _mm256_blendv_ps(b, a, mask)
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn wide_zero() -> (__m256d, __m256d) {
        (_mm256_setzero_pd(), _mm256_setzero_pd())
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn wide_add(acc: (__m256d, __m256d), v: __m256) -> (__m256d, __m256d) {
        let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
        let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v));
        (_mm256_add_pd(acc.0, lo), _mm256_add_pd(acc.1, hi))
    }
    #[target_feature(enable = "avx,avx2,fma")]
    #[inline]
    pub(super) fn wide_sum(acc: (__m256d, __m256d)) -> f64 {
        let both = _mm256_add_pd(acc.0, acc.1);
        let half = _mm_add_pd(
            _mm256_castpd256_pd128(both),
            _mm256_extractf128_pd::<1>(both),
        );
        _mm_cvtsd_f64(_mm_add_sd(half, _mm_unpackhi_pd(half, half)))
    }
}

/// Implements a trait method by calling the `op` function of the same
/// name, which needs the token `self` holds.
macro_rules! with_token {
    ($name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty) => {
        #[inline(always)]
        fn $name(self, $($arg: $ty),*) -> $ret {
            // SAFETY: `self` holds an `Avx2Token`: the CPU has AVX2 and FMA.
            unsafe { op::$name($($arg),*) }
        }
    };
}

impl Simd for Avx2 {
    const ISA: Isa = Isa::Avx2;
    const LANES: usize = 8;
    const FMA: bool = true;
    type F = __m256;
    type M = __m256;
    type D = (__m256d, __m256d);

    with_token!(splat(value: f32) -> __m256);
    with_token!(load(src: &[f32]) -> __m256);
    with_token!(store(dst: &mut [f32], v: __m256) -> ());
    with_token!(add(a: __m256, b: __m256) -> __m256);
    with_token!(sub(a: __m256, b: __m256) -> __m256);
    with_token!(mul(a: __m256, b: __m256) -> __m256);
    with_token!(div(a: __m256, b: __m256) -> __m256);
    with_token!(mul_add(a: __m256, b: __m256, c: __m256) -> __m256);
    with_token!(min(a: __m256, b: __m256) -> __m256);
    with_token!(max(a: __m256, b: __m256) -> __m256);
    with_token!(abs(a: __m256) -> __m256);
    with_token!(copy_sign(magnitude: __m256, sign: __m256) -> __m256);
    with_token!(pow2i(n: __m256) -> __m256);
    with_token!(lt(a: __m256, b: __m256) -> __m256);
    with_token!(eq(a: __m256, b: __m256) -> __m256);
    with_token!(is_nan(a: __m256) -> __m256);
    with_token!(or(a: __m256, b: __m256) -> __m256);
    with_token!(and(a: __m256, b: __m256) -> __m256);
    with_token!(select(mask: __m256, a: __m256, b: __m256) -> __m256);
    with_token!(wide_zero() -> (__m256d, __m256d));
    with_token!(wide_add(acc: (__m256d, __m256d), v: __m256) -> (__m256d, __m256d));
    with_token!(wide_sum(acc: (__m256d, __m256d)) -> f64);

    #[inline(always)]
    fn load_even_odd(self, src: &[f32]) -> (__m256, __m256) {
        let (a, b) = (self.load(src), self.load(&src[8..]));
        // SAFETY: `self` holds an `Avx2Token`: the CPU has AVX2 and FMA.
        unsafe { op::even_odd(a, b) }
    }
    #[inline(always)]
    fn run<K: SimdKernel>(self, kernel: K) -> K::Output {
        // SAFETY: `self` holds an `Avx2Token`: the CPU has AVX2 and FMA.
        unsafe { trampoline(self, kernel) }
    }
}
