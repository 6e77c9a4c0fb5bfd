//! `f32-gemm-14x32-avx512`: 14 rows × 32 columns (two zmm registers per
//! row, 28 accumulators of the 32 registers), AVX-512F.

use super::blocked::{
    ATile, MAX_TILE, MicroKernel, TileFn, check_dot_contract, check_tile_contract, tile_fns,
};
use super::{GemmKernel, f32_gemm_kernel};
use crate::isa::{Avx512Token, Isa};
use std::arch::x86_64::{
    __m512, __mmask16, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_maskz_loadu_ps,
    _mm512_reduce_add_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

const INFO: GemmKernel = f32_gemm_kernel(Isa::Avx512);
const MR: usize = INFO.mr;
const NR: usize = INFO.nr;
const _: () =
    assert!(MR == 14 && NR == 32 && INFO.mc.is_multiple_of(MR) && INFO.nc.is_multiple_of(NR));
const _: () = assert!(MR * NR <= MAX_TILE);

/// The AVX-512 micro-kernel; the token proves the CPU has AVX-512F.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512Kernel(pub(crate) Avx512Token);

/// The kernel instances: `[packed A, A in place][rows - 1]`.
const TILES: [[TileFn; MR]; 2] = [
    tile_fns!(f32_gemm_14x32_avx512, true, [1 2 3 4 5 6 7 8 9 10 11 12 13 14]),
    tile_fns!(f32_gemm_14x32_avx512, false, [1 2 3 4 5 6 7 8 9 10 11 12 13 14]),
];

impl MicroKernel for Avx512Kernel {
    const MR: usize = MR;
    const NR: usize = NR;

    fn dot_rows(self, a: &[f32], w: &[f32], w_row_stride: usize, c: &mut [f32], overwrite: bool) {
        check_dot_contract(a, w, w_row_stride, c);
        let (k, n) = (a.len(), c.len());
        // SAFETY: `self.0` proves AVX-512F; `check_dot_contract` proved that
        // `w` holds the n rows of k values the kernel reads.
        unsafe {
            f32_gemv_t_avx512(
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
        // SAFETY: `self.0` proves AVX-512F; `check_tile_contract` proved that
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

/// `C[0..ROWS, 0..32] (+)= A tile · B panel`.
///
/// # Safety
/// The CPU has AVX-512F; `a` points to a packed panel of `kc · 14` values (`PACKED`) or to
/// `(ROWS - 1) · a_row_stride + kc` values of A's rows; `b` to `kc · 32`,
/// and `c` to `(ROWS - 1) · c_row_stride + 32` (the [`MicroKernel::tile`]
/// contract).
#[target_feature(enable = "avx512f")]
unsafe fn f32_gemm_14x32_avx512<const ROWS: usize, const PACKED: bool>(
    kc: usize,
    a: *const f32,
    a_row_stride: usize,
    b: *const f32,
    c: *mut f32,
    c_row_stride: usize,
    overwrite: bool,
) {
    let mut acc = [[_mm512_setzero_ps(); 2]; ROWS];
    for p in 0..kc {
        let b_row = b.wrapping_add(p * NR);
        // SAFETY: p < kc, so values p·32 .. p·32+32 lie in the B panel.
        let b_lo = unsafe { _mm512_loadu_ps(b_row) };
        // SAFETY: as above.
        let b_hi = unsafe { _mm512_loadu_ps(b_row.wrapping_add(16)) };
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let a_index = if PACKED {
                p * MR + r
            } else {
                r * a_row_stride + p
            };
            // SAFETY: p < kc and r < ROWS: inside the A tile.
            let a_value = unsafe { *a.wrapping_add(a_index) };
            let a_bcast = _mm512_set1_ps(a_value);
            acc_row[0] = _mm512_fmadd_ps(a_bcast, b_lo, acc_row[0]);
            acc_row[1] = _mm512_fmadd_ps(a_bcast, b_hi, acc_row[1]);
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        let out = c.wrapping_add(r * c_row_stride);
        let mut sums: [__m512; 2] = *acc_row;
        if !overwrite {
            for (half, sum) in sums.iter_mut().enumerate() {
                // SAFETY: r < ROWS, half·16 + 16 <= 32: inside the C tile.
                let old = unsafe { _mm512_loadu_ps(out.wrapping_add(half * 16)) };
                *sum = _mm512_add_ps(old, *sum);
            }
        }
        for (half, sum) in sums.iter().enumerate() {
            // SAFETY: as above.
            unsafe { _mm512_storeu_ps(out.wrapping_add(half * 16), *sum) };
        }
    }
}

/// `f32-gemv-t-avx512`: `c[j] (+)= Σ_p a[p] · w[j·w_row_stride + p]` for
/// `j < n`, four rows of `w` at a time (they share the loads of `a`); the
/// last `k % 16` values are read with masked loads.
///
/// # Safety
/// The CPU has AVX-512F; `a` points to `k` values, `c` to `n`, and `w` to
/// `(n - 1) · w_row_stride + k` values when `n > 0`.
#[target_feature(enable = "avx512f")]
unsafe fn f32_gemv_t_avx512(
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
        // SAFETY: rows j..j+4 < n and outputs j..j+4 lie in the ranges above.
        unsafe {
            dot_group::<4>(
                k,
                a,
                w.wrapping_add(j * w_row_stride),
                w_row_stride,
                c.wrapping_add(j),
                overwrite,
            )
        };
        j += 4;
    }
    while j < n {
        // SAFETY: as above, for row j < n.
        unsafe {
            dot_group::<1>(
                k,
                a,
                w.wrapping_add(j * w_row_stride),
                w_row_stride,
                c.wrapping_add(j),
                overwrite,
            )
        };
        j += 1;
    }
}

/// `ROWS` dot products of `a` with consecutive rows of `w`.
///
/// # Safety
/// As [`f32_gemv_t_avx512`], for `ROWS` rows starting at `w` and `ROWS`
/// outputs starting at `c`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn dot_group<const ROWS: usize>(
    k: usize,
    a: *const f32,
    w: *const f32,
    w_row_stride: usize,
    c: *mut f32,
    overwrite: bool,
) {
    let mut acc = [_mm512_setzero_ps(); ROWS];
    let body = k - k % 16;
    let mut p = 0;
    while p < body {
        // SAFETY: p + 16 <= k: inside `a`.
        let a_chunk = unsafe { _mm512_loadu_ps(a.wrapping_add(p)) };
        for (r, sum) in acc.iter_mut().enumerate() {
            // SAFETY: p + 16 <= k, r < ROWS: inside row r of `w`.
            let w_chunk = unsafe { _mm512_loadu_ps(w.wrapping_add(r * w_row_stride + p)) };
            *sum = _mm512_fmadd_ps(a_chunk, w_chunk, *sum);
        }
        p += 16;
    }
    if body < k {
        let mask: __mmask16 = (1u16 << (k - body)) - 1;
        // SAFETY: the mask enables only the k - body values left in `a`;
        // masked-off lanes are not accessed.
        let a_chunk = unsafe { _mm512_maskz_loadu_ps(mask, a.wrapping_add(body)) };
        for (r, sum) in acc.iter_mut().enumerate() {
            // SAFETY: as above, in row r of `w`.
            let w_chunk =
                unsafe { _mm512_maskz_loadu_ps(mask, w.wrapping_add(r * w_row_stride + body)) };
            *sum = _mm512_fmadd_ps(a_chunk, w_chunk, *sum);
        }
    }
    for (r, sum) in acc.iter().enumerate() {
        let total = _mm512_reduce_add_ps(*sum);
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
