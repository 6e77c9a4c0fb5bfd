//! The converter's error type.

use pocketnn_format::OpCode;
use pocketnn_ops::OpError;
use pocketnn_tensor::TensorError;
use std::path::PathBuf;

/// Why a model could not be converted.
///
/// Every variant about a node names the ONNX operator, the node (its name, or
/// `#<index>` in its graph when it has none) and the model's opset, so the
/// message alone tells which part of the model is at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The bytes are not a valid ONNX protobuf message.
    #[error("not a valid ONNX {message} protobuf: {source}")]
    Decode {
        /// The message type that was being decoded (`ModelProto`, `TensorProto`).
        message: &'static str,
        /// The decoder's error.
        source: prost::DecodeError,
    },
    /// The model imports no opset of the default ONNX domain.
    #[error("the model imports no opset of the default ONNX domain")]
    MissingOpset,
    /// The model's opset of the default domain is older than 7, or newer
    /// than the newest opset of the operator version table.
    #[error("opset {opset} is not supported (pocketnn supports opsets 7 to {newest})", newest = crate::onnx::NEWEST_ONNX_OPSET)]
    UnsupportedOpset {
        /// The model's opset.
        opset: i64,
    },
    /// An operator (or an operator domain) pocketnn does not implement.
    #[error("unsupported operator {domain}{op} in node {node} (opset {opset})")]
    UnsupportedOp {
        /// The ONNX operator type.
        op: String,
        /// `""` for the default domain, else the domain followed by `::`.
        domain: String,
        /// The node's name, or `#<index>`.
        node: String,
        /// The model's opset of the default domain.
        opset: i64,
    },
    /// The operator's schema version at the model's opset is one whose
    /// semantics the importer does not know.
    #[error(
        "operator {op} in node {node}: opset {opset} selects version {version} of {op}, which pocketnn does not know"
    )]
    UnsupportedOpVersion {
        /// The ONNX operator type.
        op: String,
        /// The node's name, or `#<index>`.
        node: String,
        /// The model's opset.
        opset: i64,
        /// The schema version the opset selects.
        version: u32,
    },
    /// An attribute is missing, has the wrong type, or has a value pocketnn
    /// does not support.
    #[error("operator {op} in node {node} (opset {opset}): attribute `{attribute}`: {reason}")]
    UnsupportedAttribute {
        /// The ONNX operator type.
        op: String,
        /// The node's name, or `#<index>`.
        node: String,
        /// The model's opset.
        opset: i64,
        /// The attribute's name.
        attribute: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A node's input is missing, or is a value the conversion needs to be
    /// constant but is not.
    #[error("operator {op} in node {node} (opset {opset}): input {index}: {reason}")]
    UnsupportedInput {
        /// The ONNX operator type.
        op: String,
        /// The node's name, or `#<index>`.
        node: String,
        /// The model's opset.
        opset: i64,
        /// Input position.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A node's output is used that pocketnn cannot compute (the training
    /// outputs of `BatchNormalization`, the mask of `Dropout`).
    #[error(
        "operator {op} in node {node} (opset {opset}): output {index} is used but not supported: {reason}"
    )]
    UnsupportedOutput {
        /// The ONNX operator type.
        op: String,
        /// The node's name, or `#<index>`.
        node: String,
        /// The model's opset.
        opset: i64,
        /// Output position.
        index: usize,
        /// Why it cannot be computed.
        reason: String,
    },
    /// A tensor has an element type pocketnn does not support.
    #[error("tensor `{tensor}` has element type {dtype}, which pocketnn does not support")]
    UnsupportedDType {
        /// The tensor (or graph input/output) name.
        tensor: String,
        /// The ONNX type name (`DOUBLE`, `INT16`, `STRING` ...).
        dtype: String,
    },
    /// A tensor keeps its data in an external file; pocketnn needs
    /// self-contained models.
    #[error("tensor `{tensor}` keeps its data in an external file, which is not supported")]
    ExternalData {
        /// The tensor name.
        tensor: String,
    },
    /// A tensor's dims or data are inconsistent.
    #[error("tensor `{tensor}`: {reason}")]
    InvalidTensor {
        /// The tensor name.
        tensor: String,
        /// What is inconsistent.
        reason: String,
    },
    /// A graph input or output is not a tensor, or has no element type.
    #[error("graph value `{name}`: {reason}")]
    UnsupportedValue {
        /// The value name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A node reads a value that no earlier node, input or initializer
    /// defines (ONNX requires nodes in topological order).
    #[error("node {node} reads `{name}`, which is not defined before it")]
    UndefinedValue {
        /// The value name.
        name: String,
        /// The reading node's name, or `#<index>` (or `graph output`).
        node: String,
    },
    /// Two definitions of one value name in the same graph.
    #[error("value `{name}` is defined twice")]
    DuplicateValue {
        /// The value name.
        name: String,
    },
    /// The operator rejected the node's (converted) attributes.
    #[error("operator {op} in node {node}: {source}")]
    Operator {
        /// The pocketnn operator.
        op: OpCode,
        /// The node's name, or `#<index>`.
        node: String,
        /// The operator's error.
        source: OpError,
    },
    /// A tensor could not be built.
    #[error("tensor `{tensor}`: {source}")]
    Tensor {
        /// The tensor name.
        tensor: String,
        /// The tensor error.
        source: TensorError,
    },
    /// Reading the input or writing the output file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A quantization pass could not quantize the model as asked.
    #[error("quantization: {reason}")]
    Quantization {
        /// What went wrong.
        reason: String,
    },
    /// The pruning pass could not prune the model as asked.
    #[error("pruning: {reason}")]
    Pruning {
        /// What went wrong.
        reason: String,
    },
    /// Writing the `.pnn` stream failed.
    #[error("writing the .pnn file failed: {source}")]
    Write {
        /// The underlying error.
        source: pocketnn_format::WriteError,
    },
}

impl ConvertError {
    /// True when the model is valid but uses something pocketnn does not
    /// support (an operator, an opset, an attribute value, a dtype), as
    /// opposed to a broken model or an I/O failure.
    pub fn is_unsupported(&self) -> bool {
        use ConvertError::*;
        match self {
            UnsupportedOpset { .. }
            | UnsupportedOp { .. }
            | UnsupportedOpVersion { .. }
            | UnsupportedAttribute { .. }
            | UnsupportedInput { .. }
            | UnsupportedOutput { .. }
            | UnsupportedDType { .. }
            | UnsupportedValue { .. }
            | ExternalData { .. } => true,
            Operator { source, .. } => matches!(
                source,
                OpError::Unsupported { .. } | OpError::UnsupportedDType { .. }
            ),
            _ => false,
        }
    }
}
