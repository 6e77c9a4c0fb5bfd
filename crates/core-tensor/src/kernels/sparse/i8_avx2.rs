//! `i8-sparse-avx2`: the pointwise int8 kernel on AVX2. Four pixels of
//! packed activations (16 bytes: 4 pixels × 4 channels) widen to sixteen
//! i16; the entry's weight word widens to four i16 repeated; `vpmaddwd`
//! adds the products in pairs, exactly, into eight i32 (two per pixel),
//! which are summed across the pair only when the tile is stored. No
//! `vpmaddubsw`, so no i16 saturation whatever the weights.

use super::i8_kernels::{Entries, PIXEL_TILE};
use crate::isa::Avx2Token;
use std::arch::x86_64::{
    __m256i, _mm_loadu_si128, _mm_set1_epi32, _mm256_add_epi32, _mm256_cvtepi8_epi16,
    _mm256_cvtepu8_epi16, _mm256_hadd_epi32, _mm256_madd_epi16, _mm256_permute4x64_epi64,
    _mm256_setzero_si256, _mm256_storeu_si256,
};

/// `sums (R × n_pad) = Σ_entries word[r] · packed[group]`, or `None` when
/// the CPU lacks AVX2. Panics if the operands break the
/// [`Entries::check`] contract.
pub(crate) fn block_row<const R: usize>(
    entries: Entries<'_>,
    packed: &[u8],
    n_pad: usize,
    sums: &mut [i32],
) -> Option<()> {
    let _token = Avx2Token::new()?;
    entries.check::<R>(packed, n_pad, sums);
    let (groups, words) = (entries.groups, entries.words);
    for tile in (0..n_pad).step_by(PIXEL_TILE) {
        let packed = packed.as_ptr();
        if R == 1 {
            // SAFETY: the token proves AVX2; `check` proved that every group
            // of `groups` addresses `n_pad · 4` bytes inside `packed`, that
            // `words` holds R per entry and `sums` R · n_pad values, and
            // `tile + 16 <= n_pad`.
            unsafe { tile_avx2::<R, 4>(groups, words, packed, n_pad, tile, sums) };
        } else {
            // SAFETY: as above, for pixels tile .. tile + 8.
            unsafe { tile_avx2::<R, 2>(groups, words, packed, n_pad, tile, sums) };
            // SAFETY: as above, for pixels tile + 8 .. tile + 16.
            unsafe { tile_avx2::<R, 2>(groups, words, packed, n_pad, tile + 8, sums) };
        }
    }
    Some(())
}

/// Pixels `tile .. tile + 4Q` of the R rows.
///
/// # Safety
/// The CPU must have AVX2; every group must address `n_pad · 4` bytes of
/// `packed`, `tile + 4Q <= n_pad`, `words.len() == groups.len() · R` and
/// `sums.len() == R · n_pad`.
#[target_feature(enable = "avx2")]
unsafe fn tile_avx2<const R: usize, const Q: usize>(
    groups: &[u32],
    words: &[i32],
    packed: *const u8,
    n_pad: usize,
    tile: usize,
    sums: &mut [i32],
) {
    let mut acc = [[_mm256_setzero_si256(); Q]; R];
    for (&g, word) in groups.iter().zip(words.chunks_exact(R)) {
        let base = packed.wrapping_add((g as usize * n_pad + tile) * 4);
        let mut x = [_mm256_setzero_si256(); Q];
        for (q, xq) in x.iter_mut().enumerate() {
            // SAFETY: bytes (g · n_pad + tile + 4q) · 4 .. + 16 lie inside
            // `packed` (the caller's contract).
            let bytes = unsafe { _mm_loadu_si128(base.wrapping_add(q * 16).cast()) };
            *xq = _mm256_cvtepu8_epi16(bytes);
        }
        for (acc_r, &w) in acc.iter_mut().zip(word) {
            let w = _mm256_cvtepi8_epi16(_mm_set1_epi32(w));
            for (a, &xq) in acc_r.iter_mut().zip(&x) {
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(xq, w));
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        for (h, pair) in acc_r.chunks_exact(2).enumerate() {
            let folded = fold_pairs(pair[0], pair[1]);
            let out = &mut sums[r * n_pad + tile + 8 * h..][..8];
            // SAFETY: `out` holds the 8 values written.
            unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), folded) };
        }
    }
}

/// From two vectors of pair sums (pixels 0–3 and 4–7, two lanes each) the
/// eight pixel sums in order.
#[target_feature(enable = "avx2")]
fn fold_pairs(low: __m256i, high: __m256i) -> __m256i {
    // hadd: [p0 p1 p4 p5 | p2 p3 p6 p7]; the 64-bit pairs reordered 0 2 1 3.
    _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(low, high))
}
