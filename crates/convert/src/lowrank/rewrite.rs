//! The factorizing rewrite: finds the layers with a constant f32 weight,
//! chooses their rank, and splits those where it saves work into two nodes.

use super::svd::{Decomposition, Factors, decompose, energy_kept, rank_for};
use super::{LowRank, LowRankLayer};
use crate::graph::{Graph, Node, ValueId};
use pocketnn_format::{AttrValue, Attribute, DType, Dim, OpCode};
use pocketnn_ops::fused::{ACTIVATION, ACTIVATION_ALPHA, ACTIVATION_BETA};
use pocketnn_tensor::Tensor;

/// A factorized fully connected layer: the value between its two nodes
/// and the layer's name, for [`super::fuse_pairs`].
#[derive(Clone, Debug)]
pub(crate) struct Pair {
    /// The rank-`r` intermediate `T`.
    pub intermediate: ValueId,
    /// The original node's name (the fused node's name).
    pub name: String,
}

/// The kind of layer and what its rewrite needs.
#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Gemm,
    MatMul,
    /// A convolution's kernel dims (`kh, kw` ...) after `[M, C]`.
    Conv {
        kernel: Vec<usize>,
        channels: usize,
    },
}

/// A layer with a constant weight, seen as `M × K`.
struct Layer {
    kind: Kind,
    m: usize,
    k: usize,
    /// `W` as `M × K`, row-major.
    w: Vec<f32>,
    bias_len: u64,
    /// Rows (Gemm, MatMul) or output pixels (Conv) of one inference at
    /// batch 1; symbolic dims count 1.
    positions: u64,
}

fn is_activation(name: &str) -> bool {
    [ACTIVATION, ACTIVATION_ALPHA, ACTIVATION_BETA].contains(&name)
}

fn int_attr(node: &Node, name: &str, default: i64) -> i64 {
    match node.attribute(name) {
        Some(AttrValue::Int(v)) => *v,
        _ => default,
    }
}

fn fixed_dims(graph: &Graph, id: ValueId) -> Option<Vec<Option<u64>>> {
    let shape = graph.value(id)?.shape.as_ref()?;
    Some(
        shape
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => Some(*n),
                Dim::Symbolic(_) => None,
            })
            .collect(),
    )
}

/// Product of the known dims of `id`'s shape in `range` (unknown dims and
/// an unknown shape count 1).
fn positions(graph: &Graph, id: Option<ValueId>, range: std::ops::Range<usize>) -> u64 {
    let dims = id.and_then(|id| fixed_dims(graph, id)).unwrap_or_default();
    let range = range.start.min(dims.len())..range.end.min(dims.len());
    dims.get(range)
        .unwrap_or(&[])
        .iter()
        .map(|d| d.unwrap_or(1))
        .fold(1u64, u64::saturating_mul)
        .min(u64::MAX / 4)
}

fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; values.len()];
    for i in 0..rows {
        for j in 0..cols {
            out[j * rows + i] = values[i * cols + j];
        }
    }
    out
}

/// The layer node `node` is, when its weight is a constant; `Err(reason)`
/// for a weighted layer this pass cannot factorize.
fn layer_of(graph: &Graph, node: &Node) -> Option<Result<Layer, (String, usize, usize)>> {
    let weight_id = node.inputs.get(1).copied().flatten()?;
    let weight = graph.constant(weight_id)?;
    let shape = weight.shape().to_vec();
    let output = node.outputs.first().copied();
    let bias_len = |index: usize| -> u64 {
        node.inputs
            .get(index)
            .copied()
            .flatten()
            .and_then(|id| graph.constant(id))
            .map_or(0, |t| t.shape().iter().product::<usize>() as u64)
    };
    let (kind, m, k, bias, rows) = match (node.op, shape.as_slice()) {
        (OpCode::Gemm, &[rows, cols]) => {
            let (m, k) = if int_attr(node, "transB", 0) == 1 {
                (rows, cols)
            } else {
                (cols, rows)
            };
            (
                Kind::Gemm,
                m,
                k,
                bias_len(2),
                positions(graph, output, 0..1),
            )
        }
        (OpCode::MatMul, &[k, m]) => {
            let leading = output
                .and_then(|id| fixed_dims(graph, id))
                .map_or(0, |d| d.len().saturating_sub(1));
            (Kind::MatMul, m, k, 0, positions(graph, output, 0..leading))
        }
        (OpCode::Conv, &[m, channels, ref kernel @ ..]) if !kernel.is_empty() => {
            let k = kernel.iter().try_fold(channels, |a, &d| a.checked_mul(d))?;
            let pixels = positions(graph, output, 2..usize::MAX);
            let kind = Kind::Conv {
                kernel: kernel.to_vec(),
                channels,
            };
            (kind, m, k, bias_len(2), pixels)
        }
        _ => return None,
    };
    if weight.dtype() != DType::F32 {
        return Some(Err((
            format!("weight is {}, not f32", weight.dtype()),
            m,
            k,
        )));
    }
    if let Kind::Conv { .. } = kind {
        let group = int_attr(node, "group", 1);
        if group != 1 {
            return Some(Err((format!("grouped convolution (group {group})"), m, k)));
        }
    }
    let values = weight.as_slice::<f32>().ok()?;
    if values.iter().any(|v| !v.is_finite()) {
        return Some(Err(("the weight has non-finite values".into(), m, k)));
    }
    let w = match kind {
        Kind::Gemm if int_attr(node, "transB", 0) != 1 => transpose(values, k, m),
        Kind::MatMul => transpose(values, k, m),
        _ => values.to_vec(),
    };
    Some(Ok(Layer {
        kind,
        m,
        k,
        w,
        bias_len: bias,
        positions: rows.max(1),
    }))
}

