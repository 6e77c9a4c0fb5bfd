//! `i8-gemm-8x8-dotprod`: 8 rows × 8 columns, depth in groups of four, with
//! the ARMv8.2 `sdot` by-element instruction: one register holds four
//! columns × four depth steps of weights, another four rows × four steps of
//! activations, and `sdot v.4s, b.16b, a.4b[row]` adds four exact products
//! into each of the four column lanes. Sixteen `sdot` per group.
//!
//! Stable Rust has no `sdot` intrinsic, so the instruction is written with
//! `asm!` inside a function compiled for the `dotprod` feature, which is
//! only called after run-time detection.

use super::driver::{QMicroKernel, check_tile};
use super::{MAX_TILE, NEON_DOT, QGemmKernel};
use crate::features::Feature;
use std::arch::aarch64::{int8x16_t, int32x4_t, vdupq_n_s32, vld1q_s8, vst1q_s32};
use std::arch::asm;

const MR: usize = NEON_DOT.mr;
const NR: usize = NEON_DOT.nr;
const KG: usize = NEON_DOT.kg;
const _: () = assert!(MR == 8 && NR == 8 && KG == 4);

/// The dotprod kernel; only [`DotProdKernel::new`] makes one, after
/// checking the CPU.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DotProdKernel(());

impl DotProdKernel {
    /// The kernel, if this CPU has the dot-product instructions.
    pub(crate) fn new() -> Option<Self> {
        Feature::DotProd.is_available().then_some(DotProdKernel(()))
    }
}

type TileFn = unsafe fn(usize, *const u8, *const i8, *mut i32);

const TILES: [TileFn; MR] = [
    i8_gemm_8x8_dotprod::<1>,
    i8_gemm_8x8_dotprod::<2>,
    i8_gemm_8x8_dotprod::<3>,
    i8_gemm_8x8_dotprod::<4>,
    i8_gemm_8x8_dotprod::<5>,
    i8_gemm_8x8_dotprod::<6>,
    i8_gemm_8x8_dotprod::<7>,
    i8_gemm_8x8_dotprod::<8>,
];

impl QMicroKernel for DotProdKernel {
    const INFO: QGemmKernel = NEON_DOT;

    fn tile(self, rows: usize, depth: usize, a: &[u8], b: &[i8], out: &mut [i32; MAX_TILE]) {
        check_tile(&NEON_DOT, rows, depth, a, b);
        // SAFETY: `self` exists only when the CPU has dotprod; `check_tile`
        // proved that `a` and `b` hold the `depth / KG` groups the kernel
        // reads, and `out` holds MAX_TILE >= MR · NR values.
        unsafe { TILES[rows - 1](depth / KG, a.as_ptr(), b.as_ptr(), out.as_mut_ptr()) };
    }
}

/// `acc[i] += Σ_j b[4i + j] · a[4 · LANE + j]` (`sdot` by element).
#[inline(always)]
fn sdot_lane<const LANE: i32>(acc: int32x4_t, b: int8x16_t, a: int8x16_t) -> int32x4_t {
    let mut acc = acc;
    // SAFETY: pure register arithmetic; only reached from functions compiled
    // with the `dotprod` feature and called after detecting it.
    unsafe {
        asm!(
            "sdot {acc:v}.4s, {b:v}.16b, {a:v}.4b[{lane}]",
            acc = inout(vreg) acc,
            b = in(vreg) b,
            a = in(vreg) a,
            lane = const LANE,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

/// `sdot_lane` with the lane chosen at run time (the match folds away once
/// the row loop is unrolled).
#[inline(always)]
fn sdot_row(acc: int32x4_t, b: int8x16_t, a: int8x16_t, lane: usize) -> int32x4_t {
    match lane {
        0 => sdot_lane::<0>(acc, b, a),
        1 => sdot_lane::<1>(acc, b, a),
        2 => sdot_lane::<2>(acc, b, a),
        _ => sdot_lane::<3>(acc, b, a),
    }
}

/// # Safety
/// The CPU must have NEON and dotprod; `a` must point to `groups · MR · KG`
/// bytes (A shifted to i8), `b` to `groups · NR · KG` bytes and `out` to
/// `ROWS · NR` writable values.
#[target_feature(enable = "neon,dotprod")]
unsafe fn i8_gemm_8x8_dotprod<const ROWS: usize>(
    groups: usize,
    a: *const u8,
    b: *const i8,
    out: *mut i32,
) {
    let mut acc: [[int32x4_t; 2]; ROWS] = [[vdupq_n_s32(0); 2]; ROWS];
    for g in 0..groups {
        let panel = b.wrapping_add(g * NR * KG);
        let tile = a.wrapping_add(g * MR * KG).cast::<i8>();
        // SAFETY: group g of the panel (32 bytes) and of the tile (32 bytes,
        // MR = 8 rows of 4) are within the bytes the caller guarantees.
        let b_lo = unsafe { vld1q_s8(panel) };
        // SAFETY: as above.
        let b_hi = unsafe { vld1q_s8(panel.wrapping_add(16)) };
        // SAFETY: as above.
        let a_lo = unsafe { vld1q_s8(tile) };
        // SAFETY: as above.
        let a_hi = unsafe { vld1q_s8(tile.wrapping_add(16)) };
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let a_rows = if r < 4 { a_lo } else { a_hi };
            acc_row[0] = sdot_row(acc_row[0], b_lo, a_rows, r % 4);
            acc_row[1] = sdot_row(acc_row[1], b_hi, a_rows, r % 4);
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        let row = out.wrapping_add(r * NR);
        // SAFETY: the caller guarantees ROWS · NR writable values at `out`.
        unsafe { vst1q_s32(row, acc_row[0]) };
        // SAFETY: as above.
        unsafe { vst1q_s32(row.wrapping_add(4), acc_row[1]) };
    }
}
