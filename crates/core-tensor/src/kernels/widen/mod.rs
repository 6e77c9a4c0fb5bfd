//! Widening IEEE half floats to f32: the `f16-f32-vcvt` kernels.
//!
//! A model converted with `--quantize fp16` stores its weights as f16; the
//! GEMM widens them to f32 while it packs them (and the convolutions widen
//! their small weight tensors once per run), so the arithmetic stays f32.
//! Widening is exact: every f16 value, subnormals and infinities included,
//! is an f32 value. A NaN stays a NaN with the same sign and payload, made
//! quiet (what `vcvtph2ps` and `fcvtl` do).
//!
//! | kernel | needs | instruction |
//! |---|---|---|
//! | `f16-f32-vcvt-scalar` | nothing | bit manipulation (the reference) |
//! | `f16-f32-vcvt-f16c` | AVX2 tier + F16C | `vcvtph2ps ymm` (8 values) |
//! | `f16-f32-vcvt-avx512` | AVX-512 tier | `vcvtph2ps zmm` (16 values) |
//! | `f16-f32-vcvt-neon` | NEON | `fcvtl` / `fcvtl2` (8 values) |
//!
//! ```
//! use pocketnn_tensor::{Isa, f16};
//! use pocketnn_tensor::kernels::widen::widen_f16;
//!
//! let src = [f16::from_f32(1.5), f16::from_f32(-0.25), f16::INFINITY];
//! let mut dst = [0.0f32; 3];
//! widen_f16(Isa::best(), &src, &mut dst)?;
//! assert_eq!(dst, [1.5, -0.25, f32::INFINITY]);
//! # Ok::<(), pocketnn_tensor::TensorError>(())
//! ```

use crate::error::TensorError;
use crate::features::Feature;
use crate::isa::Isa;
use half::f16;

#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(test)]
mod tests;

/// One f16 → f32 widening kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WidenKernel {
    /// `f16-f32-vcvt-<variant>`.
    pub name: &'static str,
    /// The tier whose registers it uses.
    pub isa: Isa,
    /// The feature it needs on top of the tier.
    pub feature: Option<Feature>,
}

/// Every widening kernel, lowest tier first (whether or not this CPU has it).
pub const WIDEN_KERNELS: [WidenKernel; 4] = [
    WidenKernel {
        name: "f16-f32-vcvt-scalar",
        isa: Isa::Scalar,
        feature: None,
    },
    WidenKernel {
        name: "f16-f32-vcvt-f16c",
        isa: Isa::Avx2,
        feature: Some(Feature::F16c),
    },
    WidenKernel {
        name: "f16-f32-vcvt-avx512",
        isa: Isa::Avx512,
        feature: None,
    },
    WidenKernel {
        name: "f16-f32-vcvt-neon",
        isa: Isa::Neon,
        feature: None,
    },
];

impl WidenKernel {
    /// True when this CPU can run the kernel.
    pub fn is_available(&self) -> bool {
        self.isa.is_available() && self.feature.is_none_or(Feature::is_available)
    }

    /// The kernel tier `isa` uses: its own when the CPU has it, else the
    /// scalar one (SSE4.1 has no conversion instruction; an AVX2 CPU without
    /// F16C uses the scalar kernel too).
    pub fn best_for(isa: Isa) -> WidenKernel {
        let candidates: &[usize] = match isa {
            Isa::Avx512 => &[2, 1],
            Isa::Avx2 => &[1],
            Isa::Neon => &[3],
            _ => &[],
        };
        candidates
            .iter()
            .map(|&i| WIDEN_KERNELS[i])
            .find(WidenKernel::is_available)
            .unwrap_or(WIDEN_KERNELS[0])
    }

    /// Widens `src` into `dst` (same length) with this kernel.
    ///
    /// Fails when the lengths differ ([`TensorError::LengthMismatch`]) or
    /// the CPU lacks the kernel ([`TensorError::IsaUnavailable`]).
    pub fn run(&self, src: &[f16], dst: &mut [f32]) -> Result<(), TensorError> {
        if src.len() != dst.len() {
            return Err(TensorError::LengthMismatch {
                expected: src.len(),
                actual: dst.len(),
            });
        }
        let widener =
            Widener::for_kernel(self).ok_or(TensorError::IsaUnavailable { isa: self.isa })?;
        widener.widen(src, dst);
        Ok(())
    }
}

