//! `f16-gemm-8x8-neonfp16`: eight rows of A times eight columns of B, one
//! `fmla v.8h` per row and depth step, the sums in eight f16 registers.
//!
//! The `float16x8_t` intrinsics are stable only since Rust 1.94, above the
//! workspace MSRV (1.89): values travel as `uint16x8_t` bits and the
//! by-element `fmla` is one `asm!` line, in a function compiled for `fp16`.

use super::{TILE, pack_panels};
use crate::features::Feature;
use half::f16;
use std::arch::aarch64::{uint16x8_t, vdupq_n_u16, vld1q_u16, vst1q_u16};
use std::arch::asm;

/// Proof that this CPU has ARMv8.2 FP16 arithmetic.
#[derive(Clone, Copy, Debug)]
pub(super) struct Fp16Token(());

impl Fp16Token {
    pub(super) fn new() -> Option<Self> {
        Feature::Fp16.is_available().then_some(Fp16Token(()))
    }
}

/// `acc += b · a[LANE]` in f16 lanes (`fmla v.8h, v.8h, v.h[LANE]`).
#[inline(always)]
fn fmla_lane<const LANE: i32>(acc: uint16x8_t, b: uint16x8_t, a: uint16x8_t) -> uint16x8_t {
    let mut acc = acc;
    // SAFETY: pure register arithmetic; only reached from `tile`, compiled
    // with `fp16` and called with an `Fp16Token`. The by-element operand of
    // an `.h` multiply must be one of v0-v15 (`vreg_low16`).
    unsafe {
        asm!(
            "fmla {acc:v}.8h, {b:v}.8h, {a:v}.h[{lane}]",
            acc = inout(vreg) acc,
            b = in(vreg) b,
            a = in(vreg_low16) a,
            lane = const LANE,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

/// One 8×8 tile over the whole depth: `a` and `b` are packed panels of
/// `k · 8` values; `out[r][c]` receives the f16 bits of row `r`, column `c`.
#[target_feature(enable = "neon,fp16")]
fn tile(k: usize, a: &[u16], b: &[u16], out: &mut [[u16; TILE]; TILE]) {
    assert!(a.len() >= k * TILE && b.len() >= k * TILE, "short panel");
    // f16 +0.0 is all zero bits.
    let mut acc: [uint16x8_t; TILE] = [vdupq_n_u16(0); TILE];
    for p in 0..k {
        // SAFETY: `p · 8 + 8 <= k · 8 <= a.len()` (asserted).
        let av = unsafe { vld1q_u16(a.as_ptr().wrapping_add(p * TILE)) };
        // SAFETY: the same for `b`.
        let bv = unsafe { vld1q_u16(b.as_ptr().wrapping_add(p * TILE)) };
        acc[0] = fmla_lane::<0>(acc[0], bv, av);
        acc[1] = fmla_lane::<1>(acc[1], bv, av);
        acc[2] = fmla_lane::<2>(acc[2], bv, av);
        acc[3] = fmla_lane::<3>(acc[3], bv, av);
        acc[4] = fmla_lane::<4>(acc[4], bv, av);
        acc[5] = fmla_lane::<5>(acc[5], bv, av);
        acc[6] = fmla_lane::<6>(acc[6], bv, av);
        acc[7] = fmla_lane::<7>(acc[7], bv, av);
    }
    for (row, sums) in out.iter_mut().zip(acc) {
        // SAFETY: `row` holds 8 u16.
        unsafe { vst1q_u16(row.as_mut_ptr(), sums) };
    }
}

/// `C = A · B` (lengths checked by the caller).
pub(super) fn gemm(
    _token: Fp16Token,
    a: &[f16],
    b: &[f16],
    c: &mut [f32],
    (m, k, n): (usize, usize, usize),
) {
    let a_panels = pack_panels(a, (m, k), false);
    let b_panels = pack_panels(b, (n, k), true);
    let panel = (k * TILE).max(1);
    let mut out = [[0u16; TILE]; TILE];
    for (i, a_panel) in a_panels.chunks_exact(panel).enumerate() {
        for (j, b_panel) in b_panels.chunks_exact(panel).enumerate() {
            // SAFETY: the token proves the CPU has NEON and FP16.
            unsafe { tile(k, a_panel, b_panel, &mut out) };
            let rows = TILE.min(m - i * TILE);
            let cols = TILE.min(n - j * TILE);
            for (r, sums) in out.iter().take(rows).enumerate() {
                let c_row = &mut c[(i * TILE + r) * n + j * TILE..][..cols];
                for (dst, &bits) in c_row.iter_mut().zip(sums) {
                    *dst = f16::from_bits(bits).to_f32();
                }
            }
        }
    }
}
