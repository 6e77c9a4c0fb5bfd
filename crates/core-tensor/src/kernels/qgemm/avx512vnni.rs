//! `i8-gemm-8x32-avx512vnni`: 8 rows × 32 columns, depth in groups of
//! four. Per group, two zmm loads of weights, eight broadcasts of four
//! activation bytes and sixteen `vpdpbusd`, each adding four exact u8 × i8
//! products into every i32 lane (no intermediate saturation).

use super::driver::{QMicroKernel, check_tile};
use super::{AVX512_VNNI, MAX_TILE, QGemmKernel};
use crate::features::Feature;
use std::arch::x86_64::{
    __m512i, _mm512_dpbusd_epi32, _mm512_loadu_si512, _mm512_set1_epi32, _mm512_setzero_si512,
    _mm512_storeu_si512,
};

const MR: usize = AVX512_VNNI.mr;
const NR: usize = AVX512_VNNI.nr;
const KG: usize = AVX512_VNNI.kg;
const _: () = assert!(MR == 8 && NR == 32 && KG == 4);

/// The AVX-512 VNNI kernel; only [`Avx512VnniKernel::new`] makes one, after
/// checking the CPU.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512VnniKernel(());

impl Avx512VnniKernel {
    /// The kernel, if this CPU has AVX-512F/BW and VNNI.
    pub(crate) fn new() -> Option<Self> {
        Feature::Avx512Vnni
            .is_available()
            .then_some(Avx512VnniKernel(()))
    }
}

type TileFn = unsafe fn(usize, *const u8, *const i8, *mut i32);

const TILES: [TileFn; MR] = [
    i8_gemm_8x32_avx512vnni::<1>,
    i8_gemm_8x32_avx512vnni::<2>,
    i8_gemm_8x32_avx512vnni::<3>,
    i8_gemm_8x32_avx512vnni::<4>,
    i8_gemm_8x32_avx512vnni::<5>,
    i8_gemm_8x32_avx512vnni::<6>,
    i8_gemm_8x32_avx512vnni::<7>,
    i8_gemm_8x32_avx512vnni::<8>,
];

impl QMicroKernel for Avx512VnniKernel {
    const INFO: QGemmKernel = AVX512_VNNI;

    fn tile(self, rows: usize, depth: usize, a: &[u8], b: &[i8], out: &mut [i32; MAX_TILE]) {
        check_tile(&AVX512_VNNI, rows, depth, a, b);
        // SAFETY: `self` exists only when the CPU has AVX-512 VNNI;
        // `check_tile` proved that `a` and `b` hold the `depth / KG` groups
        // the kernel reads, and `out` holds MAX_TILE >= MR · NR values.
        unsafe { TILES[rows - 1](depth / KG, a.as_ptr(), b.as_ptr(), out.as_mut_ptr()) };
    }
}

/// # Safety
/// The CPU must have AVX-512F and VNNI; `a` must point to
/// `groups · MR · KG` bytes, `b` to `groups · NR · KG` bytes and `out` to
/// `ROWS · NR` writable values.
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn i8_gemm_8x32_avx512vnni<const ROWS: usize>(
    groups: usize,
    a: *const u8,
    b: *const i8,
    out: *mut i32,
) {
    let mut acc = [[_mm512_setzero_si512(); 2]; ROWS];
    for g in 0..groups {
        let panel = b.wrapping_add(g * NR * KG).cast::<__m512i>();
        // SAFETY: group g of the panel (128 bytes) is within the
        // `groups · NR · KG` bytes the caller guarantees.
        let b_lo = unsafe { _mm512_loadu_si512(panel) };
        // SAFETY: as above.
        let b_hi = unsafe { _mm512_loadu_si512(panel.wrapping_add(1)) };
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let quad_at = a.wrapping_add((g * MR + r) * KG).cast::<[u8; 4]>();
            // SAFETY: row r < ROWS <= MR of group g is inside the A tile.
            let quad = unsafe { quad_at.read_unaligned() };
            let a_quad = _mm512_set1_epi32(i32::from_le_bytes(quad));
            acc_row[0] = _mm512_dpbusd_epi32(acc_row[0], a_quad, b_lo);
            acc_row[1] = _mm512_dpbusd_epi32(acc_row[1], a_quad, b_hi);
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        let row = out.wrapping_add(r * NR).cast::<__m512i>();
        // SAFETY: the caller guarantees ROWS · NR writable values at `out`.
        unsafe { _mm512_storeu_si512(row, acc_row[0]) };
        // SAFETY: as above.
        unsafe { _mm512_storeu_si512(row.wrapping_add(1), acc_row[1]) };
    }
}
