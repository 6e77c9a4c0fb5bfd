//! Low-rank fully connected layers: `Y = epilogue((X · Vᵀ) · Uᵀ)`.
//!
//! A weight `W` (`M × K`, `M` outputs, `K` inputs) factorized by a
//! truncated SVD as `W ≈ U · V` (`U` is `M × r`, `V` is `r × K`, the
//! singular values folded into `U`) costs `r · (M + K)` multiply-adds per
//! row of `X` instead of `M · K`. [`low_rank_linear_f32`] runs both thin
//! products in one pass over blocks of rows of `X`: the rank-`r`
//! intermediate `T = X_block · Vᵀ` of a block (`mc × r` values, the GEMM's
//! row block: tens of KB) stays in cache while `T · Uᵀ` and the epilogue
//! (bias, activation) produce the block's outputs.
//!
//! Both products are the f32 GEMM of [`crate::kernels::gemm`]. A single
//! row (batch 1, a matrix × vector product) streams the rows of `V` and `U`
//! in place with the GEMM's dot-product path; more rows use `Vᵀ` and `Uᵀ`
//! packed once ([`PackedLowRank`], made once per model by the operator).
//!
//! ```
//! use pocketnn_tensor::Isa;
//! use pocketnn_tensor::kernels::gemm::Epilogue;
//! use pocketnn_tensor::kernels::lowrank::{LowRankFactors, low_rank_linear_f32};
//!
//! // W = U·V = [[1, 2], [2, 4]] (rank 1): y = W·x for x = [1, 1] is [3, 6].
//! let factors = LowRankFactors::new(&[1.0, 2.0], &[1.0, 2.0], 1, 2, 2)?;
//! let mut y = [f32::NAN; 2];
//! low_rank_linear_f32(Isa::best(), &factors, &[1.0, 1.0], 1, &mut y, &Epilogue::default(), 1)?;
//! assert_eq!(y, [3.0, 6.0]);
//! # Ok::<(), pocketnn_tensor::TensorError>(())
//! ```

use crate::error::TensorError;
use crate::isa::Isa;
use crate::kernels::gemm::{
    Epilogue, GemmB, GemmOptions, MatMut, MatRef, PackedB, f32_gemm_kernel, gemm_f32_with,
};

mod reference;
#[cfg(test)]
mod tests;

pub use reference::low_rank_linear_reference;

const KERNEL: &str = "f32-low-rank-linear";

/// The factors of a low-rank weight `W ≈ U · V`, borrowed row-major:
/// `V` is `rank × inputs`, `U` is `outputs × rank`.
#[derive(Clone, Copy, Debug)]
pub struct LowRankFactors<'a> {
    v: &'a [f32],
    u: &'a [f32],
    rank: usize,
    inputs: usize,
    outputs: usize,
    packed: Option<&'a PackedLowRank>,
}

fn checked_len(a: usize, b: usize) -> Result<usize, TensorError> {
    a.checked_mul(b)
        .ok_or(TensorError::ShapeOverflow { shape: vec![a, b] })
}

fn check_len(actual: usize, expected: usize) -> Result<(), TensorError> {
    if actual != expected {
        return Err(TensorError::LengthMismatch {
            expected: expected.saturating_mul(size_of::<f32>()),
            actual: actual.saturating_mul(size_of::<f32>()),
        });
    }
    Ok(())
}

impl<'a> LowRankFactors<'a> {
    /// Views `v` (`rank × inputs`) and `u` (`outputs × rank`). Fails when
    /// `rank` is 0 ([`TensorError::InvalidKernelArguments`]) or a slice's
    /// length does not match its shape ([`TensorError::LengthMismatch`]).
    pub fn new(
        v: &'a [f32],
        u: &'a [f32],
        rank: usize,
        inputs: usize,
        outputs: usize,
    ) -> Result<Self, TensorError> {
        if rank == 0 {
            return Err(TensorError::InvalidKernelArguments {
                kernel: KERNEL,
                reason: "the rank must be at least 1",
            });
        }
        check_len(v.len(), checked_len(rank, inputs)?)?;
        check_len(u.len(), checked_len(outputs, rank)?)?;
        Ok(LowRankFactors {
            v,
            u,
            rank,
            inputs,
            outputs,
            packed: None,
        })
    }

    /// The same factors with their packed form (see [`PackedLowRank`]),
    /// which products of more than one row use. Fails when `packed` was
    /// made from factors of other shapes.
    pub fn with_packed(self, packed: &'a PackedLowRank) -> Result<Self, TensorError> {
        let (v, u) = (packed.v_t.layout(), packed.u_t.layout());
        if (v.k, v.n, u.k, u.n) != (self.inputs, self.rank, self.rank, self.outputs) {
            return Err(TensorError::MatMulShapeMismatch {
                a: (self.inputs, self.rank),
                b: (v.k, v.n),
                c: (u.k, u.n),
            });
        }
        Ok(LowRankFactors {
            packed: Some(packed),
            ..self
        })
    }