/// Factorizes every eligible layer of every body (only the nodes named in
/// `only` when it is not empty); returns the report rows and the fully
/// connected pairs made.
pub(crate) fn apply(
    graph: &mut Graph,
    mode: LowRank,
    only: &[String],
) -> (Vec<LowRankLayer>, Vec<Pair>) {
    let mut layers = Vec::new();
    let mut pairs = Vec::new();
    for b in 0..graph.bodies.len() {
        let mut p = 0;
        while let Some(node) = graph.bodies.get(b).and_then(|body| body.nodes.get(p)) {
            let node = node.clone();
            p += 1;
            if !only.is_empty() && !only.contains(&node.name) {
                continue;
            }
            let Some(layer) = layer_of(graph, &node) else {
                continue;
            };
            let mut row = LowRankLayer {
                name: node.name.clone(),
                op: node.op.name().to_string(),
                rank: 0,
                full_rank: 0,
                params_before: 0,
                params_after: 0,
                bytes_before: 0,
                bytes_after: 0,
                flops_before: 0,
                flops_after: 0,
                energy_kept: None,
                kept: None,
            };
            let layer = match layer {
                Ok(layer) => layer,
                Err((reason, m, k)) => {
                    row.full_rank = m.min(k);
                    row.rank = row.full_rank;
                    let params = (m as u64).saturating_mul(k as u64);
                    (row.params_before, row.params_after) = (params, params);
                    (row.bytes_before, row.bytes_after) = (params * 4, params * 4);
                    row.kept = Some(reason);
                    layers.push(row);
                    continue;
                }
            };
            let (m, k) = (layer.m, layer.k);
            let full = m.min(k);
            let dense = (m as u64) * (k as u64);
            let mut rank = rank_for(mode, full, None);
            let mut decomposition: Option<Decomposition> = None;
            let saves = |r: usize| (r as u64) * ((m + k) as u64) < dense;
            let mut kept = None;
            if matches!(mode, LowRank::Fraction(_)) && !saves(rank) {
                kept = Some(no_saving(rank, m, k));
            } else {
                match decompose(&layer.w, m, k) {
                    None => kept = Some("the SVD did not converge".to_string()),
                    Some(d) => {
                        rank = rank_for(mode, full, Some(&d.singular));
                        row.energy_kept = Some(energy_kept(&d.singular, rank));
                        if !saves(rank) {
                            kept = Some(no_saving(rank, m, k));
                        }
                        decomposition = Some(d);
                    }
                }
            }
            let kept_params = if kept.is_some() {
                dense
            } else {
                (rank as u64) * ((m + k) as u64)
            };
            row.rank = rank;
            row.full_rank = full;
            row.params_before = dense + layer.bias_len;
            row.params_after = kept_params + layer.bias_len;
            row.bytes_before = row.params_before * 4;
            row.bytes_after = row.params_after * 4;
            row.flops_before = dense.saturating_mul(2 * layer.positions);
            row.flops_after = kept_params.saturating_mul(2 * layer.positions);
            row.kept = kept;
            if let (None, Some(d)) = (&row.kept, decomposition) {
                let factors = d.truncate(rank);
                match split(graph, b, p - 1, &node, &layer, &factors, rank) {
                    Some(pair) => {
                        pairs.extend(pair);
                        // Node p - 1 is now two nodes.
                        p += 1;
                    }
                    None => {
                        row.kept = Some("the factor nodes could not be built".into());
                        row.params_after = row.params_before;
                        row.bytes_after = row.bytes_before;
                        row.flops_after = row.flops_before;
                    }
                }
            }
            layers.push(row);
        }
    }
    (layers, pairs)
}

