//! The converter's graph → the `.pnn` data model ([`ModelDef`]) plus the
//! tensor bytes. Only values something refers to are exported, so constants
//! nothing reads any more are dropped here.

use crate::graph::Graph;
use pocketnn_format::{
    Body, GraphDef, Layout, Metadata, ModelDef, NodeDef, TensorEntry, TensorId, ValueDef, ValueId,
};
use pocketnn_tensor::Tensor;

/// Alignment of every tensor's data in the tensor-data section (the
/// `.pnn` format's rule; `docs/format.md`).
pub(crate) const TENSOR_ALIGN: u64 = 64;

/// Exports `graph`: the model (tensor offsets laid out consecutively at
/// [`TENSOR_ALIGN`]) and one little-endian byte vector per tensor entry.
pub(crate) fn export(graph: &Graph, metadata: Metadata) -> (ModelDef, Vec<Vec<u8>>) {
    let mut used = vec![false; graph.values.len()];
    let mut mark = |id: usize| {
        if let Some(u) = used.get_mut(id) {
            *u = true;
        }
    };
    graph.inputs.iter().for_each(|&i| mark(i));
    for body in &graph.bodies {
        for node in &body.nodes {
            node.inputs.iter().flatten().for_each(|&i| mark(i));
            node.outputs.iter().for_each(|&o| mark(o));
        }
        body.outputs.iter().for_each(|&o| mark(o));
    }

    let mut new_id: Vec<Option<ValueId>> = vec![None; graph.values.len()];
    let mut values = Vec::new();
    let mut tensors = Vec::new();
    let mut data = Vec::new();
    let mut offset = 0u64;
    for (old, value) in graph.values.iter().enumerate() {
        if !used.get(old).copied().unwrap_or(false) {
            continue;
        }
        let constant = value.constant.as_ref().map(|t| {
            let bytes = little_endian_bytes(t);
            let len = bytes.len() as u64;
            tensors.push(TensorEntry {
                name: value.name.clone(),
                dtype: t.dtype(),
                shape: t.shape().iter().map(|&d| d as u64).collect(),
                layout: Layout::RowMajor,
                quant: None,
                offset,
                len,
            });
            offset = (offset + len).div_ceil(TENSOR_ALIGN) * TENSOR_ALIGN;
            data.push(bytes);
            (tensors.len() - 1) as TensorId
        });
        if let Some(slot) = new_id.get_mut(old) {
            *slot = Some(values.len() as ValueId);
        }
        values.push(ValueDef {
            name: value.name.clone(),
            dtype: value.dtype,
            shape: value.shape.clone(),
            constant,
        });
    }
    let map = |id: usize| new_id.get(id).copied().flatten().unwrap_or(0);
    let bodies = graph
        .bodies
        .iter()
        .map(|b| Body {
            nodes: b
                .nodes
                .iter()
                .map(|n| NodeDef {
                    name: n.name.clone(),
                    op: n.op,
                    inputs: n.inputs.iter().map(|i| i.map(map)).collect(),
                    outputs: n.outputs.iter().map(|&o| map(o)).collect(),
                    attributes: n.attributes.clone(),
                })
                .collect(),
            outputs: b.outputs.iter().map(|&o| map(o)).collect(),
        })
        .collect();
    let graph_def = GraphDef {
        values,
        inputs: graph.inputs.iter().map(|&i| map(i)).collect(),
        bodies,
    };
    (
        ModelDef {
            metadata,
            graph: graph_def,
            tensors,
        },
        data,
    )
}

/// A tensor's bytes in little-endian order, whatever the host.
fn little_endian_bytes(t: &Tensor) -> Vec<u8> {
    let mut bytes = t.bytes().to_vec();
    if cfg!(target_endian = "big") {
        let size = t.dtype().size();
        bytes.chunks_exact_mut(size).for_each(<[u8]>::reverse);
    }
    bytes
}
