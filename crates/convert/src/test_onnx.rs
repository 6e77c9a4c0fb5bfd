//! Building small ONNX models in tests, with the prost types.

use crate::onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
    attribute_proto::AttributeType,
    tensor_shape_proto::{Dimension, dimension},
    type_proto,
};
use prost::Message;

/// ONNX element type codes used in tests.
pub(crate) const FLOAT: i32 = 1;
pub(crate) const INT64: i32 = 7;
pub(crate) const DOUBLE: i32 = 11;

/// An f32 tensor with typed data.
pub(crate) fn tensor_f32(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(FLOAT),
        float_data: data.to_vec(),
        ..TensorProto::default()
    }
}

/// An i64 tensor with typed data.
pub(crate) fn tensor_i64(name: &str, dims: &[i64], data: &[i64]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(INT64),
        int64_data: data.to_vec(),
        ..TensorProto::default()
    }
}

fn attr(name: &str, t: AttributeType) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(t as i32),
        ..AttributeProto::default()
    }
}

/// An integer attribute.
pub(crate) fn a_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        i: Some(v),
        ..attr(name, AttributeType::Int)
    }
}

/// A float attribute.
pub(crate) fn a_float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        f: Some(v),
        ..attr(name, AttributeType::Float)
    }
}

/// An integer-list attribute.
pub(crate) fn a_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        ints: v.to_vec(),
        ..attr(name, AttributeType::Ints)
    }
}

/// A float-list attribute.
pub(crate) fn a_floats(name: &str, v: &[f32]) -> AttributeProto {
    AttributeProto {
        floats: v.to_vec(),
        ..attr(name, AttributeType::Floats)
    }
}

/// A string attribute.
pub(crate) fn a_str(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        s: Some(v.as_bytes().to_vec()),
        ..attr(name, AttributeType::String)
    }
}

/// A tensor attribute.
pub(crate) fn a_tensor(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        t: Some(t),
        ..attr(name, AttributeType::Tensor)
    }
}

/// A graph attribute.
pub(crate) fn a_graph(name: &str, g: GraphProto) -> AttributeProto {
    AttributeProto {
        g: Some(g),
        ..attr(name, AttributeType::Graph)
    }
}

/// A node of the default domain.
pub(crate) fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    outputs: &[&str],
    attributes: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute: attributes,
        ..NodeProto::default()
    }
}

/// A dim of a declared shape: a size, a symbol, or unnamed.
pub(crate) enum D {
    /// A fixed size.
    N(i64),
    /// A named symbol.
    S(&'static str),
    /// Neither.
    Unknown,
}

/// A tensor value info with element type and shape.
pub(crate) fn value_info(name: &str, elem_type: i32, dims: &[D]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: match d {
                D::N(n) => Some(dimension::Value::DimValue(*n)),
                D::S(s) => Some(dimension::Value::DimParam((*s).into())),
                D::Unknown => None,
            },
            ..Dimension::default()
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem_type),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..TypeProto::default()
        }),
        ..ValueInfoProto::default()
    }
}

/// A graph.
pub(crate) fn graph(
    nodes: Vec<NodeProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    initializers: Vec<TensorProto>,
) -> GraphProto {
    GraphProto {
        name: Some("test".into()),
        node: nodes,
        input: inputs,
        output: outputs,
        initializer: initializers,
        ..GraphProto::default()
    }
}

/// The bytes of a model of `graph` at `opset`.
pub(crate) fn model(opset: i64, graph: GraphProto) -> Vec<u8> {
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(opset),
        }],
        graph: Some(graph),
        ..ModelProto::default()
    }
    .encode_to_vec()
}

/// A model with one node reading f32 input `x` of shape `dims` and writing
/// output `y`, plus initializers.
pub(crate) fn one_node_model(
    opset: i64,
    node: NodeProto,
    dims: &[D],
    initializers: Vec<TensorProto>,
) -> Vec<u8> {
    let outputs = node
        .output
        .iter()
        .filter(|o| !o.is_empty())
        .map(|o| value_info(o, FLOAT, &[]))
        .collect();
    model(
        opset,
        graph(
            vec![node],
            vec![value_info("x", FLOAT, dims)],
            outputs,
            initializers,
        ),
    )
}
