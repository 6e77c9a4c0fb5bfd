//! `f32-gemm-14x32-avx512`: 14 rows × 32 columns (two zmm registers per
//! row, 28 accumulators of the 32 registers), AVX-512F.

use super::blocked::{ATile, MAX_TILE, MicroKernel, TileFn, check_tile_contract, tile_fns};
use super::{GemmKernel, f32_gemm_kernel};
use crate::isa::{Avx512Token, Isa};
use std::arch::x86_64::{
    __m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps,
    _mm512_storeu_ps,
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
