//! `i8-gemm-8x8-i8mm`: 8 rows × 8 columns, depth in groups of eight, with
//! the ARMv8.6 `smmla` instruction: it multiplies a 2×8 block of
//! activations by an 8×2 block of weights into a 2×2 block of i32 sums
//! (sixteen exact products per lane). Per group: four A and four B
//! registers, sixteen `smmla`; the 2×2 blocks are unzipped into rows when
//! stored.
//!
//! Stable Rust has no `smmla` intrinsic, so the instruction is written with
//! `asm!` inside a function compiled for the `i8mm` feature, which is only
//! called after run-time detection.

use super::driver::{QMicroKernel, check_tile};
use super::{MAX_TILE, NEON_I8MM, QGemmKernel};
use crate::features::Feature;
use std::arch::aarch64::{
    int8x16_t, int32x4_t, vdupq_n_s8, vdupq_n_s32, vld1q_s8, vreinterpretq_s32_s64,
    vreinterpretq_s64_s32, vst1q_s32, vzip1q_s64, vzip2q_s64,
};
use std::arch::asm;

const MR: usize = NEON_I8MM.mr;
const NR: usize = NEON_I8MM.nr;
const KG: usize = NEON_I8MM.kg;
const _: () = assert!(MR == 8 && NR == 8 && KG == 8);
/// Row pairs and column pairs of the tile.
const PAIRS: usize = 4;

/// The i8mm kernel; only [`I8mmKernel::new`] makes one, after checking the
/// CPU.
#[derive(Clone, Copy, Debug)]
pub(crate) struct I8mmKernel(());

impl I8mmKernel {
    /// The kernel, if this CPU has the int8 matrix-multiply instructions.
    pub(crate) fn new() -> Option<Self> {
        Feature::I8mm.is_available().then_some(I8mmKernel(()))
    }
}

type TileFn = unsafe fn(usize, usize, *const u8, *const i8, *mut i32);

/// By row pairs: `[1, 2, 3, 4]` pairs computed.
const TILES: [TileFn; PAIRS] = [
    i8_gemm_8x8_i8mm::<1>,
    i8_gemm_8x8_i8mm::<2>,
    i8_gemm_8x8_i8mm::<3>,
    i8_gemm_8x8_i8mm::<4>,
];

impl QMicroKernel for I8mmKernel {
    const INFO: QGemmKernel = NEON_I8MM;

    fn tile(self, rows: usize, depth: usize, a: &[u8], b: &[i8], out: &mut [i32; MAX_TILE]) {
        check_tile(&NEON_I8MM, rows, depth, a, b);
        // SAFETY: `self` exists only when the CPU has i8mm; `check_tile`
        // proved that `a` and `b` hold the `depth / KG` groups the kernel
        // reads, and `out` holds MAX_TILE >= MR · NR values.
        unsafe {
            TILES[(rows - 1) / 2](rows, depth / KG, a.as_ptr(), b.as_ptr(), out.as_mut_ptr())
        };
    }
}

/// `acc += [a0·b0, a0·b1, a1·b0, a1·b1]` for the 8-byte halves a0, a1 of
/// `a` and b0, b1 of `b` (`smmla`).
#[inline(always)]
fn smmla(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    let mut acc = acc;
    // SAFETY: pure register arithmetic; only reached from functions compiled
    // with the `i8mm` feature and called after detecting it.
    unsafe {
        asm!(
            "smmla {acc:v}.4s, {a:v}.16b, {b:v}.16b",
            acc = inout(vreg) acc,
            a = in(vreg) a,
            b = in(vreg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

/// # Safety
/// The CPU must have NEON and i8mm; `rows <= 2 · ROW_PAIRS`; `a` must point
/// to `groups · MR · KG` bytes (A shifted to i8), `b` to `groups · NR · KG`
/// bytes and `out` to `rows · NR` writable values.
#[target_feature(enable = "neon,i8mm")]
unsafe fn i8_gemm_8x8_i8mm<const ROW_PAIRS: usize>(
    rows: usize,
    groups: usize,
    a: *const u8,
    b: *const i8,
    out: *mut i32,
) {
    let mut acc: [[int32x4_t; PAIRS]; ROW_PAIRS] = [[vdupq_n_s32(0); PAIRS]; ROW_PAIRS];
    for g in 0..groups {
        let mut b_pairs = [vdupq_n_s8(0); PAIRS];
        for (q, b_pair) in b_pairs.iter_mut().enumerate() {
            // SAFETY: column pair q of group g is within the panel.
            *b_pair = unsafe { vld1q_s8(b.wrapping_add(g * NR * KG + q * 16)) };
        }
        for (p, acc_pair) in acc.iter_mut().enumerate() {
            // SAFETY: row pair p < ROW_PAIRS <= 4 of group g is inside the tile.
            let a_pair = unsafe { vld1q_s8(a.wrapping_add(g * MR * KG + p * 16).cast::<i8>()) };
            for (sum, &b_pair) in acc_pair.iter_mut().zip(&b_pairs) {
                *sum = smmla(*sum, a_pair, b_pair);
            }
        }
    }
    for (p, acc_pair) in acc.iter().enumerate() {
        for half in 0..2 {
            let c0 = vreinterpretq_s64_s32(acc_pair[2 * half]);
            let c1 = vreinterpretq_s64_s32(acc_pair[2 * half + 1]);
            let upper = vreinterpretq_s32_s64(vzip1q_s64(c0, c1));
            let lower = vreinterpretq_s32_s64(vzip2q_s64(c0, c1));
            let row = out.wrapping_add(2 * p * NR + 4 * half);
            // SAFETY: row 2p is among the `rows` rows the caller guarantees
            // at `out` (2p < rows since p < ROW_PAIRS = ceil(rows / 2)).
            unsafe { vst1q_s32(row, upper) };
            if 2 * p + 1 < rows {
                // SAFETY: row 2p + 1 < rows, as above.
                unsafe { vst1q_s32(row.wrapping_add(NR), lower) };
            }
        }
    }
}
