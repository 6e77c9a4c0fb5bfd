//! `i8-gemm-6x16-avx2`: 6 rows × 16 columns, depth in pairs.
//!
//! `vpmaddubsw` (u8 × i8 pairs into i16) saturates when both products of a
//! pair are large (255 · 127 · 2 > 32767), which silently corrupts real
//! activations. This kernel instead widens both operands to i16 and uses
//! `vpmaddwd`, whose pair sums land in i32 and are always exact: per pair of
//! depth steps, two sign extensions of 32 weight bytes and twelve
//! multiply-adds.

use super::driver::{QMicroKernel, check_tile};
use super::{AVX2, MAX_TILE, QGemmKernel};
use crate::isa::Avx2Token;
use std::arch::x86_64::{
    __m128i, __m256i, _mm_loadu_si128, _mm256_add_epi32, _mm256_cvtepi8_epi16, _mm256_madd_epi16,
    _mm256_set1_epi32, _mm256_setzero_si256, _mm256_storeu_si256,
};

const MR: usize = AVX2.mr;
const NR: usize = AVX2.nr;
const KG: usize = AVX2.kg;
const _: () = assert!(MR == 6 && NR == 16 && KG == 2);

/// The AVX2 kernel; the token proves the CPU has AVX2.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2Kernel(pub(crate) Avx2Token);

type TileFn = unsafe fn(usize, *const u8, *const i8, *mut i32);

const TILES: [TileFn; MR] = [
    i8_gemm_6x16_avx2::<1>,
    i8_gemm_6x16_avx2::<2>,
    i8_gemm_6x16_avx2::<3>,
    i8_gemm_6x16_avx2::<4>,
    i8_gemm_6x16_avx2::<5>,
    i8_gemm_6x16_avx2::<6>,
];

impl QMicroKernel for Avx2Kernel {
    const INFO: QGemmKernel = AVX2;

    fn tile(self, rows: usize, depth: usize, a: &[u8], b: &[i8], out: &mut [i32; MAX_TILE]) {
        check_tile(&AVX2, rows, depth, a, b);
        // SAFETY: `self.0` proves AVX2; `check_tile` proved that `a` and `b`
        // hold the `depth / KG` groups the kernel reads, and `out` holds
        // MAX_TILE >= MR · NR values.
        unsafe { TILES[rows - 1](depth / KG, a.as_ptr(), b.as_ptr(), out.as_mut_ptr()) };
    }
}

/// # Safety
/// The CPU must have AVX2; `a` must point to `groups · MR · KG` bytes, `b`
/// to `groups · NR · KG` bytes and `out` to `ROWS · NR` writable values.
#[target_feature(enable = "avx2")]
unsafe fn i8_gemm_6x16_avx2<const ROWS: usize>(
    groups: usize,
    a: *const u8,
    b: *const i8,
    out: *mut i32,
) {
    let mut acc = [[_mm256_setzero_si256(); 2]; ROWS];
    for g in 0..groups {
        let panel = b.wrapping_add(g * NR * KG);
        // SAFETY: group g of the panel (32 bytes) is within the
        // `groups · NR · KG` bytes the caller guarantees.
        let b_lo = unsafe { _mm_loadu_si128(panel.cast::<__m128i>()) };
        // SAFETY: as above.
        let b_hi = unsafe { _mm_loadu_si128(panel.wrapping_add(16).cast::<__m128i>()) };
        let (b_lo, b_hi) = (_mm256_cvtepi8_epi16(b_lo), _mm256_cvtepi8_epi16(b_hi));
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let pair_at = a.wrapping_add((g * MR + r) * KG).cast::<[u8; 2]>();
            // SAFETY: row r < ROWS <= MR of group g is inside the A tile.
            let pair = unsafe { pair_at.read_unaligned() };
            let a_pair = _mm256_set1_epi32(i32::from(pair[0]) | i32::from(pair[1]) << 16);
            acc_row[0] = _mm256_add_epi32(acc_row[0], _mm256_madd_epi16(b_lo, a_pair));
            acc_row[1] = _mm256_add_epi32(acc_row[1], _mm256_madd_epi16(b_hi, a_pair));
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        let row = out.wrapping_add(r * NR).cast::<__m256i>();
        // SAFETY: the caller guarantees ROWS · NR writable values at `out`.
        unsafe { _mm256_storeu_si256(row, acc_row[0]) };
        // SAFETY: as above.
        unsafe { _mm256_storeu_si256(row.wrapping_add(1), acc_row[1]) };
    }
}
