//! Errors of tensor construction and typed access.

use pocketnn_format::DType;

/// A tensor could not be viewed or built as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TensorError {
    /// The tensor's dtype is not the one asked for.
    #[error("expected a {expected} tensor, got {actual}")]
    DTypeMismatch {
        /// The dtype asked for.
        expected: DType,
        /// The tensor's dtype.
        actual: DType,
    },
    /// The byte length does not match dtype × shape.
    #[error("tensor data is {actual} bytes, its shape needs {expected}")]
    LengthMismatch {
        /// Bytes the shape needs.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The element count or byte size overflows `usize`.
    #[error("shape {shape:?} is too large")]
    ShapeOverflow {
        /// The offending shape.
        shape: Vec<usize>,
    },
    /// The bytes are not aligned for the element type.
    #[error("tensor data is not aligned to {align} bytes")]
    Misaligned {
        /// Alignment the element type needs.
        align: usize,
    },
}
