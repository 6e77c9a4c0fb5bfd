//! Epilogue fusion: folds what follows a `Conv`, `Gemm` or `MatMul` into
//! that node's fused form (`docs/ops/fusion.md`, attributes in
//! `pocketnn_ops::fused`), so the GEMM applies it while the results are
//! still in registers.
//!
//! * **Residual add** — `Add(Conv(x), z)` (either operand order; also a
//!   two-input `Sum`) becomes
//!   `Conv(x, W, B, z)` when `z` has the Conv output's shape, is f32, and is
//!   available before the Conv runs (a graph input, a constant, or made by
//!   an earlier node), and the Conv has no activation yet.
//! * **Activation** — `Relu`, `Clip` (constant scalar bounds), `LeakyRelu`,
//!   `HardSigmoid`, `HardSwish`, `Sigmoid`, `Tanh`, `Silu`, `Gelu` and the
//!   pair `Mul(y, Sigmoid(y))` (SiLU) after a `Conv`, `Gemm` or `MatMul`
//!   (the latter only with a constant `B`) become its `activation`.
//!
//! * **Pad** — a zero `Pad` of the spatial axes before a `Conv` becomes
//!   the Conv's pads ([`pad`]).
//!
//! Either fusion needs the producer's output to be read only by the nodes
//! it removes and not to be a graph output; the removed nodes' outputs are
//! then produced by the producer itself, so value names are kept.

use super::PassLog;
use crate::graph::{Graph, Node, ValueId};
use pocketnn_format::{AttrValue, DType, OpCode};
use pocketnn_ops::fused::{ACTIVATION, activation_attributes};
use pocketnn_tensor::kernels::activation::Activation;

/// Fuses every eligible residual add and activation; returns how many
/// nodes were removed.
pub(crate) fn fuse_epilogues(graph: &mut Graph, log: &mut PassLog) -> usize {
    let pads = pad::fold_pads_into_convs(graph);
    log.pads_folded += pads;
    let mut removed = pads;
    for b in 0..graph.bodies.len() {
        let mut p = 0;
        while p < graph.bodies.get(b).map_or(0, |body| body.nodes.len()) {
            if fuse_residual(graph, b, p) {
                log.residual_adds_fused += 1;
                removed += 1;
            }
            let gone = fuse_activation(graph, b, p);
            if gone > 0 {
                log.activations_fused += 1;
                removed += gone;
            }
            p += 1;
        }
    }
    removed
}

/// The single f32 output of node `p` of body `b` when it is a `Conv`,
/// `Gemm` or `MatMul` without a fused activation yet.
fn producer_output(graph: &Graph, b: usize, p: usize) -> Option<ValueId> {
    let node = graph.bodies.get(b)?.nodes.get(p)?;
    let fusable = match node.op {
        OpCode::Conv | OpCode::Gemm => true,
        // The fused MatMul is meant for weights (constant B).
        OpCode::MatMul => {
            let b_input = node.inputs.get(1).copied().flatten();
            b_input.is_some_and(|id| graph.constant(id).is_some())
        }
        _ => false,
    };
    let activated = match node.attribute(ACTIVATION) {
        None => false,
        Some(AttrValue::String(s)) => s != "none",
        Some(_) => true,
    };
    let &[y] = node.outputs.as_slice() else {
        return None;
    };
    let is_f32 = graph.value(y).is_some_and(|v| v.dtype == DType::F32);
    (fusable && !activated && is_f32 && !graph.is_body_output(y)).then_some(y)
}

/// Indices (in body `b`) of the nodes reading `y`, one entry per read;
/// `None` when some read is elsewhere (another body, a body output).
fn readers(graph: &Graph, b: usize, y: ValueId) -> Option<Vec<usize>> {
    let body = graph.bodies.get(b)?;
    let mut found = Vec::new();
    for (i, node) in body.nodes.iter().enumerate() {
        for _ in node.inputs.iter().filter(|&&v| v == Some(y)) {
            found.push(i);
        }
    }
    let total = graph.use_counts().get(y).copied()?;
    (total == found.len()).then_some(found)
}

