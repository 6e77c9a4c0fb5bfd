//! Optional CPU features beyond the [`crate::Isa`] tiers, detected at run
//! time: the integer dot-product and matrix instructions of the int8 kernels
//! and the half-precision conversion and arithmetic of the fp16 kernels.
//!
//! A tier says which registers and basic instructions a kernel may use; a
//! feature adds one instruction family on top (for example `sdot` on an
//! ARMv8.2 phone). Features are always detected at run time, never assumed
//! from the compile target, so one phone binary finds them by itself.

/// An optional CPU feature some kernels use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Feature {
    /// x86_64 AVX-512 VNNI (`vpdpbusd` on zmm registers).
    Avx512Vnni,
    /// aarch64 `sdot`/`udot` (ARMv8.2 dotprod, e.g. Cortex-A76 and later).
    DotProd,
    /// aarch64 int8 matrix multiply `smmla` (ARMv8.6 i8mm, e.g. Cortex-X2).
    I8mm,
    /// x86_64 F16C (`vcvtph2ps`: eight f16 values to f32 in one step). Used
    /// only on the AVX2 and AVX-512 tiers (it is VEX encoded).
    F16c,
    /// aarch64 half-precision arithmetic (ARMv8.2 FP16: `fmla v.8h`, e.g.
    /// Cortex-A55/A75 and later).
    Fp16,
}

impl Feature {
    /// Every feature.
    pub const ALL: [Feature; 5] = [
        Feature::Avx512Vnni,
        Feature::DotProd,
        Feature::I8mm,
        Feature::F16c,
        Feature::Fp16,
    ];

    /// The feature's name as the kernel names spell it.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Avx512Vnni => "avx512vnni",
            Feature::DotProd => "dotprod",
            Feature::I8mm => "i8mm",
            Feature::F16c => "f16c",
            Feature::Fp16 => "fp16",
        }
    }

    /// True when this CPU has the feature (and the tier it builds on).
    pub fn is_available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Feature::Avx512Vnni => {
                crate::Isa::Avx512.is_available()
                    && std::arch::is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(target_arch = "aarch64")]
            Feature::DotProd => std::arch::is_aarch64_feature_detected!("dotprod"),
            #[cfg(target_arch = "aarch64")]
            Feature::I8mm => std::arch::is_aarch64_feature_detected!("i8mm"),
            #[cfg(target_arch = "x86_64")]
            Feature::F16c => {
                crate::Isa::Avx2.is_available() && std::arch::is_x86_feature_detected!("f16c")
            }
            #[cfg(target_arch = "aarch64")]
            Feature::Fp16 => std::arch::is_aarch64_feature_detected!("fp16"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
}

impl std::fmt::Display for Feature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
