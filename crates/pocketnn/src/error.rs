//! The runtime's error type.

use pocketnn_format::{DType, FormatError, OpCode};
use pocketnn_ops::OpError;
use pocketnn_tensor::{IsaError, TensorError};
use std::path::PathBuf;

/// Everything that can go wrong loading or running a model.
///
/// Every variant is a typed, recoverable error: no input (a corrupt file, a
/// wrong tensor) makes pocketnn panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model file could not be opened or mapped.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The bytes are not a valid `.pnn` file.
    #[error("invalid .pnn file: {0}")]
    Format(#[from] FormatError),
    /// A node's operator could not be built (bad attributes, unsupported).
    #[error("node {node} ({op}): {source}")]
    Node {
        /// Node name, or `#index` when unnamed.
        node: String,
        /// Its operator.
        op: OpCode,
        /// What went wrong.
        source: OpError,
    },
    /// The graph is structurally unusable (e.g. an `If` without bodies).
    #[error("invalid graph: {reason}")]
    InvalidGraph {
        /// What is wrong.
        reason: String,
    },
    /// `run` was given an input name the model does not have.
    #[error("the model has no input named `{name}` (inputs: {expected})")]
    UnknownInput {
        /// The name given.
        name: String,
        /// The model's input names, comma separated.
        expected: String,
    },
    /// `run` was not given a value for a model input.
    #[error("input `{name}` was not given")]
    MissingInput {
        /// The missing input.
        name: String,
    },
    /// The same input was given twice.
    #[error("input `{name}` was given more than once")]
    DuplicateInput {
        /// The repeated input.
        name: String,
    },
    /// An input has the wrong element type.
    #[error("input `{name}` must be {expected}, got {actual}")]
    InputDType {
        /// Input name.
        name: String,
        /// The model's dtype.
        expected: DType,
        /// The dtype given.
        actual: DType,
    },
    /// An input's shape does not match the model's declared shape.
    #[error("input `{name}` has shape {actual:?}, the model expects {expected}")]
    InputShape {
        /// Input name.
        name: String,
        /// The declared shape, e.g. `[N, 1, 28, 28]`.
        expected: String,
        /// The shape given.
        actual: Vec<usize>,
    },
    /// A tensor could not be viewed as asked (e.g. an output as the wrong type).
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// The requested SIMD tier is not available.
    #[error(transparent)]
    Isa(#[from] IsaError),
    /// The thread pool could not be created.
    #[error("cannot start {threads} threads: {reason}")]
    ThreadPool {
        /// Threads asked for.
        threads: usize,
        /// The reason given by the OS.
        reason: String,
    },
    /// A model, an input or a run needs more than a [`crate::Limits`] bound
    /// allows (a tensor, the session's activation memory, a dimension, a
    /// rank, a symbolic dimension).
    #[error("{what} is {value}, over the limit of {limit}")]
    LimitExceeded {
        /// What was measured, with the node or value it belongs to.
        what: String,
        /// Its size.
        value: u64,
        /// The limit it breaks.
        limit: u64,
    },
    /// The system refused memory the limits allowed.
    #[error("out of memory allocating {bytes} bytes for {what}")]
    OutOfMemory {
        /// What the memory was for.
        what: String,
        /// Bytes asked for.
        bytes: u64,
    },
    /// No output with that name.
    #[error("the model has no output named `{name}`")]
    UnknownOutput {
        /// The name asked for.
        name: String,
    },
}

/// Result alias for the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;
