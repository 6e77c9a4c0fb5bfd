//! f32 matrix multiplication: `C = A · B` or `C += A · B`.
//!
//! Matrices are described by [`MatRef`] (any row and column strides, so a
//! transposed operand is just swapped strides) and [`MatMut`] (unit column
//! stride), which check on construction that every element they address lies
//! inside their slice.
//!
//! [`gemm_f32`] runs a blocked, packed GEMM (see `docs/kernels.md`): `B` is
//! packed into `NR`-column panels, `A` into `MR`-row panels unless it is
//! row-major (then it is read in place), and a register-tiled micro-kernel
//! of the requested [`Isa`] tier computes `MR × NR` tiles of `C`. The kernels, one
//! per tier, are listed in [`F32_GEMM_KERNELS`]; their names
//! (`f32-gemm-<MR>x<NR>-<isa>`) are used for functions, files, tests and
//! benchmarks alike. [`PackedB`] packs a constant `B` (a weight) once so that
//! [`gemm_f32_packed`] can skip that step on every run.
//!
//! ```
//! use pocketnn_tensor::Isa;
//! use pocketnn_tensor::kernels::gemm::{gemm_f32, Accumulate, MatMut, MatRef};
//!
//! let a = [1.0, 2.0, 3.0, 4.0]; // 2×2
//! let w = [5.0, 6.0, 7.0, 8.0]; // 2×2, used transposed: B = Wᵀ
//! let mut c = [f32::NAN; 4];
//! gemm_f32(
//!     Isa::best(),
//!     MatRef::row_major(&a, 2, 2)?,
//!     MatRef::row_major(&w, 2, 2)?.t(),
//!     MatMut::row_major(&mut c, 2, 2)?,
//!     Accumulate::No,
//! )?;
//! assert_eq!(c, [17.0, 23.0, 39.0, 53.0]);
//! # Ok::<(), pocketnn_tensor::TensorError>(())
//! ```

use crate::error::TensorError;
use crate::isa::Isa;
use blocked::{BOperand, Blocking, gemm_blocked, with_scratch};

mod blocked;
mod epilogue;
mod matrix;
mod pack;
mod packed_b;
mod parallel;
mod reference;
mod scalar;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod sse41;

#[cfg(test)]
mod tests;

pub use epilogue::{Epilogue, activate};
pub use matrix::{MatMut, MatRef};
pub use packed_b::{PackedB, PackedBLayout, PackedBRef};

/// Whether the product replaces or adds to `C`'s contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accumulate {
    /// `C = A·B`; `C`'s old contents are never read (NaNs in it do not leak).
    No,
    /// `C += A·B`.
    Yes,
}

/// The `B` operand of [`gemm_f32_with`].
#[derive(Clone, Copy, Debug)]
pub enum GemmB<'a> {
    /// Any strides; packed block by block into scratch memory.
    Strided(MatRef<'a>),
    /// Packed once (see [`PackedB`]); its panel width must be the tier's.
    Packed(PackedBRef<'a>),
    /// Half floats (f16 weights), any strides: widened to f32 while they
    /// are packed block by block (the tier's `f16-f32-vcvt` kernel, see
    /// [`crate::kernels::widen`]). The product equals the f32 GEMM of the
    /// widened matrix, bit for bit.
    StridedF16(MatRef<'a, half::f16>),
}

/// How [`gemm_f32_with`] combines the product with `C`.
#[derive(Clone, Copy, Debug)]
pub struct GemmOptions<'a> {
    /// Whether the product replaces or adds to `C` (before the epilogue).
    pub accumulate: Accumulate,
    /// Scaling, bias, residual and activation applied to each tile of `C`
    /// after its last depth block.
    pub epilogue: Epilogue<'a>,
    /// Threads to split the product over (1: the calling thread only, no
    /// rayon involved). Above 1 the work runs on rayon's current pool.
    pub threads: usize,
}

impl Default for GemmOptions<'_> {
    fn default() -> Self {
        GemmOptions {
            accumulate: Accumulate::No,
            epilogue: Epilogue::default(),
            threads: 1,
        }
    }
}

