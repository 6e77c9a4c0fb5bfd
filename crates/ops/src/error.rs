//! Errors an operator reports while being built, inferring shapes or running.

use pocketnn_format::DType;
use pocketnn_tensor::TensorError;

/// Why an operator could not be built or run. The runtime adds the node's
/// name and op; these variants say what, precisely, was wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// A required attribute is absent.
    #[error("missing attribute `{name}`")]
    MissingAttribute {
        /// Attribute name.
        name: String,
    },
    /// An attribute has the wrong type or an invalid value.
    #[error("attribute `{name}`: {reason}")]
    InvalidAttribute {
        /// Attribute name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The node has a number of inputs the operator does not accept.
    #[error("expected {expected} inputs, got {actual}")]
    InputCount {
        /// Accepted counts, e.g. `"2"` or `"1 to 3"`.
        expected: &'static str,
        /// Inputs given.
        actual: usize,
    },
    /// A required input is absent.
    #[error("input {index} is required")]
    MissingInput {
        /// Input position.
        index: usize,
    },
    /// An input has a dtype the operator does not support.
    #[error("input {index}: dtype {dtype} is not supported")]
    UnsupportedDType {
        /// Input position.
        index: usize,
        /// Its dtype.
        dtype: DType,
    },
    /// Inputs that must share a dtype do not.
    #[error("input {index} is {actual}, expected {expected}")]
    DTypeMismatch {
        /// Input position.
        index: usize,
        /// Dtype required.
        expected: DType,
        /// Dtype given.
        actual: DType,
    },
    /// Input shapes are incompatible (rank, broadcasting, channel counts ...).
    #[error("shape mismatch: {reason}")]
    ShapeMismatch {
        /// What does not fit.
        reason: String,
    },
    /// An input's values are invalid (an index out of range, a zero step ...).
    #[error("input {index}: {reason}")]
    InvalidInput {
        /// Input position.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The output shape depends on the value of an input that is not known
    /// yet (shape inference before running). Not an error at run time.
    #[error("output shape depends on the value of input {index}")]
    NeedsValue {
        /// Input position.
        index: usize,
    },
    /// An output would be larger than addressable memory.
    #[error("output shape {shape:?} is too large")]
    TooLarge {
        /// The shape (may be truncated at the overflowing axis).
        shape: Vec<usize>,
    },
    /// The operator has no implementation for this combination.
    #[error("not supported: {what}")]
    Unsupported {
        /// What exactly.
        what: String,
    },
    /// A tensor view could not be made.
    #[error(transparent)]
    Tensor(#[from] TensorError),
}

/// Result alias for operator code.
pub type OpResult<T> = Result<T, OpError>;