/// Makes node `p` of body `b` produce `outputs` and removes the nodes at
/// `gone` (all after `p`).
fn take_over(graph: &mut Graph, b: usize, p: usize, outputs: Vec<ValueId>, mut gone: Vec<usize>) {
    let Some(body) = graph.bodies.get_mut(b) else {
        return;
    };
    if let Some(node) = body.nodes.get_mut(p) {
        node.outputs = outputs;
    }
    gone.sort_unstable();
    for &i in gone.iter().rev() {
        if i < body.nodes.len() {
            body.nodes.remove(i);
        }
    }
}

/// Folds `Add(conv, z)` into the Conv at `p`; true when done.
fn fuse_residual(graph: &mut Graph, b: usize, p: usize) -> bool {
    let Some(y) = producer_output(graph, b, p) else {
        return false;
    };
    let Some(body) = graph.bodies.get(b) else {
        return false;
    };
    let Some(conv) = body.nodes.get(p) else {
        return false;
    };
    if conv.op != OpCode::Conv || conv.inputs.len() > 3 {
        return false;
    }
    let Some(&[a]) = readers(graph, b, y).as_deref() else {
        return false;
    };
    // `Sum` of two inputs (older exporters' residual) is an `Add`.
    let is_add = |n: &&Node| n.op == OpCode::Add || (n.op == OpCode::Sum && n.inputs.len() == 2);
    let Some(add) = body.nodes.get(a).filter(is_add) else {
        return false;
    };
    let z = match *add.inputs.as_slice() {
        [Some(l), Some(r)] if l == y => r,
        [Some(l), Some(r)] if r == y => l,
        _ => return false,
    };
    let (Some(y_value), Some(z_value)) = (graph.value(y), graph.value(z)) else {
        return false;
    };
    let same_shape = y_value.shape.is_some() && y_value.shape == z_value.shape;
    // `z` must exist when the Conv runs: not made by it or any later node.
    let ready = !body.nodes[p..].iter().any(|n| n.outputs.contains(&z));
    let add_outputs = add.outputs.clone();
    let add_is_f32 = add_outputs
        .iter()
        .all(|&o| graph.value(o).is_some_and(|v| v.dtype == DType::F32));
    if !same_shape || z_value.dtype != DType::F32 || !ready || !add_is_f32 {
        return false;
    }
    if let Some(conv) = graph
        .bodies
        .get_mut(b)
        .and_then(|body| body.nodes.get_mut(p))
    {
        conv.inputs.resize(3, None);
        conv.inputs.push(Some(z));
    }
    take_over(graph, b, p, add_outputs, vec![a]);
    true
}

/// Folds the activation after the node at `p`; returns how many nodes were
/// removed (0, 1, or 2 for `Mul(y, Sigmoid(y))`).
fn fuse_activation(graph: &mut Graph, b: usize, p: usize) -> usize {
    let Some(y) = producer_output(graph, b, p) else {
        return 0;
    };
    let Some(reads) = readers(graph, b, y) else {
        return 0;
    };
    let Some(body) = graph.bodies.get(b) else {
        return 0;
    };
    let found = match *reads.as_slice() {
        [c] => body
            .nodes
            .get(c)
            .and_then(|node| activation_of(graph, node, y))
            .map(|act| (act, vec![c])),
        [first, second] => silu_pair(graph, b, y, first, second),
        _ => None,
    };
    let Some((activation, gone)) = found else {
        return 0;
    };
    // The last node removed makes the final result (the `Mul` of a pair).
    let Some(&last) = gone.last() else {
        return 0;
    };
    let Some(outputs) = body.nodes.get(last).map(|n| n.outputs.clone()) else {
        return 0;
    };
    if let Some(node) = graph
        .bodies
        .get_mut(b)
        .and_then(|body| body.nodes.get_mut(p))
    {
        for attribute in activation_attributes(activation) {
            node.set_attribute(&attribute.name, attribute.value);
        }
    }
    let count = gone.len();
    take_over(graph, b, p, outputs, gone);
    count
}

