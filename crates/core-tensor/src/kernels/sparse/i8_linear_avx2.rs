//! The linear int8 product (`sparse_linear_u8i8`) on AVX2, for the AVX2
//! and AVX-512 kernels: one activation row at a time, over the grouped
//! form of [`SparseI8Matrix`](super::SparseI8Matrix). The row is read as
//! 32-bit words of four u8 activations (columns `4g .. 4g + 4`, zero
//! padded); eight entries at a time, `vpgatherdd` fetches the words of
//! their groups, and both the activation and the weight words widen to i16
//! so that `vpmaddwd` adds the products in pairs exactly (no `vpmaddubsw`,
//! no i16 saturation). Every partial sum is a sub-sum of an output that
//! fits in i32 (the depth is at most `MAX_DEPTH`), so nothing overflows.

use super::i8_matrix::Grouped;
use crate::isa::Avx2Token;
use std::arch::x86_64::{
    __m256i, _mm256_add_epi32, _mm256_castsi256_si128, _mm256_cvtepi8_epi16, _mm256_cvtepu8_epi16,
    _mm256_extracti128_si256, _mm256_i32gather_epi32, _mm256_loadu_si256, _mm256_madd_epi16,
    _mm256_setr_epi32, _mm256_setzero_si256, _mm256_storeu_si256,
};

/// Entries per gather.
const STEP: usize = 8;

/// `sums[row] = Σ W[row, c] · x[c]` for every row, with `x_words` the
/// activation row as words (`x_words[g]` = columns `4g .. 4g + 4`), or
/// `None` when the CPU lacks AVX2. Panics (before any unchecked load) if a
/// group lies outside `x_words` or the words do not match the entries.
pub(crate) fn linear_row(grouped: &Grouped, x_words: &[i32], sums: &mut [i32]) -> Option<()> {
    let _token = Avx2Token::new()?;
    let rows_per_block = grouped.rows_per_block;
    assert!(
        grouped.groups.iter().all(|&g| (g as usize) < x_words.len()),
        "group out of range"
    );
    assert_eq!(
        grouped.words.len(),
        grouped.groups.len() * rows_per_block,
        "words per entry"
    );
    for (b, pair) in grouped.block_ptr.windows(2).enumerate() {
        let (start, end) = (pair[0], pair[1]);
        let groups = &grouped.groups[start..end];
        let words = &grouped.words[start * rows_per_block..end * rows_per_block];
        if rows_per_block == 4 {
            // SAFETY: the token proves AVX2; every group is below
            // `x_words.len()` and `words` holds 4 words per group (asserted
            // above).
            let row_sums = unsafe { block_row_avx2::<4>(groups, words, x_words) };
            for (r, s) in row_sums.into_iter().enumerate() {
                if let Some(out) = sums.get_mut(b * 4 + r) {
                    *out = s;
                }
            }
        } else {
            // SAFETY: as above, with 1 word per group.
            let [s] = unsafe { block_row_avx2::<1>(groups, words, x_words) };
            if let Some(out) = sums.get_mut(b) {
                *out = s;
            }
        }
    }
    Some(())
}

/// The `R` sums of one block row.
///
/// # Safety
/// The CPU must have AVX2; every group must be below `x_words.len()` and
/// `words.len() == groups.len() · R`.
#[target_feature(enable = "avx2")]
unsafe fn block_row_avx2<const R: usize>(
    groups: &[u32],
    words: &[i32],
    x_words: &[i32],
) -> [i32; R] {
    let mut acc = [_mm256_setzero_si256(); R];
    // Entry e's word for row r is words[e · R + r]: word offsets 0, R, 2R ...
    let stride = R as i32;
    let word_offsets = _mm256_setr_epi32(
        0,
        stride,
        2 * stride,
        3 * stride,
        4 * stride,
        5 * stride,
        6 * stride,
        7 * stride,
    );
    let full = groups.len() / STEP * STEP;
    for e in (0..full).step_by(STEP) {
        let group_slice = &groups[e..e + STEP];
        // SAFETY: `group_slice` holds 8 u32 (32 bytes).
        let offsets = unsafe { _mm256_loadu_si256(group_slice.as_ptr().cast()) };
        // SAFETY: the groups are below `x_words.len()` <= i32::MAX, so they
        // read as non-negative i32 offsets inside `x_words` (the caller's
        // contract).
        let x = unsafe { _mm256_i32gather_epi32::<4>(x_words.as_ptr(), offsets) };
        let (x_low, x_high) = widen_u8(x);
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let word_slice = &words[e * R + r..(e + STEP - 1) * R + r + 1];
            // SAFETY: `word_slice` starts at word e · R + r and holds the
            // words at offsets 0, R, ..., 7R (it is 7R + 1 long).
            let w = unsafe { _mm256_i32gather_epi32::<4>(word_slice.as_ptr(), word_offsets) };
            let (w_low, w_high) = widen_i8(w);
            *acc_r = _mm256_add_epi32(*acc_r, _mm256_madd_epi16(x_low, w_low));
            *acc_r = _mm256_add_epi32(*acc_r, _mm256_madd_epi16(x_high, w_high));
        }
    }
    let mut out = [0i32; R];
    for (o, acc_r) in out.iter_mut().zip(acc) {
        let mut lanes = [0i32; 8];
        // SAFETY: `lanes` holds the 8 values written.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), acc_r) };
        *o = lanes.iter().fold(0i32, |a, &v| a.wrapping_add(v));
    }
    for (e, &g) in groups.iter().enumerate().skip(full) {
        let x = x_words[g as usize].to_le_bytes();
        for (r, o) in out.iter_mut().enumerate() {
            let w = words[e * R + r].to_le_bytes();
            let dot: i32 = x
                .iter()
                .zip(w)
                .map(|(&xv, wv)| i32::from(xv) * i32::from(wv as i8))
                .sum();
            *o = o.wrapping_add(dot);
        }
    }
    out
}

/// The 32 u8 of `v` as two vectors of sixteen i16.
#[target_feature(enable = "avx2")]
fn widen_u8(v: __m256i) -> (__m256i, __m256i) {
    (
        _mm256_cvtepu8_epi16(_mm256_castsi256_si128(v)),
        _mm256_cvtepu8_epi16(_mm256_extracti128_si256::<1>(v)),
    )
}

/// The 32 i8 of `v` as two vectors of sixteen i16.
#[target_feature(enable = "avx2")]
fn widen_i8(v: __m256i) -> (__m256i, __m256i) {
    (
        _mm256_cvtepi8_epi16(_mm256_castsi256_si128(v)),
        _mm256_cvtepi8_epi16(_mm256_extracti128_si256::<1>(v)),
    )
}
