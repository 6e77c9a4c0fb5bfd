//! `--quantize int8-dynamic`: every `Gemm` and `MatMul` with constant f32
//! 2-D weights becomes a `DynamicQuantMatMul` (`docs/ops/quant.md`): the
//! weights int8, symmetric per output column; the activations quantized per
//! row at run time, so no calibration data is needed. Convolutions and the
//! products this mode cannot take (listed in the report with the reason)
//! stay float.

use super::LayerReport;
use crate::graph::{Graph, Node};
use crate::{ConvertError, ConvertOptions};
use pocketnn_format::{AttrValue, DType, OpCode};
use pocketnn_ops::fused::{ACTIVATION, ACTIVATION_ALPHA, ACTIVATION_BETA};
use pocketnn_tensor::Tensor;
use pocketnn_tensor::kernels::qgemm::MAX_DEPTH;

/// Products with a shallower inner dimension stay float: quantizing each
/// row costs about as much as the int8 product saves.
pub(crate) const MIN_DEPTH: usize = 16;

/// The weights of one product, ready to quantize.
struct Weights {
    /// `B` as `k × n` row-major f32 (Gemm's alpha applied).
    values: Vec<f32>,
    k: usize,
    n: usize,
    /// One bias per column (Gemm's beta applied), if any.
    bias: Option<Vec<f32>>,
    /// Bytes of the constant inputs before.
    bytes_before: u64,
}

/// Quantizes `graph` in place; one report line per layer with weights.
pub(super) fn apply(
    graph: &mut Graph,
    _options: &ConvertOptions,
) -> Result<Vec<LayerReport>, ConvertError> {
    let mut reports = Vec::new();
    for b in 0..graph.bodies.len() {
        for p in 0..graph.bodies[b].nodes.len() {
            let node = &graph.bodies[b].nodes[p];
            if !matches!(node.op, OpCode::Gemm | OpCode::MatMul | OpCode::Conv) {
                continue;
            }
            let mut report = LayerReport {
                name: node.name.clone(),
                op: node.op.name().to_string(),
                bytes_before: constant_input_bytes(graph, node),
                bytes_after: 0,
                sqnr_db: None,
                kept_float: None,
            };
            match weights_of(graph, node) {
                Ok(weights) => {
                    report.bytes_before = weights.bytes_before;
                    let (new_node, bytes_after) = quantized_node(graph, node.clone(), weights)?;
                    report.bytes_after = bytes_after;
                    graph.bodies[b].nodes[p] = new_node;
                }
                Err(reason) => {
                    report.bytes_after = report.bytes_before;
                    report.kept_float = Some(reason);
                }
            }
            reports.push(report);
        }
    }
    Ok(reports)
}

/// Bytes of the node's constant inputs.
fn constant_input_bytes(graph: &Graph, node: &Node) -> u64 {
    node.inputs
        .iter()
        .flatten()
        .filter_map(|&id| graph.constant(id))
        .map(|t| t.bytes().len() as u64)
        .sum()
}

/// The f32 values of constant input `index`, with its shape; `Err` with the
/// reason the layer stays float otherwise.
fn constant_f32<'g>(
    graph: &'g Graph,
    node: &Node,
    index: usize,
    what: &str,
) -> Result<(&'g [usize], &'g [f32]), String> {
    let id = node
        .inputs
        .get(index)
        .copied()
        .flatten()
        .ok_or_else(|| format!("no {what}"))?;
    let tensor = graph
        .constant(id)
        .ok_or_else(|| format!("{what} is not a constant"))?;
    if tensor.dtype() != DType::F32 {
        return Err(format!("{what} is {}, not f32", tensor.dtype()));
    }
    let values = tensor.as_slice::<f32>().map_err(|e| e.to_string())?;
    Ok((tensor.shape(), values))
}

fn int_attribute(node: &Node, name: &str, default: i64) -> i64 {
    match node.attribute(name) {
        Some(AttrValue::Int(v)) => *v,
        _ => default,
    }
}

fn float_attribute(node: &Node, name: &str, default: f32) -> f32 {
    match node.attribute(name) {
        Some(AttrValue::Float(v)) => *v,
        _ => default,
    }
}

