//! The CSR dot products of the f32 linear kernel with hardware gathers
//! (AVX2 `vgatherdps` of 8 values, AVX-512 of 16): the u16 column indices
//! are widened to i32, the activations gathered and multiplied by the
//! contiguous weights. Used for CSR matrices with u16 columns on the x86
//! tiers that have gathers; the rest of the row in scalar code.

use crate::isa::{Avx2Token, Avx512Token};
use std::arch::x86_64::{
    __m256i, _mm_add_ps, _mm_cvtss_f32, _mm_hadd_ps, _mm_loadu_si128, _mm256_add_ps,
    _mm256_castps256_ps128, _mm256_cvtepu16_epi32, _mm256_extractf128_ps, _mm256_fmadd_ps,
    _mm256_i32gather_ps, _mm256_loadu_ps, _mm256_loadu_si256, _mm256_setzero_ps, _mm512_add_ps,
    _mm512_cvtepu16_epi32, _mm512_fmadd_ps, _mm512_i32gather_ps, _mm512_loadu_ps,
    _mm512_reduce_add_ps, _mm512_setzero_ps,
};

/// `Σ values[j] · x[columns[j]]` on AVX-512. Panics unless `columns` and
/// `values` are equally long.
///
/// # Safety
/// Every column must be below `x.len()` (true for the columns of a
/// validated `SparseMatrix` and an `x` row of its `cols` values).
pub(crate) unsafe fn dot_avx512(
    _token: Avx512Token,
    columns: &[u16],
    values: &[f32],
    x: &[f32],
) -> f32 {
    assert_eq!(columns.len(), values.len(), "one value per column");
    // SAFETY: the token proves AVX-512; the lengths were just checked and
    // the columns are below `x.len()` (this function's contract), so every
    // gathered address is inside `x`.
    unsafe { dot_avx512_unchecked(columns, values, x) }
}

/// # Safety
/// The CPU must have AVX-512F; `columns.len() == values.len()`; every
/// column below `x.len()`.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn dot_avx512_unchecked(columns: &[u16], values: &[f32], x: &[f32]) -> f32 {
    let mut acc = [_mm512_setzero_ps(); 2];
    let mut j = 0;
    while j + 32 <= columns.len() {
        for (h, a) in acc.iter_mut().enumerate() {
            let at = j + 16 * h;
            let idx = &columns[at..at + 16];
            // SAFETY: `idx` holds the 16 indices read.
            let idx = unsafe { _mm256_loadu_si256(idx.as_ptr().cast::<__m256i>()) };
            let idx = _mm512_cvtepu16_epi32(idx);
            // SAFETY: every index is below x.len() (the caller's contract).
            let xv = unsafe { _mm512_i32gather_ps::<4>(idx, x.as_ptr().cast()) };
            let v = &values[at..at + 16];
            // SAFETY: `v` holds the 16 values read.
            let v = unsafe { _mm512_loadu_ps(v.as_ptr()) };
            *a = _mm512_fmadd_ps(v, xv, *a);
        }
        j += 32;
    }
    let mut sum = _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1]));
    for (&c, &v) in columns[j..].iter().zip(&values[j..]) {
        sum += v * x[usize::from(c)];
    }
    sum
}

/// `Σ values[j] · x[columns[j]]` on AVX2 (see [`dot_avx512`]).
///
/// # Safety
/// Every column must be below `x.len()`.
pub(crate) unsafe fn dot_avx2(
    _token: Avx2Token,
    columns: &[u16],
    values: &[f32],
    x: &[f32],
) -> f32 {
    assert_eq!(columns.len(), values.len(), "one value per column");
    // SAFETY: the token proves AVX2 + FMA; lengths and indices as in
    // `dot_avx512`.
    unsafe { dot_avx2_unchecked(columns, values, x) }
}

/// # Safety
/// The CPU must have AVX2 and FMA; `columns.len() == values.len()`; every
/// column below `x.len()`.
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2_unchecked(columns: &[u16], values: &[f32], x: &[f32]) -> f32 {
    let mut acc = [_mm256_setzero_ps(); 2];
    let mut j = 0;
    while j + 16 <= columns.len() {
        for (h, a) in acc.iter_mut().enumerate() {
            let at = j + 8 * h;
            let idx = &columns[at..at + 8];
            // SAFETY: `idx` holds the 8 indices read.
            let idx = unsafe { _mm_loadu_si128(idx.as_ptr().cast()) };
            let idx = _mm256_cvtepu16_epi32(idx);
            // SAFETY: every index is below x.len() (the caller's contract).
            let xv = unsafe { _mm256_i32gather_ps::<4>(x.as_ptr(), idx) };
            let v = &values[at..at + 8];
            // SAFETY: `v` holds the 8 values read.
            let v = unsafe { _mm256_loadu_ps(v.as_ptr()) };
            *a = _mm256_fmadd_ps(v, xv, *a);
        }
        j += 16;
    }
    let a = _mm256_add_ps(acc[0], acc[1]);
    let a = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps::<1>(a));
    let a = _mm_hadd_ps(a, a);
    let mut sum = _mm_cvtss_f32(_mm_hadd_ps(a, a));
    for (&c, &v) in columns[j..].iter().zip(&values[j..]) {
        sum += v * x[usize::from(c)];
    }
    sum
}
