//! Sparse × dense products with a constant sparse weight matrix
//! ([`SparseMatrix`]: CSR or 1×4 / 4×1 blocks), in f32 and in int8.
//!
//! Two data layouts, those of the dense operators:
//!
//! * **pointwise** (a 1×1 convolution over NCHW activations):
//!   `Y (m × n) = W (m × k) · X (k × n)`, `X` and `Y` row-major, `m` the
//!   output channels, `k` the input channels, `n = H·W` the pixels of one
//!   image — exactly the operands the dense pointwise convolution hands to
//!   the GEMM (`crates/ops/src/nn/conv.rs`). Vectorised along `n`.
//! * **linear** (a fully connected layer, `Gemm` with `transB` or `MatMul`
//!   with a transposed constant): `Y (batch × m) = X (batch × k) · Wᵀ`, `X`
//!   and `Y` row-major, `W` stored `out × in`. Each output is a sparse dot
//!   product; batch 1 (matrix × vector) is the case it is built for.
//!
//! f32 ([`sparse_pointwise_f32`], [`sparse_linear_f32`]) runs on every
//! [`Isa`] tier, each kernel written once over the vector layer of
//! `kernels/simd` and compiled per tier; the bias, residual and activation
//! (ReLU, ReLU6 as `Clip` ...) come from the GEMM's [`Epilogue`]. int8
//! ([`sparse_pointwise_u8i8`], [`sparse_linear_u8i8`]) multiplies u8
//! activations by symmetric i8 weights into exact i32 sums and finishes with
//! the int8 GEMM's [`Requantize`](crate::kernels::qgemm::Requantize) /
//! [`Dequantize`](crate::kernels::qgemm::Dequantize) (see [`SparseI8Matrix`]).
//!
//! Every entry point checks its operands and returns a [`TensorError`];
//! none reads or writes out of bounds whatever the matrix's raw parts were
//! (they are validated when the matrix is built).
//!
//! ```
//! use pocketnn_tensor::Isa;
//! use pocketnn_tensor::kernels::gemm::Epilogue;
//! use pocketnn_tensor::kernels::sparse::{BlockShape, SparseMatrix, sparse_linear_f32};
//!
//! // W = [[0, 2], [3, 0]], x = [1, 10]: y = W·x = [20, 3].
//! let w = SparseMatrix::from_dense(&[0.0, 2.0, 3.0, 0.0], 2, 2, BlockShape::Csr)?;
//! let mut y = [f32::NAN; 2];
//! sparse_linear_f32(Isa::best(), &w, &[1.0, 10.0], 1, &mut y, &Epilogue::default())?;
//! assert_eq!(y, [20.0, 3.0]);
//! # Ok::<(), pocketnn_tensor::TensorError>(())
//! ```

use crate::error::TensorError;
use crate::isa::Isa;
use crate::kernels::gemm::Epilogue;
use crate::kernels::simd::run_on;
use f32_kernels::{Linear, Parts, Pointwise};
use matrix::{ColumnIndex, Columns};

#[cfg(target_arch = "x86_64")]
mod f32_gather;
mod f32_kernels;
mod i8_epilogue;
mod i8_kernels;
mod i8_matrix;
mod matrix;
mod reference;

#[cfg(target_arch = "x86_64")]
mod i8_avx2;
#[cfg(target_arch = "x86_64")]
mod i8_avx512vnni;
#[cfg(target_arch = "x86_64")]
mod i8_linear_avx2;
#[cfg(target_arch = "aarch64")]
mod i8_linear_neon;
#[cfg(target_arch = "aarch64")]
mod i8_neon;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_i8;

pub use i8_kernels::{
    SPARSE_I8_KERNELS, SparseI8Kernel, SparseQOutput, sparse_linear_u8i8, sparse_pointwise_u8i8,
};
pub use i8_matrix::SparseI8Matrix;
pub use matrix::{BlockShape, SparseElement, SparseMatrix};
pub use reference::{sparse_linear_f32_reference, sparse_pointwise_f32_reference};

/// `rows · cols`, or [`TensorError::ShapeOverflow`].
pub(crate) fn checked_len(rows: usize, cols: usize) -> Result<usize, TensorError> {
    rows.checked_mul(cols)
        .ok_or_else(|| TensorError::ShapeOverflow {
            shape: vec![rows, cols],
        })
}

/// Fails unless `len` is `rows · cols`.
pub(crate) fn check_len(len: usize, rows: usize, cols: usize) -> Result<(), TensorError> {
    let expected = checked_len(rows, cols)?;
    if len != expected {
        return Err(TensorError::LengthMismatch {
            expected,
            actual: len,
        });
    }
    Ok(())
}

/// Pointwise layout: `Y (m × n) = epilogue(W (m × k) · X (k × n))`, `X` and
/// `Y` row-major, on tier `isa`.
///
/// Fails when `x` is not `k · n` long, `y` not `m · n`, the epilogue's bias
/// or residual not `m × n` (use [`Epilogue::row_bias`] for a per-channel
/// bias), or the CPU lacks the tier. `y`'s old contents are never read.
pub fn sparse_pointwise_f32(
    isa: Isa,
    w: &SparseMatrix<f32>,
    x: &[f32],
    n: usize,
    y: &mut [f32],
    epilogue: &Epilogue<'_>,
) -> Result<(), TensorError> {
    check_len(x.len(), w.cols(), n)?;
    check_len(y.len(), w.rows(), n)?;
    epilogue.check(w.rows(), n)?;
    match w.column_indices() {
        Columns::U16(c) => pointwise(isa, parts(w, c), x, n, y, epilogue, w.shape()),
        Columns::U32(c) => pointwise(isa, parts(w, c), x, n, y, epilogue, w.shape()),
    }
}

