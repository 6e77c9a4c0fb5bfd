//! Which nodes `--quantize int8` can turn into integer layers: `Conv`,
//! `Gemm` and `MatMul` with constant weights, read here into one common
//! form (weights with the output channel first, a float bias, the fused
//! activation's bounds).

use crate::graph::{Graph, Node, ValueId};
use pocketnn_format::{AttrValue, Attribute, DType, OpCode};
use pocketnn_ops::fused::{ACTIVATION, ACTIVATION_ALPHA, ACTIVATION_BETA};
use pocketnn_tensor::Tensor;

/// The shape of a layer's integer form.
#[derive(Clone, Debug)]
pub(crate) enum LayerKind {
    /// A `QLinearConv` with these attributes (the float Conv's, minus the
    /// fused activation) and weight shape `[M, C/group, kernel..]`.
    Conv {
        attributes: Vec<Attribute>,
        weight_shape: Vec<usize>,
    },
    /// `y[n, N] = x[n, K] · Wᵀ + b`, run as a 1-D `QLinearConv` with a
    /// `[N, K, 1]` kernel between two `Reshape`s.
    Dense { k: usize, n: usize },
}

/// A layer that can be quantized.
#[derive(Clone, Debug)]
pub(crate) struct Layer {
    /// Index of the node in the main body.
    pub node: usize,
    /// The node's name.
    pub name: String,
    /// The float activation input.
    pub input: ValueId,
    /// The float output.
    pub output: ValueId,
    /// Weights, output channel first (`M` rows of equal length).
    pub weights: Vec<f32>,
    /// Number of output channels.
    pub channels: usize,
    /// One bias value per output channel.
    pub bias: Vec<f32>,
    /// Bounds of the fused activation (`Relu`: `[0, ∞)`).
    pub bounds: (f32, f32),
    /// How the integer form runs.
    pub kind: LayerKind,
    /// Set when the layer's result stays f32 (`QLinearConvF32`).
    pub float_output: Option<FloatOutput>,
}

/// A convolution whose integer form dequantizes its result in the epilogue
/// instead of requantizing it: one with a residual `Add` fused into it
/// (whose sum is f32), or whose fused activation has no integer form.
#[derive(Clone, Debug)]
pub(crate) struct FloatOutput {
    /// The fused residual input (`Conv`'s fourth input).
    pub residual: Option<ValueId>,
    /// The fused activation's attributes, applied to the f32 result.
    pub activation: Vec<Attribute>,
}

/// What a node with constant weights is, for quantization.
pub(crate) enum Candidate {
    /// Quantizable.
    Layer(Box<Layer>),
    /// Has weights but stays float, for this reason.
    Float(String),
}

/// A node with weights: its report name, operator and the bytes of its
/// constant inputs; `None` for nodes without weights.
pub(crate) fn weighted_node(graph: &Graph, node: &Node) -> Option<u64> {
    if !matches!(node.op, OpCode::Conv | OpCode::Gemm | OpCode::MatMul) {
        return None;
    }
    let weight = node.inputs.get(1).copied().flatten()?;
    graph.constant(weight)?;
    Some(
        node.inputs
            .iter()
            .flatten()
            .filter_map(|&id| graph.constant(id))
            .map(|t| t.bytes().len() as u64)
            .sum(),
    )
}

/// Reads node `index` of the main body as a quantizable layer.
pub(crate) fn candidate(graph: &Graph, index: usize, node: &Node) -> Candidate {
    match read_layer(graph, index, node) {
        Ok(layer) => Candidate::Layer(Box::new(layer)),
        Err(reason) => Candidate::Float(reason),
    }
}