fn no_saving(rank: usize, m: usize, k: usize) -> String {
    format!(
        "rank {rank} would not save work: r·(M+K) = {} >= M·K = {}",
        (rank as u64) * ((m + k) as u64),
        (m as u64) * (k as u64)
    )
}

fn attribute(name: &str, value: AttrValue) -> Attribute {
    Attribute {
        name: name.to_string(),
        value,
    }
}

/// Replaces node `p` of body `b` by its two factor nodes. Returns the pair
/// for a fully connected layer; `None` when nothing was replaced.
fn split(
    graph: &mut Graph,
    b: usize,
    p: usize,
    node: &Node,
    layer: &Layer,
    factors: &Factors,
    r: usize,
) -> Option<Option<Pair>> {
    let (m, k) = (layer.m, layer.k);
    let output = *node.outputs.first()?;
    let (v, u, channel_axis) = match &layer.kind {
        Kind::Gemm => (
            Tensor::from_slice(&[r, k], &factors.v).ok()?,
            Tensor::from_slice(&[m, r], &factors.u).ok()?,
            None,
        ),
        Kind::MatMul => (
            Tensor::from_slice(&[k, r], &transpose(&factors.v, r, k)).ok()?,
            Tensor::from_slice(&[r, m], &transpose(&factors.u, m, r)).ok()?,
            None,
        ),
        Kind::Conv { kernel, channels } => {
            let mut v_shape = vec![r, *channels];
            v_shape.extend_from_slice(kernel);
            let mut u_shape = vec![m, r];
            u_shape.extend(kernel.iter().map(|_| 1));
            (
                Tensor::from_slice(&v_shape, &factors.v).ok()?,
                Tensor::from_slice(&u_shape, &factors.u).ok()?,
                Some(1),
            )
        }
    };
    let out_name = graph.name(output).to_string();
    let shape = graph
        .value(output)
        .and_then(|v| v.shape.clone())
        .map(|mut s| {
            let axis = channel_axis.unwrap_or(s.len().saturating_sub(1));
            if let Some(d) = s.get_mut(axis) {
                *d = Dim::Fixed(r as u64);
            }
            s
        });
    let t = graph.add_value(&format!("{out_name}_lowrank"), DType::F32, shape);
    let v_id = graph.add_constant(&format!("{}_lowrank_v", node.name), v);
    let u_id = graph.add_constant(&format!("{}_lowrank_u", node.name), u);
    let input = node.inputs.first().copied().flatten();
    let (first_attrs, second_attrs, second_inputs): (Vec<_>, Vec<_>, Vec<_>) = match layer.kind {
        Kind::Gemm => {
            let trans_a = int_attr(node, "transA", 0);
            let mut second: Vec<Attribute> = node
                .attributes
                .iter()
                .filter(|a| a.name != "transA" && a.name != "transB")
                .cloned()
                .collect();
            second.push(attribute("transB", AttrValue::Int(1)));
            (
                vec![
                    attribute("transA", AttrValue::Int(trans_a)),
                    attribute("transB", AttrValue::Int(1)),
                ],
                second,
                vec![Some(t), Some(u_id), node.inputs.get(2).copied().flatten()],
            )
        }
        Kind::MatMul => (
            Vec::new(),
            node.attributes.clone(),
            vec![Some(t), Some(u_id)],
        ),
        Kind::Conv { .. } => {
            let (act, rest): (Vec<Attribute>, Vec<Attribute>) = node
                .attributes
                .iter()
                .cloned()
                .partition(|a| is_activation(&a.name));
            let mut inputs = vec![Some(t), Some(u_id)];
            inputs.extend(node.inputs.iter().skip(2).copied());
            (rest, act, inputs)
        }
    };
    let mut second_inputs = second_inputs;
    while second_inputs.last() == Some(&None) {
        second_inputs.pop();
    }
    let first = Node {
        name: format!("{}_lowrank_v", node.name),
        op: node.op,
        inputs: vec![input, Some(v_id)],
        outputs: vec![t],
        attributes: first_attrs,
    };
    let second = Node {
        name: format!("{}_lowrank_u", node.name),
        op: node.op,
        inputs: second_inputs,
        outputs: node.outputs.clone(),
        attributes: second_attrs,
    };
    let body = graph.bodies.get_mut(b)?;
    let slot = body.nodes.get_mut(p)?;
    *slot = first;
    body.nodes.insert(p + 1, second);
    let pair = Pair {
        intermediate: t,
        name: node.name.clone(),
    };
    Some((!matches!(layer.kind, Kind::Conv { .. })).then_some(pair))
}
