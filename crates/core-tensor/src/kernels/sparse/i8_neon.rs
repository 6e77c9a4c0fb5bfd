//! `i8-sparse-neon` and `i8-sparse-dotprod`: the pointwise int8 kernels on
//! aarch64. The packed activations are shifted to i8 (`x - 128`); one
//! 16-byte load is 4 pixels × 4 channels and the entry's weight word is
//! repeated over the four pixels.
//!
//! * neon: `smull`/`smull2` give the eight exact i16 products of two pixels
//!   each, `sadalp` adds them in pairs into i32; the pairs are folded when
//!   the tile is stored.
//! * dotprod: one `sdot` adds each pixel's four products into its lane.
//!   Stable Rust has no intrinsic for it, so it is written with `asm!` in a
//!   function compiled for the feature and only called after run-time
//!   detection.

use super::i8_kernels::{Entries, PIXEL_TILE};
use crate::features::Feature;
use crate::isa::NeonToken;
use std::arch::aarch64::{
    int8x16_t, int32x4_t, vdupq_n_s32, vget_low_s8, vld1q_s8, vmull_high_s8, vmull_s8, vpadalq_s16,
    vpaddq_s32, vreinterpretq_s8_s32, vst1q_s32,
};
use std::arch::asm;

/// `sums (R × n_pad) = Σ_entries word[r] · packed[group]` with smull +
/// sadalp, or `None` when the CPU lacks NEON. Panics if the operands break
/// the [`Entries::check`] contract.
pub(crate) fn block_row<const R: usize>(
    entries: Entries<'_>,
    packed: &[u8],
    n_pad: usize,
    sums: &mut [i32],
) -> Option<()> {
    let _token = NeonToken::new()?;
    entries.check::<R>(packed, n_pad, sums);
    for tile in (0..n_pad).step_by(PIXEL_TILE) {
        // SAFETY: the token proves NEON; `check` proved that every group
        // addresses `n_pad · 4` bytes inside `packed`, that `words` holds R
        // per entry and `sums` R · n_pad values; `tile + 16 <= n_pad`.
        unsafe { tile_neon::<R>(entries, packed.as_ptr(), n_pad, tile, sums) };
    }
    Some(())
}

/// Like [`block_row`] with `sdot`, or `None` without the dotprod feature.
pub(crate) fn block_row_dot<const R: usize>(
    entries: Entries<'_>,
    packed: &[u8],
    n_pad: usize,
    sums: &mut [i32],
) -> Option<()> {
    if !Feature::DotProd.is_available() {
        return None;
    }
    entries.check::<R>(packed, n_pad, sums);
    for tile in (0..n_pad).step_by(PIXEL_TILE) {
        // SAFETY: the CPU has NEON and dotprod (checked above); the operands
        // as in `block_row`.
        unsafe { tile_dot::<R>(entries, packed.as_ptr(), n_pad, tile, sums) };
    }
    Some(())
}

/// The four quads of 4 pixels of the tile at `tile`, for group `g`.
///
/// # Safety
/// Bytes `(g · n_pad + tile) · 4 .. + 64` must lie inside `packed`.
#[inline(always)]
unsafe fn load_tile(packed: *const u8, g: u32, n_pad: usize, tile: usize) -> [int8x16_t; 4] {
    let base = packed
        .wrapping_add((g as usize * n_pad + tile) * 4)
        .cast::<i8>();
    std::array::from_fn(|quad| {
        // SAFETY: the 64 bytes read, 16 per quad, are inside `packed` (the
        // caller's contract).
        unsafe { vld1q_s8(base.wrapping_add(16 * quad)) }
    })
}

/// Pixels `tile .. tile + 16` of the R rows (smull + sadalp).
///
/// # Safety
/// The CPU must have NEON; the operands must satisfy [`Entries::check`]
/// and `tile + 16 <= n_pad`.
#[target_feature(enable = "neon")]
unsafe fn tile_neon<const R: usize>(
    entries: Entries<'_>,
    packed: *const u8,
    n_pad: usize,
    tile: usize,
    sums: &mut [i32],
) {
    // acc[r][2q + h]: pixels 4q + 2h, 4q + 2h + 1, two pair sums each.
    let mut acc = [[vdupq_n_s32(0); 8]; R];
    for (&g, word) in entries.groups.iter().zip(entries.words.chunks_exact(R)) {
        // SAFETY: group g is inside `packed` and the tile below n_pad.
        let x = unsafe { load_tile(packed, g, n_pad, tile) };
        for (acc_r, &w) in acc.iter_mut().zip(word) {
            let w = vreinterpretq_s8_s32(vdupq_n_s32(w));
            for (q, &xq) in x.iter().enumerate() {
                let low = vmull_s8(vget_low_s8(xq), vget_low_s8(w));
                let high = vmull_high_s8(xq, w);
                acc_r[2 * q] = vpadalq_s16(acc_r[2 * q], low);
                acc_r[2 * q + 1] = vpadalq_s16(acc_r[2 * q + 1], high);
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        for q in 0..4 {
            let folded = vpaddq_s32(acc_r[2 * q], acc_r[2 * q + 1]);
            let out = &mut sums[r * n_pad + tile + 4 * q..][..4];
            // SAFETY: `out` holds the 4 values written.
            unsafe { vst1q_s32(out.as_mut_ptr(), folded) };
        }
    }
}

/// `acc[i] += Σ_j x[4i + j] · w[4i + j]` (`sdot`, vector form).
#[inline(always)]
pub(crate) fn sdot(acc: int32x4_t, x: int8x16_t, w: int8x16_t) -> int32x4_t {
    let mut acc = acc;
    // SAFETY: pure register arithmetic; only reached from functions compiled
    // with the `dotprod` feature and called after detecting it.
    unsafe {
        asm!(
            "sdot {acc:v}.4s, {x:v}.16b, {w:v}.16b",
            acc = inout(vreg) acc,
            x = in(vreg) x,
            w = in(vreg) w,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

/// Pixels `tile .. tile + 16` of the R rows (sdot).
///
/// # Safety
/// The CPU must have NEON and dotprod; the operands must satisfy
/// [`Entries::check`] and `tile + 16 <= n_pad`.
#[target_feature(enable = "neon,dotprod")]
unsafe fn tile_dot<const R: usize>(
    entries: Entries<'_>,
    packed: *const u8,
    n_pad: usize,
    tile: usize,
    sums: &mut [i32],
) {
    let mut acc = [[vdupq_n_s32(0); 4]; R];
    for (&g, word) in entries.groups.iter().zip(entries.words.chunks_exact(R)) {
        // SAFETY: group g is inside `packed` and the tile below n_pad.
        let x = unsafe { load_tile(packed, g, n_pad, tile) };
        for (acc_r, &w) in acc.iter_mut().zip(word) {
            let w = vreinterpretq_s8_s32(vdupq_n_s32(w));
            for (a, &xq) in acc_r.iter_mut().zip(&x) {
                *a = sdot(*a, xq, w);
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        for (q, &a) in acc_r.iter().enumerate() {
            let out = &mut sums[r * n_pad + tile + 4 * q..][..4];
            // SAFETY: `out` holds the 4 values written.
            unsafe { vst1q_s32(out.as_mut_ptr(), a) };
        }
    }
}
