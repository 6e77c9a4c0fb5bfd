//! Operator family `elementwise` (see `docs/ops/elementwise.md`): unary and
//! binary arithmetic, comparisons and logic, `Cast`, reductions, softmax and
//! tensor creation.
//!
//! Layout of the family:
//! * [`numeric`]: the element types and their arithmetic (wrapping integers,
//!   no panics);
//! * [`broadcast`]: numpy broadcasting arranged into contiguous runs, the
//!   engine under every multi-input operator, with optional rayon chunks;
//! * one file per group of operators, each exposing `build`.

use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::Operator;
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{AlignedBuf, TensorViewMut};

mod argminmax;
mod binary;
mod broadcast;
mod cast;
mod clip;
mod compare;
mod creation;
mod math;
mod numeric;
mod reduce;
mod softmax;
mod unary;
mod variadic;

#[cfg(test)]
mod tests;

/// Builds `op` if it belongs to this family.
pub(crate) fn build(op: OpCode, attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    unary::build(op, attrs)
        .or_else(|| clip::build(op, attrs))
        .or_else(|| binary::build(op, attrs))
        .or_else(|| variadic::build(op, attrs))
        .or_else(|| compare::build(op, attrs))
        .or_else(|| cast::build(op, attrs))
        .or_else(|| reduce::build(op, attrs))
        .or_else(|| argminmax::build(op, attrs))
        .or_else(|| softmax::build(op, attrs))
        .or_else(|| creation::build(op, attrs))
}

/// Boxes a built operator for [`build`].
fn boxed<T: Operator + 'static>(built: OpResult<T>) -> Option<OpResult<Box<dyn Operator>>> {
    Some(built.map(|op| Box::new(op) as Box<dyn Operator>))
}

/// Dtypes of the numeric kernels (everything but `Bool`).
const NUMERIC: &[DType] = &[
    DType::F32,
    DType::F16,
    DType::I8,
    DType::U8,
    DType::I32,
    DType::I64,
];

/// The floating-point dtypes.
const FLOATS: &[DType] = &[DType::F32, DType::F16];

/// Checks that input `index` has one of the `allowed` dtypes.
fn check_dtype(index: usize, dtype: DType, allowed: &[DType]) -> OpResult<()> {
    if allowed.contains(&dtype) {
        Ok(())
    } else {
        Err(OpError::UnsupportedDType { index, dtype })
    }
}

/// Checks that input `index` has the dtype `expected`.
fn check_same_dtype(index: usize, actual: DType, expected: DType) -> OpResult<()> {
    if actual == expected {
        Ok(())
    } else {
        Err(OpError::DTypeMismatch {
            index,
            expected,
            actual,
        })
    }
}

/// The first output; operators of this family have one output, which the
/// runtime never omits.
fn first_output<'a, 'b>(
    outputs: &'a mut [TensorViewMut<'b>],
) -> OpResult<&'a mut TensorViewMut<'b>> {
    outputs.first_mut().ok_or_else(|| OpError::Unsupported {
        what: "running without output 0".to_string(),
    })
}

/// An internal-consistency error: a buffer is shorter than its shape says
/// (the runtime gave an output of another shape than `infer` returned).
fn length_mismatch(what: &str) -> OpError {
    OpError::ShapeMismatch {
        reason: format!("{what} does not match the inferred shape"),
    }
}

/// `len` elements of `T` from the session's scratch buffer (reused across
/// runs; contents arbitrary).
fn scratch_slice<T: bytemuck::Pod>(scratch: &mut AlignedBuf, len: usize) -> OpResult<&mut [T]> {
    let bytes = len
        .checked_mul(std::mem::size_of::<T>())
        .ok_or(OpError::TooLarge { shape: vec![len] })?;
    scratch.resize(bytes);
    bytemuck::try_cast_slice_mut(scratch.as_bytes_mut()).map_err(|_| {
        OpError::Tensor(pocketnn_tensor::TensorError::Misaligned {
            align: std::mem::align_of::<T>(),
        })
    })
}
