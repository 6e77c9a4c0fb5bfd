//! `i8-sparse-avx512vnni`: the pointwise int8 kernel on AVX-512 VNNI. One
//! zmm load of packed activations is 16 pixels × 4 channels; one
//! `vpdpbusd` with the entry's weight word broadcast adds the four exact
//! u8 × i8 products of each pixel into its i32 lane. A 4×1 entry reuses
//! the load for four rows.

use super::i8_kernels::{Entries, PIXEL_TILE};
use crate::features::Feature;
use std::arch::x86_64::{
    _mm512_dpbusd_epi32, _mm512_loadu_si512, _mm512_set1_epi32, _mm512_setzero_si512,
    _mm512_storeu_si512,
};

/// `sums (R × n_pad) = Σ_entries word[r] · packed[group]`, or `None` when
/// the CPU lacks AVX-512 VNNI. Panics if the operands break the
/// [`Entries::check`] contract.
pub(crate) fn block_row<const R: usize>(
    entries: Entries<'_>,
    packed: &[u8],
    n_pad: usize,
    sums: &mut [i32],
) -> Option<()> {
    if !Feature::Avx512Vnni.is_available() {
        return None;
    }
    entries.check::<R>(packed, n_pad, sums);
    let (groups, words) = (entries.groups, entries.words);
    // Register tiles of T · 16 pixels: 4 accumulators for one row, 8 for four.
    const WIDE: usize = 4;
    let mut tile = 0;
    while tile < n_pad {
        let wide = if R == 1 { WIDE } else { 2 };
        let packed = packed.as_ptr();
        // SAFETY (all three calls): the CPU has AVX-512 VNNI (checked
        // above); `check` proved that every group addresses `n_pad · 4`
        // bytes inside `packed`, that `words` holds R per entry and `sums`
        // R · n_pad values; each branch keeps its tile below `n_pad` (a
        // multiple of 16).
        if tile + wide * PIXEL_TILE <= n_pad && R == 1 {
            // SAFETY: see above.
            unsafe { tile_vnni::<R, WIDE>(groups, words, packed, n_pad, tile, sums) };
            tile += wide * PIXEL_TILE;
        } else if tile + wide * PIXEL_TILE <= n_pad {
            // SAFETY: see above.
            unsafe { tile_vnni::<R, 2>(groups, words, packed, n_pad, tile, sums) };
            tile += wide * PIXEL_TILE;
        } else {
            // SAFETY: see above.
            unsafe { tile_vnni::<R, 1>(groups, words, packed, n_pad, tile, sums) };
            tile += PIXEL_TILE;
        }
    }
    Some(())
}

/// Pixels `tile .. tile + 16T` of the R rows.
///
/// # Safety
/// The CPU must have AVX-512F and VNNI; every group must address
/// `n_pad · 4` bytes of `packed`, `tile + 16T <= n_pad`,
/// `words.len() == groups.len() · R` and `sums.len() == R · n_pad`.
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn tile_vnni<const R: usize, const T: usize>(
    groups: &[u32],
    words: &[i32],
    packed: *const u8,
    n_pad: usize,
    tile: usize,
    sums: &mut [i32],
) {
    let mut acc = [[_mm512_setzero_si512(); T]; R];
    for (&g, word) in groups.iter().zip(words.chunks_exact(R)) {
        let base = packed.wrapping_add((g as usize * n_pad + tile) * 4);
        let mut x = [_mm512_setzero_si512(); T];
        for (t, xt) in x.iter_mut().enumerate() {
            // SAFETY: bytes (g · n_pad + tile + 16t) · 4 .. + 64 lie inside
            // `packed` (the caller's contract).
            *xt = unsafe { _mm512_loadu_si512(base.wrapping_add(t * 64).cast()) };
        }
        for (acc_r, &w) in acc.iter_mut().zip(word) {
            let w = _mm512_set1_epi32(w);
            for (a, &xt) in acc_r.iter_mut().zip(&x) {
                *a = _mm512_dpbusd_epi32(*a, xt, w);
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        for (t, &a) in acc_r.iter().enumerate() {
            let out = &mut sums[r * n_pad + tile + 16 * t..][..16];
            // SAFETY: `out` holds the 16 values written.
            unsafe { _mm512_storeu_si512(out.as_mut_ptr().cast(), a) };
        }
    }
}
