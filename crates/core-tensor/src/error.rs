//! Errors of tensor construction and typed access.

use crate::isa::Isa;
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
    /// A kernel was asked to run on a SIMD tier this CPU does not have.
    #[error("the {isa} kernels cannot run here: this CPU lacks that tier")]
    IsaUnavailable {
        /// The tier asked for.
        isa: Isa,
    },
    /// The operands of a matrix product do not fit together
    /// (`A` must be m×k, `B` k×n and `C` m×n).
    #[error("matrix product shapes disagree: A is {a:?}, B is {b:?}, C is {c:?}")]
    MatMulShapeMismatch {
        /// Rows and columns of `A`.
        a: (usize, usize),
        /// Rows and columns of `B`.
        b: (usize, usize),
        /// Rows and columns of `C`.
        c: (usize, usize),
    },
    /// Row-major access to a tensor stored packed for the GEMM.
    #[error("the tensor is stored packed for the GEMM and cannot be read as rows")]
    PackedData,
    /// A packed `B` of k×n does not match the tensor shape it stands for.
    #[error("a packed {k}×{n} matrix cannot be a tensor of shape {shape:?}")]
    PackedShapeMismatch {
        /// The tensor's shape.
        shape: Vec<usize>,
        /// Rows of `B`.
        k: usize,
        /// Columns of `B`.
        n: usize,
    },
    /// A pre-packed `B` has panels of another width than the tier's kernel.
    #[error("B is packed in {actual}-column panels, the {isa} GEMM kernel needs {expected}")]
    PackedPanelMismatch {
        /// The tier asked for.
        isa: Isa,
        /// The panel width of that tier's kernel.
        expected: usize,
        /// The panel width B was packed with.
        actual: usize,
    },
    /// A kernel was called with arguments it does not support (the
    /// caller should have checked, e.g. with `depthwise::is_supported`).
    #[error("{kernel}: {reason}")]
    InvalidKernelArguments {
        /// The kernel (family) name.
        kernel: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// An int8 kernel needs an instruction family this CPU lacks.
    #[error("the {kernel} kernel cannot run here: this CPU lacks its instructions")]
    KernelUnavailable {
        /// The kernel's name.
        kernel: &'static str,
    },
    /// A pre-packed operand was packed for another kernel than the one asked
    /// to run.
    #[error("the operand was packed for {packed_for}, not for {kernel}")]
    PackedKernelMismatch {
        /// The kernel asked to run.
        kernel: &'static str,
        /// The kernel the operand was packed for.
        packed_for: &'static str,
    },
    /// An int8 product is deeper than its i32 accumulators allow.
    #[error("an int8 product of depth {k} exceeds the maximum depth {max}")]
    DepthTooLarge {
        /// The depth asked for.
        k: usize,
        /// The largest supported depth.
        max: usize,
    },
    /// A quantization parameter is not usable (a scale that is not finite and
    /// positive, a list of the wrong length ...).
    #[error("invalid quantization parameter: {reason}")]
    InvalidQuantization {
        /// What is wrong.
        reason: String,
    },
    /// A sparse matrix's raw parts are inconsistent (an offset or index out
    /// of range, a length that does not match, unsorted indices ...).
    #[error("invalid sparse matrix: {reason}")]
    InvalidSparseMatrix {
        /// What is wrong.
        reason: String,
    },
}
