//! Bounds on what a file may contain, and the reader's options.
//!
//! The reader checks every count against these limits (and against the bytes
//! left in the section) before allocating; the writer refuses to write a
//! model that breaks them, so that it never writes a file the reader rejects.

use crate::bytes::check_limit;
use crate::{AttrValue, Dim, FormatError, GraphDef, Metadata, TensorEntry};

/// Upper bounds on the sizes found in a file. The defaults admit any
/// realistic phone model while bounding the work and memory of parsing a
/// hostile file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Entries in the section table (default 64).
    pub max_sections: u32,
    /// Values in the graph (default 2^20).
    pub max_values: usize,
    /// Nodes, summed over all bodies (default 2^20).
    pub max_nodes: usize,
    /// Bodies, including the main graph (default 2^16).
    pub max_bodies: usize,
    /// Constant tensors (default 2^20).
    pub max_tensors: usize,
    /// Attributes of one node (default 256).
    pub max_attributes_per_node: usize,
    /// Rank of a tensor or of a declared value shape (default 16).
    pub max_rank: usize,
    /// Any other list: graph inputs, node inputs and outputs, body outputs,
    /// attribute lists, metadata properties, quantization parameters
    /// (default 2^20).
    pub max_list_len: usize,
    /// Bytes of one string (default 1 MiB).
    pub max_string_len: usize,
    /// Bytes of all tensors together (default 64 GiB).
    pub max_total_tensor_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_sections: 64,
            max_values: 1 << 20,
            max_nodes: 1 << 20,
            max_bodies: 1 << 16,
            max_tensors: 1 << 20,
            max_attributes_per_node: 256,
            max_rank: 16,
            max_list_len: 1 << 20,
            max_string_len: 1 << 20,
            max_total_tensor_bytes: 1 << 36,
        }
    }
}

/// How [`crate::PnnFile::parse_with`] reads a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadOptions {
    /// Check the CRC of the TENSOR_DATA section (default `true`). When
    /// `false`, parsing costs time proportional to the file's structure, not
    /// its weights; all other checksums are still verified.
    pub verify_data_checksum: bool,
    /// Size bounds.
    pub limits: Limits,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            verify_data_checksum: true,
            limits: Limits::default(),
        }
    }
}

/// Checks every count and string length of a model against `limits`. The
/// reader enforces the same bounds while decoding; the writer calls this.
pub(crate) fn check_model_limits(
    meta: &Metadata,
    graph: &GraphDef,
    tensors: &[TensorEntry],
    limits: &Limits,
) -> Result<(), FormatError> {
    let string = |s: &str| check_limit("string bytes", s.len(), limits.max_string_len);
    let list = |what, n| check_limit(what, n, limits.max_list_len);

    string(&meta.name)?;
    string(&meta.producer)?;
    list("metadata properties", meta.properties.len())?;
    for (key, value) in &meta.properties {
        string(key)?;
        string(value)?;
    }

    check_limit("values", graph.values.len(), limits.max_values)?;
    for value in &graph.values {
        string(&value.name)?;
        if let Some(shape) = &value.shape {
            check_limit("dimensions", shape.len(), limits.max_rank)?;
            for dim in shape {
                if let Dim::Symbolic(symbol) = dim {
                    string(symbol)?;
                }
            }
        }
    }
    list("graph inputs", graph.inputs.len())?;
    check_limit("bodies", graph.bodies.len(), limits.max_bodies)?;
    let mut nodes = 0usize;
    for body in &graph.bodies {
        nodes = nodes.saturating_add(body.nodes.len());
        check_limit("nodes", nodes, limits.max_nodes)?;
        list("body outputs", body.outputs.len())?;
        for node in &body.nodes {
            string(&node.name)?;
            list("node inputs", node.inputs.len())?;
            list("node outputs", node.outputs.len())?;
            check_limit(
                "attributes",
                node.attributes.len(),
                limits.max_attributes_per_node,
            )?;
            for attribute in &node.attributes {
                string(&attribute.name)?;
                match &attribute.value {
                    AttrValue::String(s) => string(s)?,
                    AttrValue::Ints(v) => list("attribute list items", v.len())?,
                    AttrValue::Floats(v) => list("attribute list items", v.len())?,
                    AttrValue::Strings(v) => {
                        list("attribute list items", v.len())?;
                        for s in v {
                            string(s)?;
                        }
                    }
                    AttrValue::Int(_) | AttrValue::Float(_) | AttrValue::Body(_) => {}
                }
            }
        }
    }

    check_limit("tensors", tensors.len(), limits.max_tensors)?;
    for tensor in tensors {
        string(&tensor.name)?;
        check_limit("dimensions", tensor.shape.len(), limits.max_rank)?;
        if let Some(quant) = &tensor.quant {
            list("quantization scales", quant.scales.len())?;
            list("quantization zero points", quant.zero_points.len())?;
        }
    }
    Ok(())
}
