//! The f32 reference products: plain loops over the stored blocks, one
//! output at a time, no tiling, no SIMD. The oracle of the tier tests (and
//! checked themselves against a dense product in the tests).

use super::{SparseMatrix, check_len};
use crate::error::TensorError;
use crate::kernels::gemm::Epilogue;

/// The value `W[row, ·] · column` where `x_at(c)` is the column's entry `c`.
fn row_dot(w: &SparseMatrix<f32>, columns: &[u32], row: usize, x_at: impl Fn(usize) -> f32) -> f32 {
    let shape = w.shape();
    let (br, bc) = (shape.block_rows(), shape.block_cols());
    let (block_row, r) = (row / br, row % br);
    let (start, end) = (
        w.block_ptr()[block_row] as usize,
        w.block_ptr()[block_row + 1] as usize,
    );
    let mut sum = 0.0f32;
    for (j, &first) in columns.iter().enumerate().take(end).skip(start) {
        for q in 0..bc {
            sum += w.values()[j * br * bc + r * bc + q] * x_at(first as usize + q);
        }
    }
    sum
}

/// [`super::sparse_pointwise_f32`] computed the slow, obvious way.
pub fn sparse_pointwise_f32_reference(
    w: &SparseMatrix<f32>,
    x: &[f32],
    n: usize,
    y: &mut [f32],
    epilogue: &Epilogue<'_>,
) -> Result<(), TensorError> {
    check_len(x.len(), w.cols(), n)?;
    check_len(y.len(), w.rows(), n)?;
    epilogue.check(w.rows(), n)?;
    let columns = w.columns();
    for row in 0..w.rows() {
        let out = &mut y[row * n..(row + 1) * n];
        for (col, o) in out.iter_mut().enumerate() {
            *o = row_dot(w, &columns, row, |c| x[c * n + col]);
        }
        epilogue.apply_row(out, row, 0);
    }
    Ok(())
}

/// [`super::sparse_linear_f32`] computed the slow, obvious way.
pub fn sparse_linear_f32_reference(
    w: &SparseMatrix<f32>,
    x: &[f32],
    batch: usize,
    y: &mut [f32],
    epilogue: &Epilogue<'_>,
) -> Result<(), TensorError> {
    let (k, m) = (w.cols(), w.rows());
    check_len(x.len(), batch, k)?;
    check_len(y.len(), batch, m)?;
    epilogue.check(batch, m)?;
    let columns = w.columns();
    for i in 0..batch {
        let x_row = &x[i * k..(i + 1) * k];
        let out = &mut y[i * m..(i + 1) * m];
        for (row, o) in out.iter_mut().enumerate() {
            *o = row_dot(w, &columns, row, |c| x_row[c]);
        }
        epilogue.apply_row(out, i, 0);
    }
    Ok(())
}