/// The weights of a `Gemm` or `MatMul` this mode quantizes, or why not.
fn weights_of(graph: &Graph, node: &Node) -> Result<Weights, String> {
    let (shape, values) = match node.op {
        OpCode::Conv => return Err("convolutions stay float in int8-dynamic".into()),
        _ => constant_f32(graph, node, 1, "weight B")?,
    };
    let &[rows, cols] = shape else {
        return Err(format!("weight B has shape {shape:?}, not 2-D"));
    };
    let transposed = node.op == OpCode::Gemm && int_attribute(node, "transB", 0) != 0;
    let (k, n) = if transposed {
        (cols, rows)
    } else {
        (rows, cols)
    };
    if k < MIN_DEPTH {
        return Err(format!("inner dimension {k} below {MIN_DEPTH}"));
    }
    if k > MAX_DEPTH {
        return Err(format!("inner dimension {k} above {MAX_DEPTH}"));
    }
    let mut bytes_before = (values.len() * 4) as u64;
    let (alpha, beta) = if node.op == OpCode::Gemm {
        if int_attribute(node, "transA", 0) != 0 {
            return Err("transposed A (transA = 1)".into());
        }
        (
            float_attribute(node, "alpha", 1.0),
            float_attribute(node, "beta", 1.0),
        )
    } else {
        (1.0, 0.0)
    };
    let mut b = vec![0f32; k * n];
    for p in 0..k {
        for j in 0..n {
            let v = if transposed {
                values[j * k + p]
            } else {
                values[p * n + j]
            };
            b[p * n + j] = alpha * v;
        }
    }
    let c_id = node.inputs.get(2).copied().flatten();
    let bias = match c_id {
        Some(_) if node.op == OpCode::Gemm && beta != 0.0 => {
            let (c_shape, c) = constant_f32(graph, node, 2, "bias C")?;
            bytes_before += (c.len() * 4) as u64;
            let per_column = match c_shape {
                [] | [1] | [1, 1] => vec![beta * c[0]; n],
                [len] | [1, len] if *len == n => c.iter().map(|&v| beta * v).collect(),
                _ => return Err(format!("bias C {c_shape:?} is not one value per column")),
            };
            Some(per_column)
        }
        _ => None,
    };
    if !b.iter().chain(bias.iter().flatten()).all(|v| v.is_finite()) {
        return Err("weights hold NaN or infinity".into());
    }
    Ok(Weights {
        values: b,
        k,
        n,
        bias,
        bytes_before,
    })
}

/// Column `j` of `k × n` weights quantized symmetrically: the scale is
/// `max |w| / 127` (1 for an all-zero column), values `round(w / scale)`.
pub(crate) fn quantize_weights(values: &[f32], k: usize, n: usize) -> (Vec<i8>, Vec<f32>) {
    let mut scales = vec![1f32; n];
    for (j, scale) in scales.iter_mut().enumerate() {
        let max = (0..k).map(|p| values[p * n + j].abs()).fold(0f32, f32::max);
        if max > 0.0 {
            *scale = max / 127.0;
        }
    }
    let q = values
        .iter()
        .enumerate()
        .map(|(i, &v)| (v / scales[i % n]).round_ties_even().clamp(-127.0, 127.0) as i8)
        .collect();
    (q, scales)
}

/// The `DynamicQuantMatMul` replacing `node`, and its constants' bytes.
fn quantized_node(
    graph: &mut Graph,
    node: Node,
    weights: Weights,
) -> Result<(Node, u64), ConvertError> {
    let Weights {
        values, k, n, bias, ..
    } = weights;
    let tensor_error = |e: pocketnn_tensor::TensorError| ConvertError::Quantization {
        reason: format!("node {}: {e}", node.name),
    };
    let (q, scales) = quantize_weights(&values, k, n);
    let mut bytes_after = (q.len() + scales.len() * 4) as u64;
    let q = Tensor::from_slice(&[k, n], &q).map_err(tensor_error)?;
    let scales = Tensor::from_slice(&[n], &scales).map_err(tensor_error)?;
    let a = node.inputs.first().copied().flatten();
    let q_id = graph.add_constant(&format!("{}_weight_int8", node.name), q);
    let scales_id = graph.add_constant(&format!("{}_weight_scale", node.name), scales);
    let mut inputs = vec![a, Some(q_id), Some(scales_id)];
    if let Some(bias) = bias {
        bytes_after += (bias.len() * 4) as u64;
        let bias = Tensor::from_slice(&[n], &bias).map_err(tensor_error)?;
        inputs.push(Some(
            graph.add_constant(&format!("{}_bias", node.name), bias),
        ));
    }
    let attributes = node
        .attributes
        .iter()
        .filter(|a| [ACTIVATION, ACTIVATION_ALPHA, ACTIVATION_BETA].contains(&a.name.as_str()))
        .cloned()
        .collect();
    Ok((
        Node {
            name: node.name,
            op: OpCode::DynamicQuantMatMul,
            inputs,
            outputs: node.outputs,
            attributes,
        },
        bytes_after,
    ))
}

#[cfg(test)]
mod tests;
