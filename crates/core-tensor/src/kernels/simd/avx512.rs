//! The AVX-512 tier: 16 f32 lanes in an `__m512`, fused multiply-add,
//! comparisons into `__mmask16` registers.

use super::{Simd, SimdKernel};
use crate::isa::{Avx512Token, Isa};
use std::arch::x86_64::*;

/// AVX-512 vectors; the token proves the CPU has the AVX-512 tier.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512(Avx512Token);

impl Avx512 {
    /// The tier, if this CPU has it.
    pub(crate) fn new() -> Option<Avx512> {
        Avx512Token::new().map(Avx512)
    }
}

/// Runs `kernel` compiled for AVX-512.
#[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
fn trampoline<K: SimdKernel>(s: Avx512, kernel: K) -> K::Output {
    kernel.run(s)
}

/// Vector operations, each compiled for this tier (safe to call only where
/// the CPU has it; the trait methods below call them holding the token).
mod op {
    use std::arch::x86_64::*;

    const SIGN: f32 = -0.0;

    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn splat(v: f32) -> __m512 {
        _mm512_set1_ps(v)
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn load(src: &[f32]) -> __m512 {
        let src = &src[..16];
        // SAFETY: `src` holds the 16 values read.
        unsafe { _mm512_loadu_ps(src.as_ptr()) }
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn store(dst: &mut [f32], v: __m512) {
        let dst = &mut dst[..16];
        // SAFETY: `dst` holds the 16 values written.
        unsafe { _mm512_storeu_ps(dst.as_mut_ptr(), v) }
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn even_odd(a: __m512, b: __m512) -> (__m512, __m512) {
        // Lane i of the result takes lane idx[i] of the 32 lanes a ++ b.
        let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        (
            _mm512_permutex2var_ps(a, even, b),
            _mm512_permutex2var_ps(a, odd, b),
        )
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn add(a: __m512, b: __m512) -> __m512 {
        _mm512_add_ps(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn sub(a: __m512, b: __m512) -> __m512 {
        _mm512_sub_ps(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn mul(a: __m512, b: __m512) -> __m512 {
        _mm512_mul_ps(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn div(a: __m512, b: __m512) -> __m512 {
        _mm512_div_ps(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn mul_add(a: __m512, b: __m512, c: __m512) -> __m512 {
        _mm512_fmadd_ps(a, b, c)
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn min(a: __m512, b: __m512) -> __m512 {
        // vminps returns its second operand unless a < b: the documented rule.
        _mm512_min_ps(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn max(a: __m512, b: __m512) -> __m512 {
        _mm512_max_ps(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn abs(a: __m512) -> __m512 {
        _mm512_abs_ps(a)
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn copy_sign(magnitude: __m512, sign: __m512) -> __m512 {
        let sign_bit = _mm512_set1_ps(SIGN);
        _mm512_or_ps(
            _mm512_andnot_ps(sign_bit, magnitude),
            _mm512_and_ps(sign_bit, sign),
        )
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn pow2i(n: __m512) -> __m512 {
        let biased = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
        _mm512_castsi512_ps(_mm512_slli_epi32::<23>(biased))
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn lt(a: __m512, b: __m512) -> __mmask16 {
        _mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn eq(a: __m512, b: __m512) -> __mmask16 {
        _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(a, b)
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn is_nan(a: __m512) -> __mmask16 {
        _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(a, a)
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn select(mask: __mmask16, a: __m512, b: __m512) -> __m512 {
        _mm512_mask_blend_ps(mask, b, a)
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn wide_zero() -> (__m512d, __m512d) {
        (_mm512_setzero_pd(), _mm512_setzero_pd())
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn wide_add(acc: (__m512d, __m512d), v: __m512) -> (__m512d, __m512d) {
        let lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        let hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps::<1>(v));
        (_mm512_add_pd(acc.0, lo), _mm512_add_pd(acc.1, hi))
    }
    #[target_feature(enable = "avx,avx2,fma,avx512f,avx512bw,avx512vl,avx512dq")]
    #[inline]
    pub(super) fn wide_sum(acc: (__m512d, __m512d)) -> f64 {
        _mm512_reduce_add_pd(_mm512_add_pd(acc.0, acc.1))
    }
}

/// Implements a trait method by calling the `op` function of the same
/// name, which needs the token `self` holds.
macro_rules! with_token {
    ($name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty) => {
        #[inline(always)]
        fn $name(self, $($arg: $ty),*) -> $ret {
            // SAFETY: `self` holds an `Avx512Token`: the CPU has AVX-512 F/BW/VL/DQ, AVX2 and FMA.
            unsafe { op::$name($($arg),*) }
        }
    };
}

impl Simd for Avx512 {
    const ISA: Isa = Isa::Avx512;
    const LANES: usize = 16;
    const FMA: bool = true;
    type F = __m512;
    type M = __mmask16;
    type D = (__m512d, __m512d);

    with_token!(splat(value: f32) -> __m512);
    with_token!(load(src: &[f32]) -> __m512);
    with_token!(store(dst: &mut [f32], v: __m512) -> ());
    with_token!(add(a: __m512, b: __m512) -> __m512);
    with_token!(sub(a: __m512, b: __m512) -> __m512);
    with_token!(mul(a: __m512, b: __m512) -> __m512);
    with_token!(div(a: __m512, b: __m512) -> __m512);
    with_token!(mul_add(a: __m512, b: __m512, c: __m512) -> __m512);
    with_token!(min(a: __m512, b: __m512) -> __m512);
    with_token!(max(a: __m512, b: __m512) -> __m512);
    with_token!(abs(a: __m512) -> __m512);
    with_token!(copy_sign(magnitude: __m512, sign: __m512) -> __m512);
    with_token!(pow2i(n: __m512) -> __m512);
    with_token!(lt(a: __m512, b: __m512) -> __mmask16);
    with_token!(eq(a: __m512, b: __m512) -> __mmask16);
    with_token!(is_nan(a: __m512) -> __mmask16);
    with_token!(select(mask: __mmask16, a: __m512, b: __m512) -> __m512);
    with_token!(wide_zero() -> (__m512d, __m512d));
    with_token!(wide_add(acc: (__m512d, __m512d), v: __m512) -> (__m512d, __m512d));
    with_token!(wide_sum(acc: (__m512d, __m512d)) -> f64);

    #[inline(always)]
    fn or(self, a: __mmask16, b: __mmask16) -> __mmask16 {
        a | b
    }
    #[inline(always)]
    fn and(self, a: __mmask16, b: __mmask16) -> __mmask16 {
        a & b
    }
    #[inline(always)]
    fn load_even_odd(self, src: &[f32]) -> (__m512, __m512) {
        let (a, b) = (self.load(src), self.load(&src[16..]));
        // SAFETY: `self` holds an `Avx512Token`: the CPU has AVX-512 F/BW/VL/DQ, AVX2 and FMA.
        unsafe { op::even_odd(a, b) }
    }
    #[inline(always)]
    fn run<K: SimdKernel>(self, kernel: K) -> K::Output {
        // SAFETY: `self` holds an `Avx512Token`: the CPU has AVX-512 F/BW/VL/DQ, AVX2 and FMA.
        unsafe { trampoline(self, kernel) }
    }
}
