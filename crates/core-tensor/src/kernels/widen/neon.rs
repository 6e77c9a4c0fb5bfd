//! `f16-f32-vcvt-neon`: `fcvtl` / `fcvtl2`, part of ARMv8.0 NEON.
//!
//! The half-float intrinsics (`vcvt_f32_f16`) are stable only since Rust
//! 1.94, above the workspace MSRV (1.89), so the two instructions are one
//! `asm!` on u16 registers.

use crate::isa::NeonToken;
use half::f16;
use std::arch::aarch64::{float32x4_t, uint16x8_t, vld1q_u16, vst1q_f32};
use std::arch::asm;

/// The eight f16 lanes of `h` as two vectors of four f32.
#[inline(always)]
fn fcvtl_pair(h: uint16x8_t) -> (float32x4_t, float32x4_t) {
    let (low, high): (float32x4_t, float32x4_t);
    // SAFETY: pure register arithmetic of ARMv8.0 NEON, reached only from
    // `widen_neon` (compiled for NEON, called with a `NeonToken`). `out`
    // (not `lateout`) keeps `low` from sharing `h`'s register.
    unsafe {
        asm!(
            "fcvtl {low:v}.4s, {h:v}.4h",
            "fcvtl2 {high:v}.4s, {h:v}.8h",
            h = in(vreg) h,
            low = out(vreg) low,
            high = out(vreg) high,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    (low, high)
}

/// Widens 8 values (`src` 8 u16 bits, `dst` 8 f32).
#[inline(always)]
fn widen8(src: &[u16; 8], dst: &mut [f32; 8]) {
    // SAFETY: `src` holds 8 u16 (16 bytes).
    let h = unsafe { vld1q_u16(src.as_ptr()) };
    let (low, high) = fcvtl_pair(h);
    // SAFETY: `dst` holds 8 f32: two stores of 4.
    unsafe { vst1q_f32(dst.as_mut_ptr(), low) };
    // SAFETY: as above, the upper four.
    unsafe { vst1q_f32(dst.as_mut_ptr().wrapping_add(4), high) };
}

#[target_feature(enable = "neon")]
fn widen_neon(src: &[f16], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "widen: lengths differ");
    let mut src_blocks = src.chunks_exact(8);
    let mut dst_blocks = dst.chunks_exact_mut(8);
    for (s, d) in (&mut src_blocks).zip(&mut dst_blocks) {
        // SAFETY: `s` is 8 f16 read as 8 u16 (16 bytes); NEON loads need no
        // alignment beyond the element's.
        let h = unsafe { vld1q_u16(s.as_ptr().cast::<u16>()) };
        let (low, high) = fcvtl_pair(h);
        // SAFETY: `d` is 8 f32 (32 bytes): two stores of 4.
        unsafe { vst1q_f32(d.as_mut_ptr(), low) };
        // SAFETY: as above, the upper four.
        unsafe { vst1q_f32(d.as_mut_ptr().wrapping_add(4), high) };
    }
    let (src, dst) = (src_blocks.remainder(), dst_blocks.into_remainder());
    let mut block = [0u16; 8];
    for (b, s) in block.iter_mut().zip(src) {
        *b = s.to_bits();
    }
    let mut out = [0.0f32; 8];
    widen8(&block, &mut out);
    dst.copy_from_slice(&out[..dst.len()]);
}

/// `f16-f32-vcvt-neon`: `dst[i] = src[i]` widened (same lengths).
pub(crate) fn f16_f32_vcvt_neon(_token: NeonToken, src: &[f16], dst: &mut [f32]) {
    // SAFETY: the token proves the CPU has NEON.
    unsafe { widen_neon(src, dst) }
}
