//! `f32-gemm-8x12-neon`: 8 rows × 12 columns (three q registers per row,
//! 24 accumulators of the 32 registers), aarch64 Advanced SIMD. Each k step
//! loads 8 values of A into two registers and multiplies by lane
//! (`fmla v.4s, v.4s, v.s[lane]`), so A needs no broadcasts.

use super::blocked::{MAX_TILE, MicroKernel, check_tile_contract};
use super::{GemmKernel, f32_gemm_kernel};
use crate::isa::{Isa, NeonToken};
use std::arch::aarch64::{
    float32x4_t, vaddq_f32, vdupq_n_f32, vfmaq_laneq_f32, vld1q_f32, vst1q_f32,
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

type TileFn = unsafe fn(usize, *const f32, *const f32, *mut f32, usize, bool);

/// The kernel instance for each row count 1..=MR (index `rows - 1`).
const TILES: [TileFn; MR] = [
    f32_gemm_8x12_neon::<1>,
    f32_gemm_8x12_neon::<2>,
    f32_gemm_8x12_neon::<3>,
    f32_gemm_8x12_neon::<4>,
    f32_gemm_8x12_neon::<5>,
    f32_gemm_8x12_neon::<6>,
    f32_gemm_8x12_neon::<7>,
    f32_gemm_8x12_neon::<8>,
];

impl MicroKernel for NeonKernel {
    const MR: usize = MR;
    const NR: usize = NR;

    fn tile(
        self,
        rows: usize,
        kc: usize,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
        c_row_stride: usize,
        overwrite: bool,
    ) {
        check_tile_contract((MR, NR), rows, kc, a, b, c, c_row_stride);
        let tile = TILES[rows - 1];
        // SAFETY: `self.0` proves NEON; `check_tile_contract` proved that
        // `a`, `b` and `c` hold every value the kernel touches.
        unsafe {
            tile(
                kc,
                a.as_ptr(),
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

/// `C[0..ROWS, 0..12] (+)= A panel · B panel`.
///
/// # Safety
/// The CPU has NEON; `a` points to `kc · 8` values, `b` to `kc · 12`, and
/// `c` to `(ROWS - 1) · c_row_stride + 12` (the [`MicroKernel::tile`]
/// contract).
#[target_feature(enable = "neon")]
unsafe fn f32_gemm_8x12_neon<const ROWS: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    c_row_stride: usize,
    overwrite: bool,
) {
    let mut acc = [[vdupq_n_f32(0.0); 3]; ROWS];
    for p in 0..kc {
        let a_group = a.wrapping_add(p * MR);
        // SAFETY: p < kc, so values p·8 .. p·8+8 lie in the A panel.
        let a_lo = unsafe { vld1q_f32(a_group) };
        // SAFETY: as above.
        let a_hi = unsafe { vld1q_f32(a_group.wrapping_add(4)) };
        let b_row = b.wrapping_add(p * NR);
        // SAFETY: p < kc, so values p·12 .. p·12+12 lie in the B panel.
        let b0 = unsafe { vld1q_f32(b_row) };
        // SAFETY: as above.
        let b1 = unsafe { vld1q_f32(b_row.wrapping_add(4)) };
        // SAFETY: as above.
        let b2 = unsafe { vld1q_f32(b_row.wrapping_add(8)) };
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let a_reg = if r < 4 { a_lo } else { a_hi };
            acc_row[0] = fma_by_lane(acc_row[0], b0, a_reg, r % 4);
            acc_row[1] = fma_by_lane(acc_row[1], b1, a_reg, r % 4);
            acc_row[2] = fma_by_lane(acc_row[2], b2, a_reg, r % 4);
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