/// Widens `src` into `dst` (same length) with the kernel of tier `isa`
/// ([`WidenKernel::best_for`]).
pub fn widen_f16(isa: Isa, src: &[f16], dst: &mut [f32]) -> Result<(), TensorError> {
    if !isa.is_available() {
        return Err(TensorError::IsaUnavailable { isa });
    }
    WidenKernel::best_for(isa).run(src, dst)
}

/// `f16-f32-vcvt-scalar`: one value, by its bits.
#[inline(always)]
pub fn widen_one(value: f16) -> f32 {
    let bits = u32::from(value.to_bits());
    let sign = (bits & 0x8000) << 16;
    let exponent = (bits >> 10) & 0x1f;
    let mantissa = bits & 0x3ff;
    match exponent {
        // Zero or subnormal: mantissa · 2⁻²⁴, exact in f32.
        0 => f32::from_bits(sign | (mantissa as f32 * (1.0 / 16_777_216.0)).to_bits()),
        // Infinity, or a NaN made quiet with its payload kept.
        31 if mantissa == 0 => f32::from_bits(sign | 0x7f80_0000),
        31 => f32::from_bits(sign | 0x7fc0_0000 | (mantissa << 13)),
        // Normal: rebias the exponent from 15 to 127.
        _ => f32::from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13)),
    }
}

/// `f16-f32-vcvt-scalar` over a slice (`dst` as long as `src`, else only
/// the common prefix is written).
pub fn widen_f16_reference(src: &[f16], dst: &mut [f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = widen_one(s);
    }
}

/// A widening kernel checked to run on this CPU: the tier token it needs
/// is inside, so calling it is sound.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Widener {
    /// `f16-f32-vcvt-scalar`.
    Scalar,
    /// `f16-f32-vcvt-f16c`.
    #[cfg(target_arch = "x86_64")]
    F16c(x86::F16cToken),
    /// `f16-f32-vcvt-avx512`.
    #[cfg(target_arch = "x86_64")]
    Avx512(crate::isa::Avx512Token),
    /// `f16-f32-vcvt-neon`.
    #[cfg(target_arch = "aarch64")]
    Neon(crate::isa::NeonToken),
}

impl Widener {
    /// The widener of tier `isa` ([`WidenKernel::best_for`]).
    pub(crate) fn for_isa(isa: Isa) -> Widener {
        Widener::for_kernel(&WidenKernel::best_for(isa)).unwrap_or(Widener::Scalar)
    }

    /// The widener running `kernel`, if this CPU has it.
    fn for_kernel(kernel: &WidenKernel) -> Option<Widener> {
        match kernel.name {
            "f16-f32-vcvt-scalar" => Some(Widener::Scalar),
            #[cfg(target_arch = "x86_64")]
            "f16-f32-vcvt-f16c" => x86::F16cToken::new().map(Widener::F16c),
            #[cfg(target_arch = "x86_64")]
            "f16-f32-vcvt-avx512" => crate::isa::Avx512Token::new().map(Widener::Avx512),
            #[cfg(target_arch = "aarch64")]
            "f16-f32-vcvt-neon" => crate::isa::NeonToken::new().map(Widener::Neon),
            _ => None,
        }
    }

    /// Widens `src` into the first `src.len()` values of `dst` (which must
    /// be at least as long; panics otherwise: an internal contract).
    #[inline]
    pub(crate) fn widen(self, src: &[f16], dst: &mut [f32]) {
        let dst = &mut dst[..src.len()];
        match self {
            Widener::Scalar => widen_f16_reference(src, dst),
            #[cfg(target_arch = "x86_64")]
            Widener::F16c(token) => x86::f16_f32_vcvt_f16c(token, src, dst),
            #[cfg(target_arch = "x86_64")]
            Widener::Avx512(token) => x86::f16_f32_vcvt_avx512(token, src, dst),
            #[cfg(target_arch = "aarch64")]
            Widener::Neon(token) => neon::f16_f32_vcvt_neon(token, src, dst),
        }
    }
}