/// One f32 GEMM micro-kernel: its name, register tile and cache blocking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmKernel {
    /// `f32-gemm-<MR>x<NR>-<isa>`, the name used by functions, tests and benches.
    pub name: &'static str,
    /// The tier whose instructions it needs.
    pub isa: Isa,
    /// Rows of the register tile (and of an A panel).
    pub mr: usize,
    /// Columns of the register tile (and of a B panel, see [`PackedBLayout`]).
    pub nr: usize,
    /// Depth of a cache block.
    pub kc: usize,
    /// Rows of an A cache block (a multiple of `mr`).
    pub mc: usize,
    /// Columns of a B cache block (a multiple of `nr`).
    pub nc: usize,
}

/// Every f32 GEMM micro-kernel, one per tier, lowest tier first. The list
/// does not depend on the CPU or the target: check
/// [`Isa::is_available`] before running one.
pub const F32_GEMM_KERNELS: [GemmKernel; 5] = [
    f32_gemm_kernel(Isa::Scalar),
    f32_gemm_kernel(Isa::Sse41),
    f32_gemm_kernel(Isa::Avx2),
    f32_gemm_kernel(Isa::Avx512),
    f32_gemm_kernel(Isa::Neon),
];

/// The micro-kernel [`gemm_f32`] uses for tier `isa`.
///
/// Block sizes for AVX2 and AVX-512 were measured (1024³ and model shapes,
/// Sapphire Rapids, 48 KB L1d, 2 MB L2): a deep KC (fewer passes over C)
/// beat an L1-sized B panel; the others are untuned starting points.
pub const fn f32_gemm_kernel(isa: Isa) -> GemmKernel {
    let (name, mr, nr, kc, mc, nc) = match isa {
        Isa::Scalar => ("f32-gemm-4x8-scalar", 4, 8, 256, 128, 1024),
        Isa::Sse41 => ("f32-gemm-6x8-sse41", 6, 8, 256, 144, 2048),
        Isa::Avx2 => ("f32-gemm-6x16-avx2", 6, 16, 1024, 168, 256),
        Isa::Avx512 => ("f32-gemm-14x32-avx512", 14, 32, 1024, 168, 512),
        Isa::Neon => ("f32-gemm-8x12-neon", 8, 12, 256, 128, 1020),
    };
    GemmKernel {
        name,
        isa,
        mr,
        nr,
        kc,
        mc,
        nc,
    }
}

fn check_shapes(
    a: (usize, usize),
    b: (usize, usize),
    c: (usize, usize),
) -> Result<(), TensorError> {
    if a.1 != b.0 || a.0 != c.0 || b.1 != c.1 {
        return Err(TensorError::MatMulShapeMismatch { a, b, c });
    }
    Ok(())
}

/// `C = A·B` (or `C += A·B`) with the micro-kernel of tier `isa`.
///
/// Fails when the shapes do not agree (`A` is m×k, `B` k×n, `C` m×n) and
/// when this CPU lacks the tier ([`TensorError::IsaUnavailable`]: no illegal
/// instruction is ever run). Only the m×n elements of `C` are read or
/// written; with [`Accumulate::No`] they are only written.
pub fn gemm_f32(
    isa: Isa,
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: MatMut<'_>,
    accumulate: Accumulate,
) -> Result<(), TensorError> {
    let options = GemmOptions {
        accumulate,
        ..GemmOptions::default()
    };
    gemm_f32_with(isa, a, GemmB::Strided(b), c, &options)
}

/// Like [`gemm_f32`], with `B` already packed (see [`PackedB`]).
///
/// The packed panels must have the width of tier `isa`'s kernel
/// ([`TensorError::PackedPanelMismatch`] otherwise).
pub fn gemm_f32_packed(
    isa: Isa,
    a: MatRef<'_>,
    b: PackedBRef<'_>,
    c: MatMut<'_>,
    accumulate: Accumulate,
) -> Result<(), TensorError> {
    let options = GemmOptions {
        accumulate,
        ..GemmOptions::default()
    };
    gemm_f32_with(isa, a, GemmB::Packed(b), c, &options)
}