fn read_layer(graph: &Graph, index: usize, node: &Node) -> Result<Layer, String> {
    let input = match node.inputs.first().copied().flatten() {
        Some(id) if graph.value(id).is_some_and(|v| v.dtype == DType::F32) => id,
        _ => return Err("input is not f32".into()),
    };
    let &[output] = node.outputs.as_slice() else {
        return Err("more than one output".into());
    };
    // A convolution applies any fused activation to its f32 result.
    let (bounds, integer_activation) = match activation_bounds(node) {
        Ok(bounds) => (bounds, true),
        Err(_) if node.op == OpCode::Conv => ((f32::NEG_INFINITY, f32::INFINITY), false),
        Err(reason) => return Err(reason),
    };
    let weight = node
        .inputs
        .get(1)
        .copied()
        .flatten()
        .and_then(|id| graph.constant(id))
        .ok_or("weights are not constant")?;
    let w = weight
        .as_slice::<f32>()
        .map_err(|_| format!("weights are {}, not f32", weight.dtype()))?;
    let mut layer = Layer {
        node: index,
        name: node.name.clone(),
        input,
        output,
        weights: Vec::new(),
        channels: 0,
        bias: Vec::new(),
        bounds,
        kind: LayerKind::Dense { k: 0, n: 0 },
        float_output: None,
    };
    match node.op {
        OpCode::Conv => {
            let residual = node.inputs.get(3).copied().flatten();
            if residual.is_some() || !integer_activation {
                let activation = node
                    .attributes
                    .iter()
                    .filter(|a| [ACTIVATION, ACTIVATION_ALPHA, ACTIVATION_BETA].contains(&&*a.name))
                    .cloned()
                    .collect();
                layer.float_output = Some(FloatOutput {
                    residual,
                    activation,
                });
            }
            let shape = weight.shape().to_vec();
            if !(3..=4).contains(&shape.len()) {
                return Err(format!("{}-D convolution", shape.len().saturating_sub(2)));
            }
            let channels = shape.first().copied().unwrap_or(0);
            layer.bias = constant_bias(graph, node.inputs.get(2).copied().flatten(), channels)?;
            layer.weights = w.to_vec();
            layer.channels = channels;
            let attributes = node
                .attributes
                .iter()
                .filter(|a| ![ACTIVATION, ACTIVATION_ALPHA, ACTIVATION_BETA].contains(&&*a.name))
                .cloned()
                .collect();
            layer.kind = LayerKind::Conv {
                attributes,
                weight_shape: shape,
            };
        }
        OpCode::Gemm => {
            if int_attr(node, "transA", 0) != 0 {
                return Err("transA = 1".into());
            }
            let &[rows, cols] = weight.shape() else {
                return Err("weights are not 2-D".into());
            };
            let trans_b = int_attr(node, "transB", 0) != 0;
            let (k, n) = if trans_b { (cols, rows) } else { (rows, cols) };
            let alpha = float_attr(node, "alpha", 1.0);
            let beta = float_attr(node, "beta", 1.0);
            layer.weights = dense_weights(w, k, n, trans_b, alpha);
            let bias = constant_bias(graph, node.inputs.get(2).copied().flatten(), n)?;
            layer.bias = bias.iter().map(|b| b * beta).collect();
            layer.channels = n;
            layer.kind = LayerKind::Dense { k, n };
        }
        OpCode::MatMul => {
            if node.inputs.len() != 2 {
                return Err("MatMul with extra inputs".into());
            }
            let rank = graph
                .value(input)
                .and_then(|v| v.shape.as_ref())
                .map(Vec::len);
            if rank != Some(2) {
                return Err("MatMul input is not known to be 2-D".into());
            }
            let &[k, n] = weight.shape() else {
                return Err("weights are not 2-D".into());
            };
            layer.weights = dense_weights(w, k, n, false, 1.0);
            layer.bias = vec![0.0; n];
            layer.channels = n;
            layer.kind = LayerKind::Dense { k, n };
        }
        op => return Err(format!("{} is not quantized", op.name())),
    }
    if layer.channels == 0 || layer.weights.is_empty() {
        return Err("empty weights".into());
    }
    Ok(layer)
}

/// `alpha · B` as `[n, k]` (output channel first) from `B` `[k, n]`, or
/// from `[n, k]` when `transposed`.
fn dense_weights(b: &[f32], k: usize, n: usize, transposed: bool, alpha: f32) -> Vec<f32> {
    if transposed {
        return b.iter().map(|w| w * alpha).collect();
    }
    let mut out = vec![0.0; b.len()];
    for (row, chunk) in b.chunks_exact(n.max(1)).enumerate().take(k) {
        for (col, &w) in chunk.iter().enumerate() {
            if let Some(slot) = out.get_mut(col * k + row) {
                *slot = w * alpha;
            }
        }
    }
    out
}

/// A constant bias broadcast to `channels` values (zeros when absent).
fn constant_bias(graph: &Graph, id: Option<ValueId>, channels: usize) -> Result<Vec<f32>, String> {
    let Some(id) = id else {
        return Ok(vec![0.0; channels]);
    };
    let tensor: &Tensor = graph.constant(id).ok_or("bias is not constant")?;
    let values = tensor
        .as_slice::<f32>()
        .map_err(|_| format!("bias is {}, not f32", tensor.dtype()))?;
    let shape = tensor.shape();
    let per_channel = shape.iter().rev().skip(1).all(|&d| d == 1)
        && shape.last().is_none_or(|&d| d == channels || d == 1);
    match values {
        [v] if per_channel => Ok(vec![*v; channels]),
        all if per_channel && all.len() == channels => Ok(all.to_vec()),
        _ => Err(format!(
            "bias of shape {shape:?} is not one value per channel"
        )),
    }
}

/// The output bounds the fused activation imposes, when the requantizing
/// clamp can apply it (`none`, `relu`, or a `clip` whose range holds 0).
fn activation_bounds(node: &Node) -> Result<(f32, f32), String> {
    let float = |name: &str| match node.attribute(name) {
        Some(AttrValue::Float(v)) => Some(*v),
        _ => None,
    };
    match node.attribute(ACTIVATION) {
        None => Ok((f32::NEG_INFINITY, f32::INFINITY)),
        Some(AttrValue::String(kind)) => match kind.as_str() {
            "none" => Ok((f32::NEG_INFINITY, f32::INFINITY)),
            "relu" => Ok((0.0, f32::INFINITY)),
            "clip" => match (float(ACTIVATION_ALPHA), float(ACTIVATION_BETA)) {
                (Some(lo), Some(hi)) if lo <= 0.0 && hi >= 0.0 => Ok((lo, hi)),
                _ => Err("fused clip whose range excludes 0".into()),
            },
            other => Err(format!("fused activation {other} has no integer form")),
        },
        Some(_) => Err("malformed activation attribute".into()),
    }
}

fn int_attr(node: &Node, name: &str, default: i64) -> i64 {
    match node.attribute(name) {
        Some(AttrValue::Int(v)) => *v,
        _ => default,
    }
}

fn float_attr(node: &Node, name: &str, default: f32) -> f32 {
    match node.attribute(name) {
        Some(AttrValue::Float(v)) => *v,
        _ => default,
    }
}
