//! `f32-gemm-6x16-avx2`: 6 rows × 16 columns (two ymm registers per row,
//! 12 accumulators), AVX2 + FMA.

use super::blocked::{
    ATile, MAX_TILE, MicroKernel, TileFn, check_dot_contract, check_tile_contract, tile_fns,
};
use super::{GemmKernel, f32_gemm_kernel};
use crate::isa::{Avx2Token, Isa};
use std::arch::x86_64::{
    __m256, _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_movehdup_ps, _mm_movehl_ps, _mm256_add_ps,
    _mm256_castps256_ps128, _mm256_extractf128_ps, _mm256_fmadd_ps, _mm256_loadu_ps,
    _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
};

const INFO: GemmKernel = f32_gemm_kernel(Isa::Avx2);
const MR: usize = INFO.mr;
const NR: usize = INFO.nr;
const _: () =
    assert!(MR == 6 && NR == 16 && INFO.mc.is_multiple_of(MR) && INFO.nc.is_multiple_of(NR));
const _: () = assert!(MR * NR <= MAX_TILE);

/// The AVX2 micro-kernel; the token proves the CPU has AVX2 and FMA.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2Kernel(pub(crate) Avx2Token);

/// The kernel instances: `[packed A, A in place][rows - 1]`.
const TILES: [[TileFn; MR]; 2] = [
    tile_fns!(f32_gemm_6x16_avx2, true, [1 2 3 4 5 6]),
    tile_fns!(f32_gemm_6x16_avx2, false, [1 2 3 4 5 6]),
];

impl MicroKernel for Avx2Kernel {
    const MR: usize = MR;
    const NR: usize = NR;

    fn dot_rows(self, a: &[f32], w: &[f32], w_row_stride: usize, c: &mut [f32], overwrite: bool) {
        check_dot_contract(a, w, w_row_stride, c);
        let (k, n) = (a.len(), c.len());
        // SAFETY: `self.0` proves AVX2+FMA; `check_dot_contract` proved that
        // `w` holds the n rows of k values the kernel reads.
        unsafe {
            f32_gemv_t_avx2(
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
        // SAFETY: `self.0` proves AVX2+FMA; `check_tile_contract` proved that
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

/// `C[0..ROWS, 0..16] (+)= A tile · B panel`.
///
/// # Safety
/// The CPU has AVX2 and FMA; `a` points to a packed panel of `kc · 6` values (`PACKED`) or to
/// `(ROWS - 1) · a_row_stride + kc` values of A's rows; `b` to
/// `kc · 16`, and `c` to `(ROWS - 1) · c_row_stride + 16` (the
/// [`MicroKernel::tile`] contract).
#[target_feature(enable = "avx2,fma")]
unsafe fn f32_gemm_6x16_avx2<const ROWS: usize, const PACKED: bool>(
    kc: usize,
    a: *const f32,
    a_row_stride: usize,
    b: *const f32,
    c: *mut f32,
    c_row_stride: usize,
    overwrite: bool,
) {
    let mut acc = [[_mm256_setzero_ps(); 2]; ROWS];
    for p in 0..kc {
        let b_row = b.wrapping_add(p * NR);
        // SAFETY: p < kc, so values p·16 .. p·16+16 lie in the B panel.
        let b_lo = unsafe { _mm256_loadu_ps(b_row) };
        // SAFETY: as above.
        let b_hi = unsafe { _mm256_loadu_ps(b_row.wrapping_add(8)) };
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let a_index = if PACKED {
                p * MR + r
            } else {
                r * a_row_stride + p
            };
            // SAFETY: p < kc and r < ROWS: inside the A tile.
            let a_value = unsafe { *a.wrapping_add(a_index) };
            let a_bcast = _mm256_set1_ps(a_value);
            acc_row[0] = _mm256_fmadd_ps(a_bcast, b_lo, acc_row[0]);
            acc_row[1] = _mm256_fmadd_ps(a_bcast, b_hi, acc_row[1]);
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        let out = c.wrapping_add(r * c_row_stride);
        let mut sums: [__m256; 2] = *acc_row;
        if !overwrite {
            for (half, sum) in sums.iter_mut().enumerate() {
                // SAFETY: r < ROWS, half·8 + 8 <= 16: inside the C tile.
                let old = unsafe { _mm256_loadu_ps(out.wrapping_add(half * 8)) };
                *sum = _mm256_add_ps(old, *sum);
            }
        }
        for (half, sum) in sums.iter().enumerate() {
            // SAFETY: as above.
            unsafe { _mm256_storeu_ps(out.wrapping_add(half * 8), *sum) };
        }
    }
}

/// `f32-gemv-t-avx2`: `c[j] (+)= Σ_p a[p] · w[j·w_row_stride + p]` for
/// `j < n`, four rows of `w` at a time (they share the loads of `a`); the
/// last `k % 8` values are added one by one.
///
/// # Safety
/// The CPU has AVX2 and FMA; `a` points to `k` values, `c` to `n`, and `w` to
/// `(n - 1) · w_row_stride + k` values when `n > 0`.
#[target_feature(enable = "avx2,fma")]
unsafe fn f32_gemv_t_avx2(
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
/// As [`f32_gemv_t_avx2`], for `ROWS` rows starting at `w` and `ROWS`
/// outputs starting at `c`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_group<const ROWS: usize>(
    k: usize,
    a: *const f32,
    w: *const f32,
    w_row_stride: usize,
    c: *mut f32,
    overwrite: bool,
) {
    let mut acc = [_mm256_setzero_ps(); ROWS];
    let body = k - k % 8;
    let mut p = 0;
    while p < body {
        // SAFETY: p + 8 <= k: inside `a`.
        let a_chunk = unsafe { _mm256_loadu_ps(a.wrapping_add(p)) };
        for (r, sum) in acc.iter_mut().enumerate() {
            // SAFETY: p + 8 <= k, r < ROWS: inside row r of `w`.
            let w_chunk = unsafe { _mm256_loadu_ps(w.wrapping_add(r * w_row_stride + p)) };
            *sum = _mm256_fmadd_ps(a_chunk, w_chunk, *sum);
        }
        p += 8;
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

/// The sum of the 8 lanes.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn sum_lanes(v: __m256) -> f32 {
    let half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let pairs = _mm_add_ps(half, _mm_movehl_ps(half, half));
    _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehdup_ps(pairs)))
}
