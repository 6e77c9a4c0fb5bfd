//! Operator family `sparse` (see `docs/ops/sparse.md`): layers whose
//! constant weight matrix is stored sparse (CSR, 1×4 or 4×1 blocks), as
//! `pocketnn convert --prune` writes them, run on the sparse kernels of
//! `pocketnn_tensor::kernels::sparse`.
//!
//! * `SparseLinear` (208): f32 `X [..., K]` times `Wᵀ`, bias, fused activation;
//! * `SparseConv` (209): f32 1×1 convolution of `X [N, K, H, W]`;
//! * `SparseQLinearConv` (210): `QLinearConv` with a 1×1 kernel and sparse
//!   symmetric i8 weights, u8 in and out.
//!
//! The weight parts (`values`, `block_ptr`, `columns`) are validated into a
//! `SparseMatrix` the first time an operator sees them and, when they are
//! model constants, kept for the model's lifetime (`parts.rs`).

use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::Operator;
use pocketnn_format::OpCode;

mod float;
mod parts;
mod qconv;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_errors;
#[cfg(test)]
mod tests_quant;
#[cfg(test)]
mod tests_threads;

fn boxed<T: Operator + 'static>(op: OpResult<T>) -> OpResult<Box<dyn Operator>> {
    op.map(|o| Box::new(o) as Box<dyn Operator>)
}

/// Builds `op` if it belongs to this family.
pub(crate) fn build(op: OpCode, attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    Some(match op {
        OpCode::SparseLinear => boxed(float::SparseFloat::linear(attrs)),
        OpCode::SparseConv => boxed(float::SparseFloat::conv(attrs)),
        OpCode::SparseQLinearConv => boxed(qconv::SparseQLinearConv::build(attrs)),
        _ => return None,
    })
}

/// Runs `task(first_row, rows_of_y)` over `y` cut into rows of `row_len`
/// values (`row_len > 0`): whole on the calling thread when `threads` is 1
/// or `y` has one row, else in about `threads` blocks of rows on the
/// current rayon pool (the runtime calls operators inside it).
fn for_row_blocks<O: Send>(
    threads: usize,
    y: &mut [O],
    row_len: usize,
    task: &(dyn Fn(usize, &mut [O]) -> OpResult<()> + Sync),
) -> OpResult<()> {
    let rows = y.len() / row_len.max(1);
    if threads <= 1 || rows <= 1 {
        return task(0, y);
    }
    let per_block = rows.div_ceil(threads);
    crate::parallel::for_each_chunk_mut(y, per_block * row_len, &|i, block| {
        task(i * per_block, block)
    })
}

/// Rows `first .. first + count` of `x`, `row_len` values each.
fn input_rows<T>(x: &[T], row_len: usize, first: usize, count: usize) -> OpResult<&[T]> {
    let range = first.checked_mul(row_len).zip(
        first
            .checked_add(count)
            .and_then(|end| end.checked_mul(row_len)),
    );
    range
        .and_then(|(start, end)| x.get(start..end))
        .ok_or_else(|| OpError::ShapeMismatch {
            reason: format!(
                "input of {} values has no rows {first}..{} of {row_len}",
                x.len(),
                first.saturating_add(count)
            ),
        })
}
