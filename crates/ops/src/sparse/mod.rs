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
use crate::error::OpResult;
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