/// Linear layout: `Y (batch × m) = epilogue(X (batch × k) · Wᵀ)`, `X` and
/// `Y` row-major, on tier `isa`.
///
/// Fails when `x` is not `batch · k` long, `y` not `batch · m`, the
/// epilogue's bias or residual not `batch × m` (use
/// [`Epilogue::column_bias`] for a per-output bias), or the CPU lacks the
/// tier. `y`'s old contents are never read.
pub fn sparse_linear_f32(
    isa: Isa,
    w: &SparseMatrix<f32>,
    x: &[f32],
    batch: usize,
    y: &mut [f32],
    epilogue: &Epilogue<'_>,
) -> Result<(), TensorError> {
    check_len(x.len(), batch, w.cols())?;
    check_len(y.len(), batch, w.rows())?;
    epilogue.check(batch, w.rows())?;
    #[cfg(target_arch = "x86_64")]
    if let (BlockShape::Csr, Columns::U16(c)) = (w.shape(), w.column_indices())
        && matches!(isa, Isa::Avx2 | Isa::Avx512)
    {
        return linear_csr_gather(isa, parts(w, c), x, batch, y, epilogue);
    }
    match w.column_indices() {
        Columns::U16(c) => linear(isa, parts(w, c), x, batch, y, epilogue, w.shape()),
        Columns::U32(c) => linear(isa, parts(w, c), x, batch, y, epilogue, w.shape()),
    }
}

fn parts<'a, I>(w: &'a SparseMatrix<f32>, columns: &'a [I]) -> Parts<'a, I> {
    Parts {
        rows: w.rows(),
        cols: w.cols(),
        block_ptr: w.block_ptr(),
        columns,
        values: w.values(),
    }
}

fn pointwise<I: ColumnIndex>(
    isa: Isa,
    w: Parts<'_, I>,
    x: &[f32],
    n: usize,
    y: &mut [f32],
    epilogue: &Epilogue<'_>,
    shape: BlockShape,
) -> Result<(), TensorError> {
    match shape {
        BlockShape::Csr => run_on(
            isa,
            Pointwise::<I, 1, 1, 4> {
                w,
                x,
                n,
                y,
                epilogue,
            },
        ),
        BlockShape::Row1x4 => run_on(
            isa,
            Pointwise::<I, 1, 4, 4> {
                w,
                x,
                n,
                y,
                epilogue,
            },
        ),
        BlockShape::Col4x1 => run_on(
            isa,
            Pointwise::<I, 4, 1, 2> {
                w,
                x,
                n,
                y,
                epilogue,
            },
        ),
    }
}

fn linear<I: ColumnIndex>(
    isa: Isa,
    w: Parts<'_, I>,
    x: &[f32],
    batch: usize,
    y: &mut [f32],
    epilogue: &Epilogue<'_>,
    shape: BlockShape,
) -> Result<(), TensorError> {
    match shape {
        BlockShape::Csr => run_on(
            isa,
            Linear::<I, 1, 1, 8> {
                w,
                x,
                batch,
                y,
                epilogue,
            },
        ),
        BlockShape::Row1x4 => run_on(
            isa,
            Linear::<I, 1, 4, 2> {
                w,
                x,
                batch,
                y,
                epilogue,
            },
        ),
        BlockShape::Col4x1 => run_on(
            isa,
            Linear::<I, 4, 1, 2> {
                w,
                x,
                batch,
                y,
                epilogue,
            },
        ),
    }
}

/// The CSR linear product with hardware gathers (AVX2, AVX-512), u16
/// columns. Lengths were checked by the caller.
#[cfg(target_arch = "x86_64")]
fn linear_csr_gather(
    isa: Isa,
    w: Parts<'_, u16>,
    x: &[f32],
    batch: usize,
    y: &mut [f32],
    epilogue: &Epilogue<'_>,
) -> Result<(), TensorError> {
    let unavailable = TensorError::IsaUnavailable { isa };
    let avx512 = match isa {
        Isa::Avx512 => Some(crate::isa::Avx512Token::new().ok_or(unavailable.clone())?),
        _ => None,
    };
    let avx2 = crate::isa::Avx2Token::new().ok_or(unavailable)?;
    let (k, m) = (w.cols, w.rows);
    for i in 0..batch {
        let x_row = &x[i * k..(i + 1) * k];
        let y_row = &mut y[i * m..(i + 1) * m];
        for (out, pair) in y_row.iter_mut().zip(w.block_ptr.windows(2)) {
            let (start, end) = (pair[0] as usize, pair[1] as usize);
            let (columns, values) = (&w.columns[start..end], &w.values[start..end]);
            *out = match avx512 {
                // SAFETY: the columns of a `SparseMatrix` were validated to
                // be below `cols` on construction, and `x_row` holds `cols`
                // values (its length was checked by the caller).
                Some(token) => unsafe { f32_gather::dot_avx512(token, columns, values, x_row) },
                // SAFETY: as above.
                None => unsafe { f32_gather::dot_avx2(avx2, columns, values, x_row) },
            };
        }
        if !epilogue.is_identity() {
            epilogue.apply_row(y_row, i, 0);
        }
    }
    Ok(())
}
