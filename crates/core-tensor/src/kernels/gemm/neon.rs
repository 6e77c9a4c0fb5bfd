//! `f32-gemm-8x12-neon`: 8 rows × 12 columns (three q registers per row,
//! 24 accumulators of the 32 registers), aarch64 Advanced SIMD. Each k step
//! loads 8 values of a packed A panel into two registers and multiplies by
//! lane (`fmla v.4s, v.4s, v.s[lane]`), so A needs no broadcasts; A read in
//! place is multiplied by scalar.

use super::blocked::{
    ATile, MAX_TILE, MicroKernel, TileFn, check_dot_contract, check_tile_contract, tile_fns,
};
use super::{GemmKernel, f32_gemm_kernel};
use crate::isa::{Isa, NeonToken};
use std::arch::aarch64::{
    float32x4_t, vaddq_f32, vaddvq_f32, vdupq_n_f32, vfmaq_f32, vfmaq_laneq_f32, vfmaq_n_f32,
    vld1q_f32, vst1q_f32,
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

    fn dot_rows(self, a: &[f32], w: &[f32], w_row_stride: usize, c: &mut [f32], overwrite: bool) {
        check_dot_contract(a, w, w_row_stride, c);
        let (k, n) = (a.len(), c.len());
        // SAFETY: `self.0` proves NEON; `check_dot_contract` proved that `w`
        // holds the n rows of k values the kernel reads.
        unsafe {
            f32_gemv_t_neon(
                k,
                a.as_ptr(),
                w.as_ptr(),
                w_row_stride,
                c.as_mut_ptr(),
                n,
                overwrite,
            )
        };
    }

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

/// `f32-gemv-t-neon`: `c[j] (+)= Σ_p a[p] · w[j·w_row_stride + p]` for
/// `j < n`, four rows of `w` at a time (they share the loads of `a`); the
/// last `k % 4` values are added one by one.
///
/// # Safety
/// The CPU has NEON; `a` points to `k` values, `c` to `n`, and `w` to
/// `(n - 1) · w_row_stride + k` values when `n > 0`.
#[target_feature(enable = "neon")]
unsafe fn f32_gemv_t_neon(
    k: usize,
    a: *const f32,
    w: *const f32,
    w_row_stride: usize,
    c: *mut f32,
    n: usize,
    overwrite: bool,
) {
    let mut j = 0;
    while j + 4 <= n {
        let rows = w.wrapping_add(j * w_row_stride);
        // SAFETY: rows j..j+4 < n and outputs j..j+4 lie in the ranges above.
        unsafe { dot_group::<4>(k, a, rows, w_row_stride, c.wrapping_add(j), overwrite) };
        j += 4;
    }
    while j < n {
        let row = w.wrapping_add(j * w_row_stride);
        // SAFETY: as above, for row j < n.
        unsafe { dot_group::<1>(k, a, row, w_row_stride, c.wrapping_add(j), overwrite) };
        j += 1;
    }
}

/// `ROWS` dot products of `a` with consecutive rows of `w`.
///
/// # Safety
/// As [`f32_gemv_t_neon`], for `ROWS` rows starting at `w` and `ROWS`
/// outputs starting at `c`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn dot_group<const ROWS: usize>(
    k: usize,
    a: *const f32,
    w: *const f32,
    w_row_stride: usize,
    c: *mut f32,
    overwrite: bool,
) {
    let mut acc = [vdupq_n_f32(0.0); ROWS];
    let body = k - k % 4;
    let mut p = 0;
    while p < body {
        // SAFETY: p + 4 <= k: inside `a`.
        let a_chunk = unsafe { vld1q_f32(a.wrapping_add(p)) };
        for (r, sum) in acc.iter_mut().enumerate() {
            // SAFETY: p + 4 <= k, r < ROWS: inside row r of `w`.
            let w_chunk = unsafe { vld1q_f32(w.wrapping_add(r * w_row_stride + p)) };
            *sum = vfmaq_f32(*sum, a_chunk, w_chunk);
        }
        p += 4;
    }
    for (r, sum) in acc.iter().enumerate() {
        let mut total = vaddvq_f32(*sum);
        for p in body..k {
            // SAFETY: p < k: inside `a`.
            let x = unsafe { *a.wrapping_add(p) };
            // SAFETY: p < k, r < ROWS: inside row r of `w`.
            let y = unsafe { *w.wrapping_add(r * w_row_stride + p) };
            total += x * y;
        }
        let out = c.wrapping_add(r);
        if overwrite {
            // SAFETY: r < ROWS: one of the outputs.
            unsafe { *out = total };
        } else {
            // SAFETY: as above.
            unsafe { *out += total };
        }
    }
}
