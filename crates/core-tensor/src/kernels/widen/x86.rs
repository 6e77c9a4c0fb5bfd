//! `f16-f32-vcvt-f16c` and `f16-f32-vcvt-avx512`: `vcvtph2ps`.

use crate::features::Feature;
use crate::isa::Avx512Token;
use half::f16;
use std::arch::x86_64::{
    __m128i, _mm_loadu_si128, _mm256_cvtph_ps, _mm256_loadu_si256, _mm256_storeu_ps,
    _mm512_cvtph_ps, _mm512_storeu_ps,
};

/// Proof that this CPU has the AVX2 tier and F16C.
#[derive(Clone, Copy, Debug)]
pub(crate) struct F16cToken(());

impl F16cToken {
    /// The token, if this CPU has AVX2 and F16C.
    pub(crate) fn new() -> Option<Self> {
        Feature::F16c.is_available().then_some(F16cToken(()))
    }
}

/// Widens 8 values.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn widen8(src: &[u16; 8], dst: &mut [f32; 8]) {
    // SAFETY: `src` holds 8 u16 (16 bytes, read unaligned).
    let h = unsafe { _mm_loadu_si128(src.as_ptr().cast::<__m128i>()) };
    let wide = _mm256_cvtph_ps(h);
    // SAFETY: `dst` holds 8 f32 (32 bytes, written unaligned).
    unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), wide) };
}

/// Widens 16 values.
#[inline]
#[target_feature(enable = "avx512f,avx2,f16c")]
fn widen16(src: &[f16], dst: &mut [f32]) {
    assert!(src.len() >= 16 && dst.len() >= 16, "widen16: short slices");
    // SAFETY: `src` holds at least 16 f16 (32 bytes, read unaligned).
    let h = unsafe { _mm256_loadu_si256(src.as_ptr().cast()) };
    let wide = _mm512_cvtph_ps(h);
    // SAFETY: `dst` holds at least 16 f32 (64 bytes, written unaligned).
    unsafe { _mm512_storeu_ps(dst.as_mut_ptr(), wide) };
}

/// The bits of 8 values.
#[inline(always)]
fn bits8(src: &[f16]) -> [u16; 8] {
    let mut block = [0u16; 8];
    for (b, s) in block.iter_mut().zip(src) {
        *b = s.to_bits();
    }
    block
}

/// Widens the last `src.len() % 8` values (`dst` as long as `src`) through
/// a zero-padded block of eight.
#[target_feature(enable = "avx2,f16c")]
fn tail_f16c(src: &[f16], dst: &mut [f32]) {
    let mut out = [0.0f32; 8];
    widen8(&bits8(src), &mut out);
    dst.copy_from_slice(&out[..dst.len()]);
}

#[target_feature(enable = "avx2,f16c")]
fn widen_f16c(src: &[f16], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "widen: lengths differ");
    let mut src_blocks = src.chunks_exact(8);
    let mut dst_blocks = dst.chunks_exact_mut(8);
    for (s, d) in (&mut src_blocks).zip(&mut dst_blocks) {
        // SAFETY: `s` is 8 f16 (16 bytes, read unaligned).
        let h = unsafe { _mm_loadu_si128(s.as_ptr().cast::<__m128i>()) };
        let wide = _mm256_cvtph_ps(h);
        // SAFETY: `d` is 8 f32 (32 bytes, written unaligned).
        unsafe { _mm256_storeu_ps(d.as_mut_ptr(), wide) };
    }
    tail_f16c(src_blocks.remainder(), dst_blocks.into_remainder());
}

#[target_feature(enable = "avx512f,avx2,f16c")]
fn widen_avx512(src: &[f16], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "widen: lengths differ");
    let mut src_blocks = src.chunks_exact(16);
    let mut dst_blocks = dst.chunks_exact_mut(16);
    for (s, d) in (&mut src_blocks).zip(&mut dst_blocks) {
        widen16(s, d);
    }
    let (src, dst) = (src_blocks.remainder(), dst_blocks.into_remainder());
    let whole = src.len() / 8 * 8;
    let (src_head, src_tail) = src.split_at(whole);
    let (dst_head, dst_tail) = dst.split_at_mut(whole);
    for (s, d) in src_head.chunks_exact(8).zip(dst_head.chunks_exact_mut(8)) {
        let mut out = [0.0f32; 8];
        widen8(&bits8(s), &mut out);
        d.copy_from_slice(&out);
    }
    tail_f16c(src_tail, dst_tail);
}

/// `f16-f32-vcvt-f16c`: `dst[i] = src[i]` widened (same lengths).
pub(crate) fn f16_f32_vcvt_f16c(_token: F16cToken, src: &[f16], dst: &mut [f32]) {
    // SAFETY: the token proves the CPU has AVX2 and F16C.
    unsafe { widen_f16c(src, dst) }
}

/// `f16-f32-vcvt-avx512`: `dst[i] = src[i]` widened (same lengths).
pub(crate) fn f16_f32_vcvt_avx512(_token: Avx512Token, src: &[f16], dst: &mut [f32]) {
    // SAFETY: the token proves the CPU has AVX-512 F and AVX2; every
    // AVX-512 CPU has F16C (it is part of AVX-512F's conversions).
    unsafe { widen_avx512(src, dst) }
}
