//! Import tests: each opset normalisation, constants, inputs, removal of
//! Identity/Dropout, subgraphs (`normalise.rs`), and errors naming op, node
//! and opset (`errors.rs`).

mod contrib;
mod errors;
mod normalise;

use super::import_model;
use crate::error::ConvertError;
use crate::graph::{Graph, Node, ValueId};
use crate::test_onnx::*;
use pocketnn_format::AttrValue;

pub(super) fn import(bytes: &[u8]) -> Graph {
    match import_model(bytes) {
        Ok((g, _)) => g,
        Err(e) => panic!("import failed: {e}"),
    }
}

pub(super) fn error(bytes: &[u8]) -> ConvertError {
    match import_model(bytes) {
        Ok(_) => panic!("import succeeded"),
        Err(e) => e,
    }
}

pub(super) fn only_node(g: &Graph) -> &Node {
    assert_eq!(g.bodies[0].nodes.len(), 1, "{:?}", g.bodies[0].nodes);
    &g.bodies[0].nodes[0]
}

pub(super) fn i64s(g: &Graph, id: Option<ValueId>) -> Vec<i64> {
    g.constant(id.expect("input present"))
        .expect("constant")
        .as_slice::<i64>()
        .unwrap()
        .to_vec()
}

pub(super) fn f32s(g: &Graph, id: Option<ValueId>) -> Vec<f32> {
    g.constant(id.expect("input present"))
        .expect("constant")
        .as_slice::<f32>()
        .unwrap()
        .to_vec()
}

pub(super) fn int(n: &Node, name: &str) -> Option<i64> {
    match n.attribute(name) {
        Some(AttrValue::Int(v)) => Some(*v),
        None => None,
        other => panic!("{name}: {other:?}"),
    }
}

pub(super) fn string(n: &Node, name: &str) -> Option<String> {
    match n.attribute(name) {
        Some(AttrValue::String(v)) => Some(v.clone()),
        None => None,
        other => panic!("{name}: {other:?}"),
    }
}

pub(super) const X4: &[D] = &[D::N(1), D::N(2), D::N(3), D::N(4)];
