//! `i8-gemm-4x4-neon`: 4 rows × 4 columns for any ARMv8 CPU, depth in
//! groups of sixteen. Each pair of i8 rows is multiplied into i16 with
//! `smull`/`smull2` (a product of two i8 always fits in i16) and added
//! pairwise into i32 with `sadalp`, so no sum ever saturates. Sixteen
//! accumulator registers each hold four partial sums of one output, reduced
//! with `addp` at the end.

use super::driver::{QMicroKernel, check_tile};
use super::{MAX_TILE, NEON, QGemmKernel};
use crate::isa::NeonToken;
use std::arch::aarch64::{
    int32x4_t, vdupq_n_s8, vdupq_n_s32, vget_low_s8, vld1q_s8, vmull_high_s8, vmull_s8,
    vpadalq_s16, vpaddq_s32, vst1q_s32,
};

const MR: usize = NEON.mr;
const NR: usize = NEON.nr;
const KG: usize = NEON.kg;
const _: () = assert!(MR == 4 && NR == 4 && KG == 16);

/// The NEON kernel; the token proves the CPU has Advanced SIMD.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NeonKernel(pub(crate) NeonToken);

type TileFn = unsafe fn(usize, *const u8, *const i8, *mut i32);

const TILES: [TileFn; MR] = [
    i8_gemm_4x4_neon::<1>,
    i8_gemm_4x4_neon::<2>,
    i8_gemm_4x4_neon::<3>,
    i8_gemm_4x4_neon::<4>,
];

impl QMicroKernel for NeonKernel {
    const INFO: QGemmKernel = NEON;

    fn tile(self, rows: usize, depth: usize, a: &[u8], b: &[i8], out: &mut [i32; MAX_TILE]) {
        check_tile(&NEON, rows, depth, a, b);
        // SAFETY: `self.0` proves NEON; `check_tile` proved that `a` and `b`
        // hold the `depth / KG` groups the kernel reads, and `out` holds
        // MAX_TILE >= MR · NR values.
        unsafe { TILES[rows - 1](depth / KG, a.as_ptr(), b.as_ptr(), out.as_mut_ptr()) };
    }
}

/// # Safety
/// The CPU must have NEON; `a` must point to `groups · MR · KG` bytes (A
/// shifted to i8), `b` to `groups · NR · KG` bytes and `out` to `ROWS · NR`
/// writable values.
#[target_feature(enable = "neon")]
unsafe fn i8_gemm_4x4_neon<const ROWS: usize>(
    groups: usize,
    a: *const u8,
    b: *const i8,
    out: *mut i32,
) {
    let mut acc: [[int32x4_t; NR]; ROWS] = [[vdupq_n_s32(0); NR]; ROWS];
    for g in 0..groups {
        let mut b_cols = [vdupq_n_s8(0); NR];
        for (c, b_col) in b_cols.iter_mut().enumerate() {
            // SAFETY: column c of group g is within the panel the caller
            // guarantees.
            *b_col = unsafe { vld1q_s8(b.wrapping_add((g * NR + c) * KG)) };
        }
        for (r, acc_row) in acc.iter_mut().enumerate() {
            // SAFETY: row r < ROWS <= MR of group g is inside the A tile.
            let a_row = unsafe { vld1q_s8(a.wrapping_add((g * MR + r) * KG).cast::<i8>()) };
            for (sum, &b_col) in acc_row.iter_mut().zip(&b_cols) {
                let low = vmull_s8(vget_low_s8(a_row), vget_low_s8(b_col));
                let high = vmull_high_s8(a_row, b_col);
                *sum = vpadalq_s16(vpadalq_s16(*sum, low), high);
            }
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        let sums = vpaddq_s32(
            vpaddq_s32(acc_row[0], acc_row[1]),
            vpaddq_s32(acc_row[2], acc_row[3]),
        );
        // SAFETY: the caller guarantees ROWS · NR writable values at `out`.
        unsafe { vst1q_s32(out.wrapping_add(r * NR), sums) };
    }
}
