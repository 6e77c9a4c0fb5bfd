//! `f32-gemm-8x12-neon`: 8 rows × 12 columns (three q registers per row,
//! 24 accumulators of the 32 registers), aarch64 Advanced SIMD. Each k step
//! loads 8 values of a packed A panel into two registers and multiplies by
//! lane (`fmla v.4s, v.4s, v.s[lane]`), so A needs no broadcasts; A read in
//! place is multiplied by scalar.

use super::blocked::{ATile, MAX_TILE, MicroKernel, TileFn, check_tile_contract, tile_fns};
use super::{GemmKernel, f32_gemm_kernel};
use crate::isa::{Isa, NeonToken};
use std::arch::aarch64::{
    float32x4_t, vaddq_f32, vdupq_n_f32, vfmaq_laneq_f32, vfmaq_n_f32, vld1q_f32, vst1q_f32,
};

const INFO: GemmKernel = f32_gemm_kernel(Isa::Neon);
const MR: usize = INFO.mr;
const NR: usize = INFO.nr;
const _: () =
    assert!(MR == 8 && NR == 12 && INFO.mc.is_multiple_of(MR) && INFO.nc.is_multiple_of(NR));
const _: () = assert!(MR * NR <= MAX_TILE);

/// The NEON micro-kernel; the token proves the CPU has Advanced SIMD.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NeonKernel(pub(crate) NeonToken);

/// The kernel instances: `[packed A, A in place][rows - 1]`.
const TILES: [[TileFn; MR]; 2] = [
    tile_fns!(f32_gemm_8x12_neon, true, [1 2 3 4 5 6 7 8]),
    tile_fns!(f32_gemm_8x12_neon, false, [1 2 3 4 5 6 7 8]),
];

impl MicroKernel for NeonKernel {
    const MR: usize = MR;
    const NR: usize = NR;

    fn tile(
        self,
        rows: usize,
        kc: usize,
        a: ATile<'_>,
        b: &[f32],
        c: &mut [f32],
        c_row_stride: usize,
        overwrite: bool,
    ) {
        let (a, a_row_stride) = check_tile_contract((MR, NR), rows, kc, a, b, c, c_row_stride);
        let tile = TILES[usize::from(a_row_stride.is_some())][rows - 1];
        // SAFETY: `self.0` proves NEON; `check_tile_contract` proved that
        // `a`, `b` and `c` hold every value the kernel touches.
        unsafe {
            tile(
                kc,
                a.as_ptr(),
                a_row_stride.unwrap_or(0),
                b.as_ptr(),
                c.as_mut_ptr(),
                c_row_stride,
                overwrite,
            )
        };
    }
}

/// `acc + b · a[lane]`; `lane` is a constant once the row loop is unrolled.
#[inline]
#[target_feature(enable = "neon")]
fn fma_by_lane(acc: float32x4_t, b: float32x4_t, a: float32x4_t, lane: usize) -> float32x4_t {
    match lane {
        0 => vfmaq_laneq_f32::<0>(acc, b, a),
        1 => vfmaq_laneq_f32::<1>(acc, b, a),
        2 => vfmaq_laneq_f32::<2>(acc, b, a),
        _ => vfmaq_laneq_f32::<3>(acc, b, a),
    }
}

/// `C[0..ROWS, 0..12] (+)= A tile · B panel`.
///
/// # Safety
/// The CPU has NEON; `a` points to a packed panel of `kc · 8` values (`PACKED`) or to
/// `(ROWS - 1) · a_row_stride + kc` values of A's rows; `b` to `kc · 12`, and
/// `c` to `(ROWS - 1) · c_row_stride + 12` (the [`MicroKernel::tile`]
/// contract).
#[target_feature(enable = "neon")]
unsafe fn f32_gemm_8x12_neon<const ROWS: usize, const PACKED: bool>(
    kc: usize,
    a: *const f32,
    a_row_stride: usize,
    b: *const f32,
    c: *mut f32,
    c_row_stride: usize,
    overwrite: bool,
) {
    let mut acc = [[vdupq_n_f32(0.0); 3]; ROWS];
    for p in 0..kc {
        let b_row = b.wrapping_add(p * NR);
        // SAFETY: p < kc, so values p·12 .. p·12+12 lie in the B panel.
        let b0 = unsafe { vld1q_f32(b_row) };
        // SAFETY: as above.
        let b1 = unsafe { vld1q_f32(b_row.wrapping_add(4)) };
        // SAFETY: as above.
        let b2 = unsafe { vld1q_f32(b_row.wrapping_add(8)) };
        if PACKED {
            let a_group = a.wrapping_add(p * MR);
            // SAFETY: p < kc, so values p·8 .. p·8+8 lie in the A panel.
            let a_lo = unsafe { vld1q_f32(a_group) };
            // SAFETY: as above.
            let a_hi = unsafe { vld1q_f32(a_group.wrapping_add(4)) };
            for (r, acc_row) in acc.iter_mut().enumerate() {
                let a_reg = if r < 4 { a_lo } else { a_hi };
                acc_row[0] = fma_by_lane(acc_row[0], b0, a_reg, r % 4);
                acc_row[1] = fma_by_lane(acc_row[1], b1, a_reg, r % 4);
                acc_row[2] = fma_by_lane(acc_row[2], b2, a_reg, r % 4);
            }
        } else {
            for (r, acc_row) in acc.iter_mut().enumerate() {
                // SAFETY: p < kc and r < ROWS: inside the A tile.
                let a_value = unsafe { *a.wrapping_add(r * a_row_stride + p) };
                acc_row[0] = vfmaq_n_f32(acc_row[0], b0, a_value);
                acc_row[1] = vfmaq_n_f32(acc_row[1], b1, a_value);
                acc_row[2] = vfmaq_n_f32(acc_row[2], b2, a_value);
            }
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        let out = c.wrapping_add(r * c_row_stride);
        let mut sums: [float32x4_t; 3] = *acc_row;
        if !overwrite {
            for (quarter, sum) in sums.iter_mut().enumerate() {
                // SAFETY: r < ROWS, quarter·4 + 4 <= 12: inside the C tile.
                let old = unsafe { vld1q_f32(out.wrapping_add(quarter * 4)) };
                *sum = vaddq_f32(old, *sum);
            }
        }
        for (quarter, sum) in sums.iter().enumerate() {
            // SAFETY: as above.
            unsafe { vst1q_f32(out.wrapping_add(quarter * 4), *sum) };
        }
    }
}
