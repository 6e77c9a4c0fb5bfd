//! The tap sums of the int8 depthwise kernel on x86_64 with `pmaddwd`
//! (`u8.rs`, [`super::u8`]'s `TapPairs`): x86 multiplies i16 into i32 only
//! in pairs of neighbouring lanes, summed. Two taps whose runs start one
//! value apart are such a pair: over the run from `start`, lane `j` of
//! `pmaddwd(x, (w_a, w_b))` is `x[2j]·w_a + x[2j + 1]·w_b`, the sum of both
//! taps for output `2j`; over the run from `start + 1`, for output `2j + 1`.
//! Two multiply-adds per pair and vector, where widening each tap and
//! multiplying in i32 (`pmulld`, two µops) took six; the even and odd sums
//! are interleaved once per chunk.

use super::u8::CHUNK;
use std::arch::x86_64::*;

/// The i16 pair `(w_a, w_b)` as the 32-bit lane `pmaddwd` multiplies by.
fn weight_pair([a, b]: [i16; 2]) -> i32 {
    i32::from(a as u16) | (i32::from(b) << 16)
}

/// The `CHUNK` values plus one a pair reads from `start`.
#[inline(always)]
fn run(values: &[i16], start: usize) -> &[i16; CHUNK + 1] {
    let run = &values[start..][..CHUNK + 1];
    run.try_into().unwrap_or(&[0; CHUNK + 1])
}

/// `out[i] = Σ over pairs (start, w) of values[start + first + i]·w[0] +
/// values[start + first + i + 1]·w[1]` for the `CHUNK` outputs, with AVX2.
#[target_feature(enable = "avx2")]
pub(super) fn sum_pairs_avx2(
    values: &[i16],
    pairs: &[(usize, [i16; 2])],
    first: usize,
    out: &mut [i32; CHUNK],
) {
    const V: usize = CHUNK / 16;
    let mut even = [_mm256_setzero_si256(); V];
    let mut odd = [_mm256_setzero_si256(); V];
    for &(start, w) in pairs {
        let w = _mm256_set1_epi32(weight_pair(w));
        let x = run(values, start + first);
        for v in 0..V {
            let (xe, xo) = (x[16 * v..][..16].as_ptr(), x[16 * v + 1..][..16].as_ptr());
            // SAFETY: each pointer starts 16 readable i16 (32 bytes).
            let xe = unsafe { _mm256_loadu_si256(xe.cast()) };
            // SAFETY: as above.
            let xo = unsafe { _mm256_loadu_si256(xo.cast()) };
            even[v] = _mm256_add_epi32(even[v], _mm256_madd_epi16(xe, w));
            odd[v] = _mm256_add_epi32(odd[v], _mm256_madd_epi16(xo, w));
        }
    }
    for (v, out) in out.chunks_exact_mut(16).enumerate() {
        // Outputs 0..4 and 8..12 of the 16, then 4..8 and 12..16.
        let low = _mm256_unpacklo_epi32(even[v], odd[v]);
        let high = _mm256_unpackhi_epi32(even[v], odd[v]);
        let first = _mm256_permute2x128_si256::<0x20>(low, high);
        let second = _mm256_permute2x128_si256::<0x31>(low, high);
        let (low, high) = out.split_at_mut(8);
        // SAFETY: `low` is 8 writable i32 (32 bytes).
        unsafe { _mm256_storeu_si256(low.as_mut_ptr().cast(), first) };
        // SAFETY: `high` is 8 writable i32 (32 bytes).
        unsafe { _mm256_storeu_si256(high.as_mut_ptr().cast(), second) };
    }
}

/// [`sum_pairs_avx2`] with AVX-512 (`avx512bw` for the 16-bit lanes).
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) fn sum_pairs_avx512(
    values: &[i16],
    pairs: &[(usize, [i16; 2])],
    first: usize,
    out: &mut [i32; CHUNK],
) {
    const V: usize = CHUNK / 32;
    let mut even = [_mm512_setzero_si512(); V];
    let mut odd = [_mm512_setzero_si512(); V];
    for &(start, w) in pairs {
        let w = _mm512_set1_epi32(weight_pair(w));
        let x = run(values, start + first);
        for v in 0..V {
            let (xe, xo) = (x[32 * v..][..32].as_ptr(), x[32 * v + 1..][..32].as_ptr());
            // SAFETY: each pointer starts 32 readable i16 (64 bytes).
            let xe = unsafe { _mm512_loadu_si512(xe.cast()) };
            // SAFETY: as above.
            let xo = unsafe { _mm512_loadu_si512(xo.cast()) };
            even[v] = _mm512_add_epi32(even[v], _mm512_madd_epi16(xe, w));
            odd[v] = _mm512_add_epi32(odd[v], _mm512_madd_epi16(xo, w));
        }
    }
    // Lane i of the interleaving picks even[i / 2] or (16 +) odd[i / 2].
    let first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    let second = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (v, out) in out.chunks_exact_mut(32).enumerate() {
        let (low, high) = out.split_at_mut(16);
        let interleaved = [
            _mm512_permutex2var_epi32(even[v], first, odd[v]),
            _mm512_permutex2var_epi32(even[v], second, odd[v]),
        ];
        // SAFETY: `low` is 16 writable i32 (64 bytes).
        unsafe { _mm512_storeu_si512(low.as_mut_ptr().cast(), interleaved[0]) };
        // SAFETY: `high` is 16 writable i32 (64 bytes).
        unsafe { _mm512_storeu_si512(high.as_mut_ptr().cast(), interleaved[1]) };
    }
}
