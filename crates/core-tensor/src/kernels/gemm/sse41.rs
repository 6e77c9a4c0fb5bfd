//! `f32-gemm-6x8-sse41`: 6 rows × 8 columns (two xmm registers per row,
//! 12 accumulators of the 16 registers), SSE4.1. There is no fused
//! multiply-add at this tier: each step is a multiply and an add.

use super::blocked::{
    ATile, MAX_TILE, MicroKernel, TileFn, check_dot_contract, check_tile_contract, tile_fns,
};
use super::{GemmKernel, f32_gemm_kernel};
use crate::isa::{Isa, Sse41Token};
use std::arch::x86_64::{
    __m128, _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_loadu_ps, _mm_movehdup_ps, _mm_movehl_ps,
    _mm_mul_ps, _mm_set1_ps, _mm_setzero_ps, _mm_storeu_ps,
};

const INFO: GemmKernel = f32_gemm_kernel(Isa::Sse41);
const MR: usize = INFO.mr;
const NR: usize = INFO.nr;
const _: () =
    assert!(MR == 6 && NR == 8 && INFO.mc.is_multiple_of(MR) && INFO.nc.is_multiple_of(NR));
const _: () = assert!(MR * NR <= MAX_TILE);

/// The SSE4.1 micro-kernel; the token proves the CPU has SSE4.1.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sse41Kernel(pub(crate) Sse41Token);

/// The kernel instances: `[packed A, A in place][rows - 1]`.
const TILES: [[TileFn; MR]; 2] = [
    tile_fns!(f32_gemm_6x8_sse41, true, [1 2 3 4 5 6]),
    tile_fns!(f32_gemm_6x8_sse41, false, [1 2 3 4 5 6]),
];

impl MicroKernel for Sse41Kernel {
    const MR: usize = MR;
    const NR: usize = NR;

    fn dot_rows(self, a: &[f32], w: &[f32], w_row_stride: usize, c: &mut [f32], overwrite: bool) {
        check_dot_contract(a, w, w_row_stride, c);
        let (k, n) = (a.len(), c.len());
        // SAFETY: `self.0` proves SSE4.1; `check_dot_contract` proved that
        // `w` holds the n rows of k values the kernel reads.
        unsafe {
            f32_gemv_t_sse41(
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
        // SAFETY: `self.0` proves SSE4.1; `check_tile_contract` proved that
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

/// `C[0..ROWS, 0..8] (+)= A tile · B panel`.
///
/// # Safety
/// The CPU has SSE4.1; `a` points to a packed panel of `kc · 6` values (`PACKED`) or to
/// `(ROWS - 1) · a_row_stride + kc` values of A's rows; `b` to
/// `kc · 8`, and `c` to `(ROWS - 1) · c_row_stride + 8` (the
/// [`MicroKernel::tile`] contract).
#[target_feature(enable = "sse4.1")]
unsafe fn f32_gemm_6x8_sse41<const ROWS: usize, const PACKED: bool>(
    kc: usize,
    a: *const f32,
    a_row_stride: usize,
    b: *const f32,
    c: *mut f32,
    c_row_stride: usize,
    overwrite: bool,
) {
    let mut acc = [[_mm_setzero_ps(); 2]; ROWS];
    for p in 0..kc {
        let b_row = b.wrapping_add(p * NR);
        // SAFETY: p < kc, so values p·8 .. p·8+8 lie in the B panel.
        let b_lo = unsafe { _mm_loadu_ps(b_row) };
        // SAFETY: as above.
        let b_hi = unsafe { _mm_loadu_ps(b_row.wrapping_add(4)) };
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let a_index = if PACKED {
                p * MR + r
            } else {
                r * a_row_stride + p
            };
            // SAFETY: p < kc and r < ROWS: inside the A tile.
            let a_value = unsafe { *a.wrapping_add(a_index) };
            let a_bcast = _mm_set1_ps(a_value);
            acc_row[0] = _mm_add_ps(acc_row[0], _mm_mul_ps(a_bcast, b_lo));
            acc_row[1] = _mm_add_ps(acc_row[1], _mm_mul_ps(a_bcast, b_hi));
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        let out = c.wrapping_add(r * c_row_stride);
        let mut sums: [__m128; 2] = *acc_row;
        if !overwrite {
            for (half, sum) in sums.iter_mut().enumerate() {
                // SAFETY: r < ROWS, half·4 + 4 <= 8: inside the C tile.
                let old = unsafe { _mm_loadu_ps(out.wrapping_add(half * 4)) };
                *sum = _mm_add_ps(old, *sum);
            }
        }
        for (half, sum) in sums.iter().enumerate() {
            // SAFETY: as above.
            unsafe { _mm_storeu_ps(out.wrapping_add(half * 4), *sum) };
        }
    }
}

/// `f32-gemv-t-sse41`: `c[j] (+)= Σ_p a[p] · w[j·w_row_stride + p]` for
/// `j < n`, four rows of `w` at a time (they share the loads of `a`); the
/// last `k % 4` values are added one by one.
///
/// # Safety
/// The CPU has SSE4.1; `a` points to `k` values, `c` to `n`, and `w` to
/// `(n - 1) · w_row_stride + k` values when `n > 0`.
#[target_feature(enable = "sse4.1")]
unsafe fn f32_gemv_t_sse41(
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
/// As [`f32_gemv_t_sse41`], for `ROWS` rows starting at `w` and `ROWS`
/// outputs starting at `c`.
#[inline]
#[target_feature(enable = "sse4.1")]
unsafe fn dot_group<const ROWS: usize>(
    k: usize,
    a: *const f32,
    w: *const f32,
    w_row_stride: usize,
    c: *mut f32,
    overwrite: bool,
) {
    let mut acc = [_mm_setzero_ps(); ROWS];
    let body = k - k % 4;
    let mut p = 0;
    while p < body {
        // SAFETY: p + 4 <= k: inside `a`.
        let a_chunk = unsafe { _mm_loadu_ps(a.wrapping_add(p)) };
        for (r, sum) in acc.iter_mut().enumerate() {
            // SAFETY: p + 4 <= k, r < ROWS: inside row r of `w`.
            let w_chunk = unsafe { _mm_loadu_ps(w.wrapping_add(r * w_row_stride + p)) };
            *sum = _mm_add_ps(*sum, _mm_mul_ps(a_chunk, w_chunk));
        }
        p += 4;
    }
    for (r, sum) in acc.iter().enumerate() {
        let mut total = sum_lanes(*sum);
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

/// The sum of the 4 lanes.
#[inline]
#[target_feature(enable = "sse4.1")]
fn sum_lanes(v: __m128) -> f32 {
    let pairs = _mm_add_ps(v, _mm_movehl_ps(v, v));
    _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehdup_ps(pairs)))
}