/// The general entry point: `C = epilogue(A·B)` (or `epilogue(C + A·B)`),
/// split over `options.threads` threads.
///
/// Fails like [`gemm_f32`] and [`gemm_f32_packed`], and when the epilogue's
/// bias or residual is not m×n. The epilogue runs on each tile of `C` right
/// after the tile's last depth block, while the tile is in L1.
pub fn gemm_f32_with(
    isa: Isa,
    a: MatRef<'_>,
    b: GemmB<'_>,
    c: MatMut<'_>,
    options: &GemmOptions<'_>,
) -> Result<(), TensorError> {
    let b = match b {
        GemmB::Strided(b) => {
            check_shapes(
                (a.rows(), a.cols()),
                (b.rows(), b.cols()),
                (c.rows(), c.cols()),
            )?;
            BOperand::Strided(b)
        }
        GemmB::Packed(b) => {
            let layout = b.layout();
            check_shapes(
                (a.rows(), a.cols()),
                (layout.k, layout.n),
                (c.rows(), c.cols()),
            )?;
            let expected = f32_gemm_kernel(isa).nr;
            if layout.nr != expected {
                return Err(TensorError::PackedPanelMismatch {
                    isa,
                    expected,
                    actual: layout.nr,
                });
            }
            BOperand::Packed(b)
        }
        GemmB::StridedF16(b) => {
            check_shapes(
                (a.rows(), a.cols()),
                (b.rows(), b.cols()),
                (c.rows(), c.cols()),
            )?;
            BOperand::StridedF16 {
                b,
                widener: crate::kernels::widen::Widener::for_isa(isa),
            }
        }
    };
    options.epilogue.check(c.rows(), c.cols())?;
    if !isa.is_available() {
        return Err(TensorError::IsaUnavailable { isa });
    }
    let job = parallel::Job {
        isa,
        blocking: default_blocking(isa),
        accumulate: options.accumulate,
        min_parallel_macs: parallel::MIN_PARALLEL_MACS,
    };
    parallel::run(job, a, b, c, &options.epilogue, options.threads)
}

/// `f32-gemm-scalar`: the reference GEMM, plain loops in k order with no
/// blocking, packing or fused multiply-add. Slow; meant as the oracle for
/// tests (here and in operator crates).
pub fn gemm_f32_reference(
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: MatMut<'_>,
    accumulate: Accumulate,
) -> Result<(), TensorError> {
    check_shapes(
        (a.rows(), a.cols()),
        (b.rows(), b.cols()),
        (c.rows(), c.cols()),
    )?;
    reference::f32_gemm_scalar(a, b, c, accumulate);
    Ok(())
}

fn default_blocking(isa: Isa) -> Blocking {
    let kernel = f32_gemm_kernel(isa);
    Blocking {
        kc: kernel.kc,
        mc: kernel.mc,
        nc: kernel.nc,
        // Measured on x86_64 (AVX2, AVX-512): reading a row-major A in place
        // beat packing it at every shape tried, most at small n.
        a_in_place_max_n: usize::MAX,
        dot_rows: true,
    }
}

/// Picks the micro-kernel of `isa`, after making sure the CPU has it.
/// `blocking` must fit the kernel (`mc`, `nc` multiples of its tile).
fn dispatch(
    isa: Isa,
    blocking: Blocking,
    a: MatRef<'_>,
    b: BOperand<'_>,
    c: MatMut<'_>,
    accumulate: Accumulate,
    epilogue: &Epilogue<'_>,
) -> Result<(), TensorError> {
    let unavailable = TensorError::IsaUnavailable { isa };
    with_scratch(|scratch| {
        match isa {
            Isa::Scalar => {
                gemm_blocked(
                    scalar::ScalarKernel,
                    blocking,
                    a,
                    b,
                    c,
                    accumulate,
                    epilogue,
                    scratch,
                );
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Sse41 => {
                let token = crate::isa::Sse41Token::new().ok_or(unavailable)?;
                gemm_blocked(
                    sse41::Sse41Kernel(token),
                    blocking,
                    a,
                    b,
                    c,
                    accumulate,
                    epilogue,
                    scratch,
                );
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                let token = crate::isa::Avx2Token::new().ok_or(unavailable)?;
                gemm_blocked(
                    avx2::Avx2Kernel(token),
                    blocking,
                    a,
                    b,
                    c,
                    accumulate,
                    epilogue,
                    scratch,
                );
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                let token = crate::isa::Avx512Token::new().ok_or(unavailable)?;
                gemm_blocked(
                    avx512::Avx512Kernel(token),
                    blocking,
                    a,
                    b,
                    c,
                    accumulate,
                    epilogue,
                    scratch,
                );
            }
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => {
                let token = crate::isa::NeonToken::new().ok_or(unavailable)?;
                gemm_blocked(
                    neon::NeonKernel(token),
                    blocking,
                    a,
                    b,
                    c,
                    accumulate,
                    epilogue,
                    scratch,
                );
            }
            #[allow(unreachable_patterns)]
            _ => return Err(unavailable),
        }
        Ok(())
    })
}
