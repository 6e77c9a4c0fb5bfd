//! `f16-f32-vcvt-neon`: `fcvtl` / `fcvtl2`, part of ARMv8.0 NEON.

use crate::isa::NeonToken;
use half::f16;
use std::arch::aarch64::{
    vcvt_f32_f16, vcvt_high_f32_f16, vget_low_u16, vld1q_u16, vreinterpret_f16_u16,
    vreinterpretq_f16_u16, vst1q_f32,
};

#[target_feature(enable = "neon")]
fn widen_neon(src: &[f16], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "widen: lengths differ");
    let mut src_blocks = src.chunks_exact(8);
    let mut dst_blocks = dst.chunks_exact_mut(8);
    for (s, d) in (&mut src_blocks).zip(&mut dst_blocks) {
        // SAFETY: `s` is 8 f16 read as 8 u16 (16 bytes), `d` 8 f32 (32
        // bytes); NEON loads and stores need no alignment beyond the
        // element's.
        unsafe {
            let h = vld1q_u16(s.as_ptr().cast::<u16>());
            let low = vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h)));
            let high = vcvt_high_f32_f16(vreinterpretq_f16_u16(h));
            vst1q_f32(d.as_mut_ptr(), low);
            vst1q_f32(d.as_mut_ptr().wrapping_add(4), high);
        }
    }
    let (src, dst) = (src_blocks.remainder(), dst_blocks.into_remainder());
    let mut block = [0u16; 8];
    let mut out = [0.0f32; 8];
    for (b, s) in block.iter_mut().zip(src) {
        *b = s.to_bits();
    }
    // SAFETY: `block` holds 8 u16 and `out` 8 f32.
    unsafe {
        let h = vld1q_u16(block.as_ptr());
        vst1q_f32(
            out.as_mut_ptr(),
            vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h))),
        );
        vst1q_f32(
            out.as_mut_ptr().wrapping_add(4),
            vcvt_high_f32_f16(vreinterpretq_f16_u16(h)),
        );
    }
    dst.copy_from_slice(&out[..dst.len()]);
}

/// `f16-f32-vcvt-neon`: `dst[i] = src[i]` widened (same lengths).
pub(crate) fn f16_f32_vcvt_neon(_token: NeonToken, src: &[f16], dst: &mut [f32]) {
    // SAFETY: the token proves the CPU has NEON.
    unsafe { widen_neon(src, dst) }
}
