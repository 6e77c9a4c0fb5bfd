//! The linear int8 product (`sparse_linear_u8i8`) on AVX2, for the AVX2
//! and AVX-512 kernels: one activation row at a time, over the grouped
//! form of [`SparseI8Matrix`](super::SparseI8Matrix). The row is read as
//! 32-bit words of four u8 activations (columns `4g .. 4g + 4`, zero
//! padded). Single-row blocks (CSR, 1×4): eight entries at a time,
//! `vpgatherdd` fetches the words of their groups; 4×1 blocks: each
//! entry's activation word, repeated, meets its four weight words (one per
//! row) in one vector. Activations and weights widen to i16 so that
//! `vpmaddwd` adds the products in pairs exactly (no `vpmaddubsw`, no i16
//! saturation). Every partial sum is a sub-sum of an output that
//! fits in i32 (the depth is at most `MAX_DEPTH`), so nothing overflows.

use super::i8_matrix::Grouped;
use crate::isa::Avx2Token;
use std::arch::x86_64::{
    __m256i, _mm_loadu_si128, _mm_set1_epi32, _mm256_add_epi32, _mm256_castsi256_si128,
    _mm256_cvtepi8_epi16, _mm256_cvtepu8_epi16, _mm256_extracti128_si256, _mm256_i32gather_epi32,
    _mm256_loadu_si256, _mm256_madd_epi16, _mm256_setzero_si256, _mm256_storeu_si256,
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
            let row_sums = unsafe { rows4_avx2(groups, words, x_words) };
            for (r, s) in row_sums.into_iter().enumerate() {
                if let Some(out) = sums.get_mut(b * 4 + r) {
                    *out = s;
                }
            }
        } else if let Some(out) = sums.get_mut(b) {
            // SAFETY: as above, with 1 word per group.
            *out = unsafe { row_avx2(groups, words, x_words) };
        }
    }
    Some(())
}

/// The sum of one single-row block row (CSR, 1×4): eight entries at a
/// time, their activation words gathered.
///
/// # Safety
/// The CPU must have AVX2; every group must be below `x_words.len()` and
/// `words.len() == groups.len()`.
#[target_feature(enable = "avx2")]
unsafe fn row_avx2(groups: &[u32], words: &[i32], x_words: &[i32]) -> i32 {
    let mut acc = _mm256_setzero_si256();
    let full = groups.len() / STEP * STEP;
    for e in (0..full).step_by(STEP) {
        let (group_slice, word_slice) = (&groups[e..e + STEP], &words[e..e + STEP]);
        // SAFETY: `group_slice` holds 8 u32 (32 bytes).
        let offsets = unsafe { _mm256_loadu_si256(group_slice.as_ptr().cast()) };
        // SAFETY: the groups are below `x_words.len()` <= i32::MAX, so they
        // read as non-negative i32 offsets inside `x_words` (the caller's
        // contract).
        let x = unsafe { _mm256_i32gather_epi32::<4>(x_words.as_ptr(), offsets) };
        // SAFETY: `word_slice` holds 8 words (32 bytes).
        let w = unsafe { _mm256_loadu_si256(word_slice.as_ptr().cast()) };
        let (x_low, x_high) = widen_u8(x);
        let (w_low, w_high) = widen_i8(w);
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x_low, w_low));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x_high, w_high));
    }
    let lanes = lanes_of(acc);
    let mut sum = lanes.iter().fold(0i32, |a, &v| a.wrapping_add(v));
    for (&g, &w) in groups.iter().zip(words).skip(full) {
        sum = sum.wrapping_add(dot4(x_words[g as usize], w));
    }
    sum
}

/// The four sums of one 4×1 block row: per entry, the activation word
/// repeated four times against the entry's four weight words (one per row,
/// 16 contiguous bytes), so the pair sums of row `r` land in lanes `2r`
/// and `2r + 1`. No gather.
///
/// # Safety
/// The CPU must have AVX2; every group must be below `x_words.len()` and
/// `words.len() == groups.len() · 4`.
#[target_feature(enable = "avx2")]
unsafe fn rows4_avx2(groups: &[u32], words: &[i32], x_words: &[i32]) -> [i32; 4] {
    let mut acc = [_mm256_setzero_si256(); 2];
    for (e, (&g, quad)) in groups.iter().zip(words.chunks_exact(4)).enumerate() {
        let x = _mm256_cvtepu8_epi16(_mm_set1_epi32(x_words[g as usize]));
        // SAFETY: `quad` holds 4 words (16 bytes).
        let w = _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(quad.as_ptr().cast()) });
        // Two accumulators so that consecutive entries do not wait on
        // each other's addition.
        acc[e % 2] = _mm256_add_epi32(acc[e % 2], _mm256_madd_epi16(x, w));
    }
    let lanes = lanes_of(_mm256_add_epi32(acc[0], acc[1]));
    std::array::from_fn(|r| lanes[2 * r].wrapping_add(lanes[2 * r + 1]))
}

/// The eight i32 lanes of `v`.
#[target_feature(enable = "avx2")]
fn lanes_of(v: __m256i) -> [i32; 8] {
    let mut lanes = [0i32; 8];
    // SAFETY: `lanes` holds the 8 values written.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), v) };
    lanes
}

/// `Σ_q x[q] · w[q]` over the four u8 activations and i8 weights of two
/// words.
fn dot4(x: i32, w: i32) -> i32 {
    x.to_le_bytes()
        .iter()
        .zip(w.to_le_bytes())
        .map(|(&xv, wv)| i32::from(xv) * i32::from(wv as i8))
        .sum()
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
