//! `--quantize fp16`: the weights of `Conv`, `ConvTranspose`, `Gemm` and
//! `MatMul` stored as IEEE half floats.
//!
//! Each such node whose weight (input 1) is an f32 constant gets an f16
//! copy of it (round to nearest even); the runtime widens it back to f32
//! while it computes (`docs/kernels.md`, "fp16 weights"), so only the
//! rounding of the weights changes the results. A weight shared by several
//! nodes is converted once; the f32 original stays only if something else
//! still reads it. Biases and every other constant stay f32: they are tiny
//! next to the weights, and the kernels add them in f32.
//!
//! A weight with a finite value beyond f16's range (±65504) stays f32 (it
//! would become infinite), and the report says so.

use super::LayerReport;
use crate::graph::{Graph, ValueId};
use crate::{ConvertError, ConvertOptions};
use half::f16;
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::Tensor;
use std::collections::HashMap;

/// The operators whose input 1 is a weight the runtime accepts as f16.
const WEIGHTED_OPS: [OpCode; 4] = [
    OpCode::Conv,
    OpCode::ConvTranspose,
    OpCode::Gemm,
    OpCode::MatMul,
];

/// What happened to one f32 weight constant.
#[derive(Clone, Debug)]
enum Converted {
    /// Stored as f16 in this new value.
    Half(ValueId),
    /// Kept f32, for this reason.
    Kept(String),
}

/// Quantizes `graph` in place; one report line per layer with weights.
pub(super) fn apply(
    graph: &mut Graph,
    _options: &ConvertOptions,
) -> Result<Vec<LayerReport>, ConvertError> {
    let mut done: HashMap<ValueId, Converted> = HashMap::new();
    let mut reports = Vec::new();
    for body in 0..graph.bodies.len() {
        for index in 0..graph.bodies[body].nodes.len() {
            let node = &graph.bodies[body].nodes[index];
            if !WEIGHTED_OPS.contains(&node.op) {
                continue;
            }
            let Some(Some(weight)) = node.inputs.get(1).copied() else {
                continue;
            };
            let Some(tensor) = graph.constant(weight) else {
                continue; // a computed weight: nothing to store
            };
            if tensor.dtype() != DType::F32 {
                continue;
            }
            let before = constant_bytes(graph, &node.inputs);
            let (name, op) = (node.name.clone(), node.op.name().to_string());
            let outcome = match done.get(&weight) {
                Some(outcome) => outcome.clone(),
                None => {
                    let outcome = convert(graph, weight)?;
                    done.insert(weight, outcome.clone());
                    outcome
                }
            };
            let kept_float = match outcome {
                Converted::Half(half) => {
                    graph.bodies[body].nodes[index].inputs[1] = Some(half);
                    None
                }
                Converted::Kept(reason) => Some(reason),
            };
            let after = constant_bytes(graph, &graph.bodies[body].nodes[index].inputs);
            reports.push(LayerReport {
                name,
                op,
                bytes_before: before,
                bytes_after: after,
                sqnr_db: None,
                kept_float,
            });
        }
    }
    Ok(reports)
}

/// Adds the f16 copy of f32 constant `weight`, or says why it stays f32.
fn convert(graph: &mut Graph, weight: ValueId) -> Result<Converted, ConvertError> {
    let Some(tensor) = graph.constant(weight) else {
        return Ok(Converted::Kept("not a constant".into()));
    };
    let values = tensor.as_slice::<f32>().map_err(tensor_error)?;
    let largest = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |m, v| m.max(v.abs()));
    if largest > f16::MAX.to_f32() {
        return Ok(Converted::Kept(format!(
            "a weight of magnitude {largest:e} is beyond f16's range (±65504)"
        )));
    }
    let halves: Vec<f16> = values.iter().map(|&v| f16::from_f32(v)).collect();
    let half = Tensor::from_slice(tensor.shape(), &halves).map_err(tensor_error)?;
    let hint = format!("{}_fp16", graph.name(weight));
    Ok(Converted::Half(graph.add_constant(&hint, half)))
}

/// Bytes of the constant inputs among `inputs`.
fn constant_bytes(graph: &Graph, inputs: &[Option<ValueId>]) -> u64 {
    inputs
        .iter()
        .flatten()
        .filter_map(|&id| graph.constant(id))
        .map(|t| t.bytes().len() as u64)
        .sum()
}

fn tensor_error(error: pocketnn_tensor::TensorError) -> ConvertError {
    ConvertError::Quantization {
        reason: format!("fp16: {error}"),
    }
}

#[cfg(test)]
mod tests;
