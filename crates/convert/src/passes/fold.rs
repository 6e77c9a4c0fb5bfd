//! Constant folding: a node whose inputs are all constants is evaluated
//! with the operator's own implementation and replaced by constants.

use super::{BuildOp, FOLD_ISA, PassLog};
use crate::error::ConvertError;
use crate::graph::{Graph, Node};
use pocketnn_format::OpCode;
use pocketnn_ops::{InputInfo, OpError};
use pocketnn_tensor::{Tensor, TensorView};
use std::collections::BTreeMap;

/// A folded result may always be this large ...
const FOLD_MIN_LIMIT: usize = 1 << 20;
/// ... or this many times its inputs' size, whichever is more.
const FOLD_GROWTH_LIMIT: usize = 2;

/// Why a node was not folded.
enum Skip {
    /// The operator cannot be built or evaluated.
    Failed(OpError),
    /// The result would be too large compared to the inputs.
    TooLarge,
}

/// Evaluates `node` on constant inputs: its outputs, or why not.
fn evaluate(graph: &Graph, node: &Node, build: BuildOp<'_>) -> Result<Vec<Tensor>, Skip> {
    let mut views: Vec<Option<TensorView<'_>>> = Vec::with_capacity(node.inputs.len());
    let mut input_bytes = 0usize;
    for input in &node.inputs {
        match input {
            None => views.push(None),
            Some(id) => {
                let t = graph.constant(*id).ok_or(Skip::TooLarge)?;
                input_bytes = input_bytes.saturating_add(t.bytes().len());
                views.push(Some(t.view()));
            }
        }
    }
    let op = build(node.op, &node.attributes).map_err(Skip::Failed)?;
    let infos: Vec<Option<InputInfo<'_>>> = views.iter().map(|v| v.map(InputInfo::from)).collect();
    let specs = op.infer(&infos).map_err(Skip::Failed)?;
    let limit = FOLD_MIN_LIMIT.max(input_bytes.saturating_mul(FOLD_GROWTH_LIMIT));
    let output_bytes = specs.iter().try_fold(0usize, |acc, s| {
        pocketnn_tensor::byte_size(s.dtype, &s.shape).and_then(|b| acc.checked_add(b))
    });
    if output_bytes.is_none_or(|b| b > limit) {
        return Err(Skip::TooLarge);
    }
    pocketnn_ops::eval(&*op, &views, FOLD_ISA).map_err(Skip::Failed)
}

/// Folds every node (in every body) whose inputs are all constants, except
/// `If`. Returns the number of nodes folded.
pub(crate) fn fold_constants(graph: &mut Graph, log: &mut PassLog, build: BuildOp<'_>) -> usize {
    let mut folded = 0;
    let mut unavailable: BTreeMap<OpCode, usize> = BTreeMap::new();
    for b in 0..graph.bodies.len() {
        let mut n = 0;
        while n < graph.bodies.get(b).map_or(0, |body| body.nodes.len()) {
            let Some(node) = graph.bodies.get(b).and_then(|body| body.nodes.get(n)) else {
                break;
            };
            let all_constant = node
                .inputs
                .iter()
                .flatten()
                .all(|&i| graph.constant(i).is_some());
            if node.op == OpCode::If || !all_constant {
                n += 1;
                continue;
            }
            match evaluate(graph, node, build) {
                Ok(tensors) if tensors.len() >= node.outputs.len() => {
                    let outputs = node.outputs.clone();
                    for (id, t) in outputs.into_iter().zip(tensors) {
                        graph.make_constant(id, t);
                        log.folded_values.push(graph.name(id).to_string());
                    }
                    if let Some(body) = graph.bodies.get_mut(b) {
                        body.nodes.remove(n);
                    }
                    folded += 1;
                }
                Ok(_) => {
                    log.warn(format!(
                        "constant folding: node {} ({}) returned fewer outputs than it has",
                        node.name, node.op
                    ));
                    n += 1;
                }
                Err(Skip::TooLarge) => n += 1,
                Err(Skip::Failed(OpError::Unsupported { .. })) => {
                    *unavailable.entry(node.op).or_insert(0) += 1;
                    n += 1;
                }
                Err(Skip::Failed(e)) => {
                    log.warn(format!(
                        "constant folding: node {} ({}) could not be evaluated: {e}",
                        node.name, node.op
                    ));
                    n += 1;
                }
            }
        }
    }
    for (op, count) in unavailable {
        log.warn(format!(
            "constant folding: operator {op} is not available; {count} constant node(s) left unfolded"
        ));
    }
    log.folded_nodes += folded;
    folded
}

/// Builds every node's operator, so attributes the runtime would reject are
/// found now. Invalid or missing attributes are errors; an operator pocketnn
/// cannot run yet is a warning, or an error when `strict`.
pub(crate) fn check_operators(
    graph: &Graph,
    strict: bool,
    log: &mut PassLog,
    build: BuildOp<'_>,
) -> Result<(), ConvertError> {
    let mut unavailable: BTreeMap<OpCode, usize> = BTreeMap::new();
    for node in graph.bodies.iter().flat_map(|b| &b.nodes) {
        if node.op == OpCode::If {
            continue;
        }
        match build(node.op, &node.attributes) {
            Ok(_) => {}
            Err(OpError::Unsupported { .. }) if !strict => {
                *unavailable.entry(node.op).or_insert(0) += 1;
            }
            Err(source) => {
                return Err(ConvertError::Operator {
                    op: node.op,
                    node: node.name.clone(),
                    source,
                });
            }
        }
    }
    for (op, count) in unavailable {
        log.warn(format!(
            "operator {op} ({count} node(s)) is not implemented by this pocketnn build"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
