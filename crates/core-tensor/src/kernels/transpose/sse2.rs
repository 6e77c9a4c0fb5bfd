//! 16×16 byte blocks with SSE2 (the x86_64 baseline): four rounds of
//! unpacking, at 8-, 16-, 32- and 64-bit granularity, 64 instructions per
//! 256 bytes where the portable `u64` swaps take about four times as many.

use std::arch::x86_64::*;

/// Side of the blocks.
pub(super) const BLOCK: usize = 16;

/// Transposes the 16×16 block of `src` (rows `cols` apart) at `(r0, c0)`
/// into `dst` (rows `dst_stride` apart) at `(c0, r0)`.
pub(super) fn transpose_block(
    src: &[u8],
    (r0, c0): (usize, usize),
    cols: usize,
    dst: &mut [u8],
    dst_stride: usize,
) {
    let mut rows = [[0u8; BLOCK]; BLOCK];
    for (i, row) in rows.iter_mut().enumerate() {
        row.copy_from_slice(&src[(r0 + i) * cols + c0..][..BLOCK]);
    }
    // SAFETY: SSE2 is part of the x86_64 baseline: every x86_64 CPU has it.
    let columns = unsafe { transpose_16x16(rows) };
    for (j, column) in columns.iter().enumerate() {
        dst[(c0 + j) * dst_stride + r0..][..BLOCK].copy_from_slice(column);
    }
}

/// Row `r` of the result is column `r` of `rows`.
#[target_feature(enable = "sse2")]
fn transpose_16x16(rows: [[u8; BLOCK]; BLOCK]) -> [[u8; BLOCK]; BLOCK] {
    let load = |row: &[u8; BLOCK]| {
        // SAFETY: `row` is 16 readable bytes.
        unsafe { _mm_loadu_si128(row.as_ptr().cast()) }
    };
    let x: [__m128i; BLOCK] = std::array::from_fn(|i| load(&rows[i]));
    // Round 1, bytes: a[h·8 + p] holds rows 2p and 2p + 1 of columns
    // 8h..8h + 8, one 16-bit unit per column.
    let mut a = [_mm_setzero_si128(); BLOCK];
    for p in 0..8 {
        a[p] = _mm_unpacklo_epi8(x[2 * p], x[2 * p + 1]);
        a[8 + p] = _mm_unpackhi_epi8(x[2 * p], x[2 * p + 1]);
    }
    // Round 2, 16-bit units: b[h·8 + g·4 + q] holds rows 4q..4q + 4 of
    // columns 8h + 4g..8h + 4g + 4, one 32-bit unit per column.
    let mut b = [_mm_setzero_si128(); BLOCK];
    for h in 0..2 {
        for q in 0..4 {
            let (even, odd) = (a[8 * h + 2 * q], a[8 * h + 2 * q + 1]);
            b[8 * h + q] = _mm_unpacklo_epi16(even, odd);
            b[8 * h + 4 + q] = _mm_unpackhi_epi16(even, odd);
        }
    }
    // Round 3, 32-bit units: for the four columns of group `k` (b[4k..]),
    // c[4k + t] holds rows 8·(t % 2)..+8 of columns 4k + 2·(t / 2)..+2,
    // one 64-bit unit per column.
    let mut c = [_mm_setzero_si128(); BLOCK];
    for k in 0..4 {
        let g = &b[4 * k..4 * k + 4];
        c[4 * k] = _mm_unpacklo_epi32(g[0], g[1]);
        c[4 * k + 1] = _mm_unpacklo_epi32(g[2], g[3]);
        c[4 * k + 2] = _mm_unpackhi_epi32(g[0], g[1]);
        c[4 * k + 3] = _mm_unpackhi_epi32(g[2], g[3]);
    }
    // Round 4, 64-bit units: column 4k + 2s + e, all 16 rows.
    let mut out = [[0u8; BLOCK]; BLOCK];
    for k in 0..4 {
        for s in 0..2 {
            let (top, bottom) = (c[4 * k + 2 * s], c[4 * k + 2 * s + 1]);
            let columns = [
                _mm_unpacklo_epi64(top, bottom),
                _mm_unpackhi_epi64(top, bottom),
            ];
            for (e, column) in columns.into_iter().enumerate() {
                let row = &mut out[4 * k + 2 * s + e];
                // SAFETY: `row` is 16 writable bytes.
                unsafe { _mm_storeu_si128(row.as_mut_ptr().cast(), column) };
            }
        }
    }
    out
}