/// The activation `node` applies to `y`, when it is one the fused forms
/// have and `y` is its only data input.
fn activation_of(graph: &Graph, node: &Node, y: ValueId) -> Option<Activation> {
    if node.inputs.first() != Some(&Some(y)) || node.outputs.len() != 1 {
        return None;
    }
    let float = |name: &str, default: f32| match node.attribute(name) {
        None => Some(default),
        Some(AttrValue::Float(v)) => Some(*v),
        Some(_) => None,
    };
    let unary = node.inputs.len() == 1;
    let activation = match node.op {
        OpCode::Relu if unary => Activation::Relu,
        OpCode::Sigmoid if unary => Activation::Sigmoid,
        OpCode::Tanh if unary => Activation::Tanh,
        OpCode::HardSwish if unary => Activation::HardSwish,
        OpCode::Silu if unary => Activation::Silu,
        OpCode::LeakyRelu if unary => Activation::LeakyRelu {
            alpha: float("alpha", 0.01)?,
        },
        OpCode::HardSigmoid if unary => Activation::HardSigmoid {
            alpha: float("alpha", 0.2)?,
            beta: float("beta", 0.5)?,
        },
        OpCode::Gelu if unary => match node.attribute("approximate") {
            None => Activation::Gelu,
            Some(AttrValue::String(s)) if s == "none" => Activation::Gelu,
            Some(AttrValue::String(s)) if s == "tanh" => Activation::GeluTanh,
            Some(_) => return None,
        },
        OpCode::Clip if node.inputs.len() <= 3 => {
            let bound = |i: usize, default: f32| match node.inputs.get(i).copied().flatten() {
                None => Some(default),
                Some(id) => scalar_f32(graph, id),
            };
            let (min, max) = (bound(1, f32::NEG_INFINITY)?, bound(2, f32::INFINITY)?);
            if min.is_nan() || max.is_nan() {
                return None;
            }
            Activation::Clip { min, max }
        }
        _ => return None,
    };
    Some(activation)
}

/// The value of a constant f32 tensor of one element.
fn scalar_f32(graph: &Graph, id: ValueId) -> Option<f32> {
    match graph.constant(id)?.as_slice::<f32>().ok()? {
        &[v] => Some(v),
        _ => None,
    }
}

/// `Mul(y, Sigmoid(y))` (either order) read by the nodes at `first` and
/// `second`: SiLU, removing both.
fn silu_pair(
    graph: &Graph,
    b: usize,
    y: ValueId,
    first: usize,
    second: usize,
) -> Option<(Activation, Vec<usize>)> {
    let body = graph.bodies.get(b)?;
    let (s, m) = match (body.nodes.get(first)?.op, body.nodes.get(second)?.op) {
        (OpCode::Sigmoid, OpCode::Mul) => (first, second),
        (OpCode::Mul, OpCode::Sigmoid) => (second, first),
        _ => return None,
    };
    let (sigmoid, mul) = (body.nodes.get(s)?, body.nodes.get(m)?);
    if activation_of(graph, sigmoid, y) != Some(Activation::Sigmoid) {
        return None;
    }
    let &[gate] = sigmoid.outputs.as_slice() else {
        return None;
    };
    let pair_ok = matches!(mul.inputs.as_slice(),
        &[Some(l), Some(r)] if (l == y && r == gate) || (l == gate && r == y));
    let gate_once = graph.use_counts().get(gate) == Some(&1) && !graph.is_body_output(gate);
    let mul_f32 = mul
        .outputs
        .iter()
        .all(|&o| graph.value(o).is_some_and(|v| v.dtype == DType::F32));
    (pair_ok && gate_once && mul_f32 && mul.outputs.len() == 1)
        .then(|| (Activation::Silu, vec![s, m]))
}

mod pad;
#[cfg(test)]
mod tests;
