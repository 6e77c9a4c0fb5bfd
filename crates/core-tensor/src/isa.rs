//! Run-time detection of the CPU's SIMD tier.
//!
//! The tier is detected once and cached. `POCKETNN_ISA=scalar|sse41|avx2|avx512|neon`
//! forces a tier (for tests and benchmarks); forcing a tier the CPU lacks is an
//! error, so a test run can never silently test less than it claims.

use std::sync::OnceLock;

/// A SIMD instruction-set tier. Kernels exist per tier; higher tiers of the
/// same family include the lower ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Isa {
    /// Portable Rust, no SIMD intrinsics: the reference for every kernel.
    Scalar,
    /// x86_64 SSE4.1.
    Sse41,
    /// x86_64 AVX2 + FMA.
    Avx2,
    /// x86_64 AVX-512F (+BW/VL/DQ as the kernels need).
    Avx512,
    /// aarch64 Advanced SIMD (every arm64 phone).
    Neon,
}

/// The environment variable that forces a tier.
pub const ISA_ENV: &str = "POCKETNN_ISA";

/// `POCKETNN_ISA` named a tier that is unknown or absent on this CPU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{ISA_ENV}={requested}: {reason} (available here: {available})")]
pub struct IsaError {
    /// The value of the variable.
    pub requested: String,
    /// Why it cannot be used.
    pub reason: &'static str,
    /// The tiers this CPU has, comma separated.
    pub available: String,
}

impl Isa {
    /// Every tier, lowest first.
    pub const ALL: [Isa; 5] = [Isa::Scalar, Isa::Sse41, Isa::Avx2, Isa::Avx512, Isa::Neon];

    /// The tier's name as `POCKETNN_ISA` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Sse41 => "sse41",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }

    /// The tier with this name.
    pub fn from_name(name: &str) -> Option<Isa> {
        Isa::ALL.into_iter().find(|i| i.name() == name)
    }

    /// True when this CPU can run the tier's instructions.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Sse41 => std::arch::is_x86_feature_detected!("sse4.1"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512dq")
            }
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Every tier this CPU has, lowest first.
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// The best tier this CPU has.
    pub fn best() -> Isa {
        Isa::ALL
            .into_iter()
            .rev()
            .find(|i| i.is_available())
            .unwrap_or(Isa::Scalar)
    }

    /// The tier named by `value` (a `POCKETNN_ISA` value), checked against the CPU.
    pub fn parse_forced(value: &str) -> Result<Isa, IsaError> {
        let err = |reason| IsaError {
            requested: value.to_string(),
            reason,
            available: Isa::available()
                .iter()
                .map(|i| i.name())
                .collect::<Vec<_>>()
                .join(","),
        };
        let isa = Isa::from_name(value.trim()).ok_or_else(|| err("unknown tier"))?;
        if !isa.is_available() {
            return Err(err("this CPU lacks that tier"));
        }
        Ok(isa)
    }

    /// The tier kernels use by default: `POCKETNN_ISA` if set, else the best
    /// one. Detected once and cached for the life of the process.
    pub fn selected() -> Result<Isa, IsaError> {
        static SELECTED: OnceLock<Result<Isa, IsaError>> = OnceLock::new();
        SELECTED
            .get_or_init(|| match std::env::var(ISA_ENV) {
                Ok(v) if !v.trim().is_empty() => Isa::parse_forced(&v),
                _ => Ok(Isa::best()),
            })
            .clone()
    }
}

/// Proof that this CPU has x86_64 SSE4.1.
///
/// An ISA token is a zero-sized value that can only be made by a constructor
/// that checked the CPU, so code holding one may call `#[target_feature]`
/// functions of that tier without re-checking.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub struct Sse41Token(());

#[cfg(target_arch = "x86_64")]
impl Sse41Token {
    /// The token, if this CPU has SSE4.1.
    pub fn new() -> Option<Self> {
        Isa::Sse41.is_available().then_some(Sse41Token(()))
    }
}

/// Proof that this CPU has x86_64 AVX2 and FMA (see [`Sse41Token`]).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub struct Avx2Token(());

#[cfg(target_arch = "x86_64")]
impl Avx2Token {
    /// The token, if this CPU has AVX2 and FMA.
    pub fn new() -> Option<Self> {
        Isa::Avx2.is_available().then_some(Avx2Token(()))
    }
}

/// Proof that this CPU has AVX-512 F/BW/VL/DQ, and so also AVX2 and FMA
/// (see [`Sse41Token`]).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub struct Avx512Token(());

#[cfg(target_arch = "x86_64")]
impl Avx512Token {
    /// The token, if this CPU has the AVX-512 tier.
    pub fn new() -> Option<Self> {
        (Isa::Avx512.is_available() && Isa::Avx2.is_available()).then_some(Avx512Token(()))
    }
}

/// Proof that this CPU has aarch64 Advanced SIMD (see [`Sse41Token`]).
#[cfg(target_arch = "aarch64")]
#[derive(Clone, Copy, Debug)]
pub struct NeonToken(());

#[cfg(target_arch = "aarch64")]
impl NeonToken {
    /// The token, if this CPU has NEON (every arm64 CPU does).
    pub fn new() -> Option<Self> {
        Isa::Neon.is_available().then_some(NeonToken(()))
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_scalar_is_always_there() {
        for isa in Isa::ALL {
            assert_eq!(Isa::from_name(isa.name()), Some(isa));
        }
        assert!(Isa::Scalar.is_available());
        assert!(Isa::best().is_available());
        assert!(Isa::parse_forced("scalar").is_ok());
        assert!(Isa::parse_forced("mmx").is_err());
    }

    #[test]
    fn tokens_exist_exactly_when_the_tier_is_available() {
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(Sse41Token::new().is_some(), Isa::Sse41.is_available());
            assert_eq!(Avx2Token::new().is_some(), Isa::Avx2.is_available());
            assert_eq!(Avx512Token::new().is_some(), Isa::Avx512.is_available());
        }
        #[cfg(target_arch = "aarch64")]
        assert_eq!(NeonToken::new().is_some(), Isa::Neon.is_available());
    }

    #[test]
    fn the_other_family_is_never_available() {
        #[cfg(target_arch = "x86_64")]
        assert!(!Isa::Neon.is_available());
        #[cfg(target_arch = "aarch64")]
        assert!(!Isa::Avx2.is_available());
    }
}