    /// `r`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// `K`, the columns of `V` (the layer's inputs).
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// `M`, the rows of `U` (the layer's outputs).
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// `V` (`rank × inputs`, row-major).
    pub fn v(&self) -> &'a [f32] {
        self.v
    }

    /// `U` (`outputs × rank`, row-major).
    pub fn u(&self) -> &'a [f32] {
        self.u
    }

    fn v_t(&self) -> Result<MatRef<'a>, TensorError> {
        Ok(MatRef::row_major(self.v, self.rank, self.inputs)?.t())
    }

    fn u_t(&self) -> Result<MatRef<'a>, TensorError> {
        Ok(MatRef::row_major(self.u, self.outputs, self.rank)?.t())
    }
}

/// `Vᵀ` and `Uᵀ` packed for one tier's GEMM kernel: made once per model
/// (the factors are constant weights), used by every product of more than
/// one row.
#[derive(Clone, Debug)]
pub struct PackedLowRank {
    v_t: PackedB,
    u_t: PackedB,
}

impl PackedLowRank {
    /// Packs the factors for the kernel of tier `isa` (the CPU need not
    /// have it).
    pub fn pack(isa: Isa, factors: &LowRankFactors<'_>) -> Result<PackedLowRank, TensorError> {
        Ok(PackedLowRank {
            v_t: PackedB::pack(isa, factors.v_t()?)?,
            u_t: PackedB::pack(isa, factors.u_t()?)?,
        })
    }
}

/// `Y = epilogue((X · Vᵀ) · Uᵀ)` for `rows` rows: `x` is `rows × inputs`,
/// `y` is `rows × outputs`, both row-major; the epilogue's bias and
/// residual are `rows × outputs` views (a Linear bias through
/// [`Epilogue::column_bias`]). Uses up to `threads` threads for each product.
///
/// Fails when a length does not match ([`TensorError::LengthMismatch`]),
/// the epilogue does not fit `Y`, the packed factors are for another tier
/// ([`TensorError::PackedPanelMismatch`]) or the CPU lacks tier `isa`
/// ([`TensorError::IsaUnavailable`]). `y`'s old contents are never read.
pub fn low_rank_linear_f32(
    isa: Isa,
    factors: &LowRankFactors<'_>,
    x: &[f32],
    rows: usize,
    y: &mut [f32],
    epilogue: &Epilogue<'_>,
    threads: usize,
) -> Result<(), TensorError> {
    let (k, r, m) = (factors.inputs, factors.rank, factors.outputs);
    check_len(x.len(), checked_len(rows, k)?)?;
    check_len(y.len(), checked_len(rows, m)?)?;
    epilogue.check(rows, m)?;
    if !isa.is_available() {
        return Err(TensorError::IsaUnavailable { isa });
    }
    if rows == 0 || m == 0 {
        return Ok(());
    }
    // One GEMM row block of X at a time: its rank-r intermediate (block × r
    // floats) stays in cache between the two products.
    let block = f32_gemm_kernel(isa).mc.min(rows);
    let mut t = vec![0.0f32; checked_len(block, r)?];
    let plain = GemmOptions {
        threads,
        ..GemmOptions::default()
    };
    let mut start = 0;
    while start < rows {
        let count = block.min(rows - start);
        let x_block = MatRef::row_major(&x[start * k..(start + count) * k], count, k)?;
        let t_block = &mut t[..count * r];
        let (v_t, u_t) = match factors.packed {
            // A single row streams V and U in place (the GEMM's dot-product
            // path); packing would only cost time.
            Some(packed) if count > 1 => (
                GemmB::Packed(packed.v_t.view()),
                GemmB::Packed(packed.u_t.view()),
            ),
            _ => (
                GemmB::Strided(factors.v_t()?),
                GemmB::Strided(factors.u_t()?),
            ),
        };
        gemm_f32_with(
            isa,
            x_block,
            v_t,
            MatMut::row_major(t_block, count, r)?,
            &plain,
        )?;
        let finish = GemmOptions {
            epilogue: epilogue.rows(start, count),
            threads,
            ..GemmOptions::default()
        };
        gemm_f32_with(
            isa,
            MatRef::row_major(t_block, count, r)?,
            u_t,
            MatMut::row_major(&mut y[start * m..(start + count) * m], count, m)?,
            &finish,
        )?;
        start += count;
    }
    Ok(())
}
