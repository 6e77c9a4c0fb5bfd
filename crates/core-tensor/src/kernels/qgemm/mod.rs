//! int8 matrix multiplication: `C = (A - za) · (B - zb)` with `A` u8
//! activations, `B` i8 weights, i32 accumulation, and an epilogue that
//! writes i32, requantized u8 (see [`Requantize`]) or
//! dequantized f32 (see [`Dequantize`]).
//!
//! `B` is a constant (a layer's weights) and is packed once, by
//! [`PackedI8B::pack`], into the layout of one micro-kernel: panels of `NR`
//! columns, the depth grouped by `KG` (`[k / KG][NR][KG]`, zero padded), with
//! the column sums the zero-point correction needs. `A` is packed per call
//! into the same grouping. The micro-kernels, one per instruction family, are
//! listed in [`I8_GEMM_KERNELS`] and named `i8-gemm-<MR>x<NR>-<variant>`:
//!
//! | kernel | instructions | A as |
//! |---|---|---|
//! | `scalar` | portable Rust (the reference) | u8 |
//! | `avx2` | `vpmovsxbw` + `vpmaddwd`: exact i16 pair products, no `vpmaddubsw` saturation | u8 |
//! | `avx512vnni` | `vpdpbusd` (u8 × i8, four products per i32 lane) | u8 |
//! | `neon` | `smull` + `sadalp` (i8 × i8 → i16 → pairwise into i32, exact) | i8 |
//! | `dotprod` | `sdot` by element (ARMv8.2) | i8 |
//! | `i8mm` | `smmla` 2×8 · 8×2 blocks (ARMv8.6) | i8 |
//!
//! The signed (ARM) kernels read `A` shifted to i8 (`a - 128`); the epilogue
//! adds the shift back through the column sums, so every kernel computes the
//! same exact integers. The sum over `k` is exact in i32 for `k` up to
//! [`MAX_DEPTH`].

use crate::error::TensorError;
use crate::features::Feature;
use crate::isa::Isa;

mod driver;
pub(crate) mod epilogue;
mod pack;
mod scalar;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512vnni;
#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "aarch64")]
mod neon_dot;
#[cfg(target_arch = "aarch64")]
mod neon_i8mm;

#[cfg(test)]
mod tests;

pub use driver::{QOutput, ZeroPoints, gemm_u8i8};
pub use epilogue::{Dequantize, QuantMultiplier, Requantize};
pub use pack::{PackedI8B, U8Matrix};

/// The largest depth `k` a product may have: `k · 255 · 255` (the largest
/// possible `Σ (a - za)(b - zb)`) stays below `2³¹`.
pub const MAX_DEPTH: usize = 32_768;

/// One int8 GEMM micro-kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QGemmKernel {
    /// `i8-gemm-<MR>x<NR>-<variant>`, the name tests and benches use.
    pub name: &'static str,
    /// The tier whose registers it uses.
    pub isa: Isa,
    /// The optional feature it needs on top of the tier.
    pub feature: Option<Feature>,
    /// Rows of the register tile.
    pub mr: usize,
    /// Columns of the register tile (the B panel width).
    pub nr: usize,
    /// Depth grouping of the packed operands.
    pub kg: usize,
    /// Whether the kernel reads `A` as i8 (`a - 128`).
    pub a_signed: bool,
}

impl QGemmKernel {
    /// True when this CPU can run the kernel.
    pub fn is_available(&self) -> bool {
        self.isa.is_available() && self.feature.is_none_or(Feature::is_available)
    }

    /// The best kernel for tier `isa` on this CPU (a tier without an int8
    /// kernel of its own uses the next lower one; SSE4.1 uses the scalar
    /// kernel).
    pub fn best_for(isa: Isa) -> QGemmKernel {
        let candidates: &[QGemmKernel] = match isa {
            Isa::Avx512 => &[AVX512_VNNI, AVX2],
            Isa::Avx2 => &[AVX2],
            Isa::Neon => &[NEON_I8MM, NEON_DOT, NEON],
            _ => &[],
        };
        candidates
            .iter()
            .copied()
            .find(QGemmKernel::is_available)
            .unwrap_or(SCALAR)
    }
}

const SCALAR: QGemmKernel = kernel("i8-gemm-4x8-scalar", Isa::Scalar, None, (4, 8, 4), false);
const AVX2: QGemmKernel = kernel("i8-gemm-6x16-avx2", Isa::Avx2, None, (6, 16, 2), false);
const AVX512_VNNI: QGemmKernel = kernel(
    "i8-gemm-8x32-avx512vnni",
    Isa::Avx512,
    Some(Feature::Avx512Vnni),
    (8, 32, 4),
    false,
);
const NEON: QGemmKernel = kernel("i8-gemm-4x4-neon", Isa::Neon, None, (4, 4, 16), true);
const NEON_DOT: QGemmKernel = kernel(
    "i8-gemm-8x8-dotprod",
    Isa::Neon,
    Some(Feature::DotProd),
    (8, 8, 4),
    true,
);
const NEON_I8MM: QGemmKernel = kernel(
    "i8-gemm-8x8-i8mm",
    Isa::Neon,
    Some(Feature::I8mm),
    (8, 8, 8),
    true,
);

const fn kernel(
    name: &'static str,
    isa: Isa,
    feature: Option<Feature>,
    (mr, nr, kg): (usize, usize, usize),
    a_signed: bool,
) -> QGemmKernel {
    QGemmKernel {
        name,
        isa,
        feature,
        mr,
        nr,
        kg,
        a_signed,
    }
}

/// Every int8 GEMM micro-kernel, whatever the CPU or target (check
/// [`QGemmKernel::is_available`] before running one).
pub const I8_GEMM_KERNELS: [QGemmKernel; 6] =
    [SCALAR, AVX2, AVX512_VNNI, NEON, NEON_DOT, NEON_I8MM];

/// The largest `MR × NR` tile of any kernel.
pub(crate) const MAX_TILE: usize = 8 * 32;

/// Fails unless `kernel` is one of [`I8_GEMM_KERNELS`] (its fields are
/// public, so a caller could describe a kernel that does not exist).
fn check_known(kernel: &QGemmKernel) -> Result<(), TensorError> {
    if I8_GEMM_KERNELS.contains(kernel) {
        Ok(())
    } else {
        Err(TensorError::KernelUnavailable {
            kernel: kernel.name,
        })
    }
}

/// Fails unless `kernel` is known and the CPU can run it.
fn check_available(kernel: &QGemmKernel) -> Result<(), TensorError> {
    check_known(kernel)?;
    if kernel.is_available() {
        Ok(())
    } else {
        Err(TensorError::KernelUnavailable {
            kernel: kernel.name,
        })
    }
}
