//! The decoded contents of a `.pnn` file, except the tensor bytes themselves.
//!
//! The writer takes a [`ModelDef`] plus the tensor bytes; the reader returns a
//! [`ModelDef`] plus a borrowed view of the tensor bytes. These types are plain
//! data: every cross-reference is an index, checked by the reader.

use crate::{DType, OpCode};

/// Index of a [`ValueDef`] in [`GraphDef::values`].
pub type ValueId = u32;
/// Index of a [`TensorEntry`] in [`ModelDef::tensors`].
pub type TensorId = u32;
/// Index of a [`Body`] in [`GraphDef::bodies`] (0 is the main graph).
pub type BodyId = u32;

/// Everything a `.pnn` file holds besides raw tensor bytes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelDef {
    /// Free-form facts about the model.
    pub metadata: Metadata,
    /// The dataflow graph.
    pub graph: GraphDef,
    /// One entry per constant tensor, in the order of their data.
    pub tensors: Vec<TensorEntry>,
}

/// Model-level facts: who made it and how.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metadata {
    /// The model's name (may be empty).
    pub name: String,
    /// The tool that wrote the file, e.g. `"pocketnn-convert 0.1.0"`.
    pub producer: String,
    /// Free key/value pairs, e.g. `("source", "seed_cnn.onnx")` or the
    /// compression recipe. Keys are unique and sorted by the writer.
    pub properties: Vec<(String, String)>,
}

/// One dimension of a declared shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    /// A known size.
    Fixed(u64),
    /// A size named by a symbol (e.g. `"N"` for the batch), bound at run time.
    Symbolic(String),
}

/// A value in the graph: a graph input, a constant, or a node output.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueDef {
    /// Unique name (ONNX's tensor name).
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Declared shape, when known; `None` means "inferred at run time".
    pub shape: Option<Vec<Dim>>,
    /// For constants: the tensor holding the data.
    pub constant: Option<TensorId>,
}

/// A typed attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    /// A single integer.
    Int(i64),
    /// A single float.
    Float(f32),
    /// A UTF-8 string.
    String(String),
    /// A list of integers.
    Ints(Vec<i64>),
    /// A list of floats.
    Floats(Vec<f32>),
    /// A list of strings.
    Strings(Vec<String>),
    /// A subgraph (e.g. a branch of `If`).
    Body(BodyId),
}

/// A named attribute of a node.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    /// Attribute name, unique within its node.
    pub name: String,
    /// Its value.
    pub value: AttrValue,
}

/// One operator application.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeDef {
    /// Node name, used in error messages (may be empty).
    pub name: String,
    /// The operator.
    pub op: OpCode,
    /// Input values in operator order; `None` for an omitted optional input.
    pub inputs: Vec<Option<ValueId>>,
    /// Output values; each value is produced by exactly one node.
    pub outputs: Vec<ValueId>,
    /// Attributes, as specified per operator in `docs/ops.md`.
    pub attributes: Vec<Attribute>,
}

impl NodeDef {
    /// The attribute with this name, if present.
    pub fn attribute(&self, name: &str) -> Option<&AttrValue> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| &a.value)
    }
}

/// A list of nodes in topological order and the values it yields.
///
/// Body 0 is the main graph. Other bodies are subgraphs referenced by
/// [`AttrValue::Body`]; their nodes may read values of enclosing bodies that
/// are defined before the node that owns the body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Body {
    /// Nodes in execution (topological) order.
    pub nodes: Vec<NodeDef>,
    /// Values the body yields (the graph outputs, for body 0).
    pub outputs: Vec<ValueId>,
}

/// The dataflow graph.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GraphDef {
    /// Every value of every body.
    pub values: Vec<ValueDef>,
    /// Graph inputs, fed by the caller at run time.
    pub inputs: Vec<ValueId>,
    /// Body 0 is the main graph; the others are subgraphs.
    pub bodies: Vec<Body>,
}

impl GraphDef {
    /// The main graph's outputs.
    pub fn outputs(&self) -> &[ValueId] {
        self.bodies
            .first()
            .map(|b| b.outputs.as_slice())
            .unwrap_or(&[])
    }
}

/// How a tensor's elements are arranged in its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Dense, row-major (C order), no padding.
    RowMajor,
}

impl Layout {
    /// Stable code written to files.
    pub fn code(&self) -> u16 {
        match self {
            Layout::RowMajor => 0,
        }
    }

    /// The layout with this code, if there is one.
    pub fn from_code(code: u16) -> Option<Layout> {
        match code {
            0 => Some(Layout::RowMajor),
            _ => None,
        }
    }
}

/// Quantization parameters: `real = scale * (q - zero_point)`.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantParams {
    /// The axis the parameters vary along (per-channel), or `None` (per-tensor).
    pub axis: Option<u32>,
    /// One scale per slice along `axis` (or exactly one).
    pub scales: Vec<f32>,
    /// One zero point per scale.
    pub zero_points: Vec<i32>,
}

/// Where a constant tensor's data lives, and how to read it.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorEntry {
    /// Tensor name (usually the name of the value it backs).
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Logical shape.
    pub shape: Vec<u64>,
    /// Byte layout.
    pub layout: Layout,
    /// Quantization parameters, for quantized tensors.
    pub quant: Option<QuantParams>,
    /// Offset of the data from the start of the tensor-data section; a
    /// multiple of [`crate::TENSOR_ALIGN`].
    pub offset: u64,
    /// Length of the data in bytes.
    pub len: u64,
}
