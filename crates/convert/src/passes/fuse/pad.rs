//! Folds a zero `Pad` of the spatial axes into the `Conv` that reads it:
//! `Conv(Pad(x, p), pads = q)` is `Conv(x, pads = p + q)`, since a Conv
//! pads with zeros. Exporters write the explicit `Pad` for TensorFlow-style
//! "same" padding (EfficientNet-Lite0 has 17); folding it saves a copy of
//! the activation per layer.
//!
//! Legal when the `Pad` is `constant` mode with value 0 (or none), its
//! pads are constant, non-negative, zero on the batch and channel axes, it
//! has no `axes` input, its output is read only by the Conv's input `X`
//! (and is not a graph output), and the Conv uses explicit pads
//! (`auto_pad` absent or `NOTSET`).

use crate::graph::{Graph, Node, ValueId};
use pocketnn_format::{AttrValue, OpCode};

/// Folds every eligible `Pad`; returns how many.
pub(crate) fn fold_pads_into_convs(graph: &mut Graph) -> usize {
    let mut folded = 0;
    for b in 0..graph.bodies.len() {
        let mut i = 0;
        while i < graph.bodies.get(b).map_or(0, |body| body.nodes.len()) {
            if try_fold(graph, b, i) {
                folded += 1;
            } else {
                i += 1;
            }
        }
    }
    folded
}

/// The Pad's constant pads as `(begin, end)` per axis, when they are
/// non-negative and zero on axes 0 and 1.
fn spatial_pads(graph: &Graph, pad: &Node) -> Option<Vec<(i64, i64)>> {
    let mode_is_constant = match pad.attribute("mode") {
        None => true,
        Some(AttrValue::String(s)) => s == "constant",
        Some(_) => false,
    };
    if !mode_is_constant || pad.inputs.len() > 3 {
        return None;
    }
    if let Some(value) = pad.inputs.get(2).copied().flatten() {
        match graph.constant(value)?.as_slice::<f32>().ok()? {
            [v] if *v == 0.0 => {}
            _ => return None,
        }
    }
    let pads = graph
        .constant(pad.inputs.get(1).copied().flatten()?)?
        .as_slice::<i64>()
        .ok()?;
    let rank = pads.len() / 2;
    if rank < 3 || pads.len() != 2 * rank || pads.iter().any(|&p| p < 0) {
        return None;
    }
    let (begin, end) = pads.split_at(rank);
    if begin[..2] != [0, 0] || end[..2] != [0, 0] {
        return None;
    }
    Some(
        begin[2..]
            .iter()
            .copied()
            .zip(end[2..].iter().copied())
            .collect(),
    )
}

/// The Conv's explicit pads (zeros when absent) for `axes` spatial axes,
/// or `None` when it uses `auto_pad` or the attribute does not fit.
fn conv_pads(conv: &Node, axes: usize) -> Option<Vec<i64>> {
    match conv.attribute("auto_pad") {
        None => {}
        Some(AttrValue::String(s)) if s == "NOTSET" => {}
        Some(_) => return None,
    }
    match conv.attribute("pads") {
        None => Some(vec![0; 2 * axes]),
        Some(AttrValue::Ints(p)) if p.len() == 2 * axes => Some(p.clone()),
        Some(_) => None,
    }
}

/// Folds node `i` of body `b` if it is an eligible Pad; true when done (the
/// Pad is then removed).
fn try_fold(graph: &mut Graph, b: usize, i: usize) -> bool {
    let Some(body) = graph.bodies.get(b) else {
        return false;
    };
    let Some(pad) = body.nodes.get(i).filter(|n| n.op == OpCode::Pad) else {
        return false;
    };
    let (Some(&Some(x)), &[padded]) = (pad.inputs.first(), pad.outputs.as_slice()) else {
        return false;
    };
    let Some(extra) = spatial_pads(graph, pad) else {
        return false;
    };
    if graph.use_counts().get(padded) != Some(&1) || graph.is_body_output(padded) {
        return false;
    }
    let Some(c) = body.nodes.iter().position(|n| reads_as_x(n, padded)) else {
        return false;
    };
    let Some(conv) = body.nodes.get(c) else {
        return false;
    };
    let Some(mut pads) = conv_pads(conv, extra.len()) else {
        return false;
    };
    let axes = extra.len();
    for (axis, &(begin, end)) in extra.iter().enumerate() {
        let (Some(b0), Some(e0)) = (pads.get(axis), pads.get(axis + axes)) else {
            return false;
        };
        let (Some(b1), Some(e1)) = (b0.checked_add(begin), e0.checked_add(end)) else {
            return false;
        };
        pads[axis] = b1;
        pads[axis + axes] = e1;
    }
    let Some(body) = graph.bodies.get_mut(b) else {
        return false;
    };
    if let Some(conv) = body.nodes.get_mut(c) {
        conv.set_attribute("pads", AttrValue::Ints(pads));
        if let Some(slot) = conv.inputs.first_mut() {
            *slot = Some(x);
        }
    }
    body.nodes.remove(i);
    true
}

/// True when `node` is a Conv whose input `X` is `value`.
fn reads_as_x(node: &Node, value: ValueId) -> bool {
    node.op == OpCode::Conv && node.inputs.first() == Some(&Some(value))
}
