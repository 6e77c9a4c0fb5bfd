//! `--prune-pattern channel`: whole output channels (neurons) go, by the L1
//! norm of their weights, and the model shrinks: the layer's weight rows and
//! bias, and the inputs of the layer that reads them — through activations,
//! pooling and other per-channel ops to the next `Conv` (its input
//! channels), through `Flatten`/`Reshape` to a `Gemm`/`MatMul` (channel `c`
//! owns inputs `c·S .. (c+1)·S`, `S` the pixels per channel). A layer whose
//! outputs reach anything else (a model output, a residual `Add`, a
//! `Concat`, a grouped convolution, two readers ...) keeps its channels,
//! and the report says why.

use super::weights::{Layout, Prunable, int_attr};
use super::{PrunableReportParts, PruneLayerReport, Pruning, error};
use crate::ConvertError;
use crate::graph::{Graph, ValueId};
use pocketnn_format::{Dim, OpCode};
use pocketnn_tensor::Tensor;

/// How a layer's output channels reach the layer that reads them.
#[derive(Clone, Debug)]
struct Chain {
    /// Index in `layers` of the reading layer.
    consumer: usize,
    /// Consumer inputs per channel (pixels after a `Flatten`, kernel taps
    /// of a `Conv`).
    span: usize,
    /// `Reshape` nodes on the way whose target shape holds the flattened
    /// size (main-body node index, position of that size in the shape).
    reshapes: Vec<(usize, usize)>,
}

/// Ops that work on each channel alone, leaving the channel axis in place.
fn per_channel(op: OpCode, flattened: bool) -> bool {
    use OpCode::*;
    match op {
        Relu | Clip | LeakyRelu | Sigmoid | Tanh | HardSigmoid | HardSwish | Elu | Selu
        | Softplus | Identity => true,
        MaxPool | AveragePool | GlobalAveragePool | GlobalMaxPool => !flattened,
        _ => false,
    }
}

/// The fixed dims of a value's shape.
fn fixed_dims(graph: &Graph, id: ValueId) -> Option<Vec<usize>> {
    graph
        .value(id)?
        .shape
        .as_ref()?
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => usize::try_from(*n).ok(),
            Dim::Symbolic(_) => Some(0),
        })
        .collect()
}

/// Follows `layers[index]`'s output to the layer that reads its channels.
fn chain(graph: &Graph, layers: &[Prunable], index: usize) -> Result<Chain, String> {
    let layer = layers.get(index).ok_or("no such layer")?;
    let main = graph.bodies.first().ok_or("no main graph")?;
    let node = main.nodes.get(layer.node).ok_or("no such node")?;
    match node.op {
        OpCode::Conv if int_attr(node, "group", 1) != 1 => {
            return Err("a grouped (depthwise) convolution".into());
        }
        OpCode::Conv if node.inputs.len() > 3 => {
            return Err("a residual Add is fused into it".into());
        }
        _ => {}
    }
    if let Some(bias) = node.inputs.get(2).copied().flatten() {
        let t = graph.constant(bias).ok_or("its bias is not constant")?;
        let n = t.shape().iter().product::<usize>();
        if n != layer.m && n != 1 {
            return Err(format!(
                "its bias of shape {:?} is not per channel",
                t.shape()
            ));
        }
    }
    let counts = graph.use_counts();
    let mut value = *node.outputs.first().ok_or("no output")?;
    let mut span = 1usize;
    let mut reshapes = Vec::new();
    loop {
        if graph.is_body_output(value) {
            return Err("its output reaches a model output".into());
        }
        let readers: Vec<(usize, usize)> = main
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(n, node)| {
                node.inputs
                    .iter()
                    .enumerate()
                    .filter(move |(_, i)| **i == Some(value))
                    .map(move |(p, _)| (n, p))
            })
            .collect();
        if readers.len() != counts.get(value).copied().unwrap_or(0) {
            return Err("its output is read inside a subgraph".into());
        }
        let &[(r, position)] = readers.as_slice() else {
            return Err(format!("its output has {} readers", readers.len()));
        };
        let reader = main.nodes.get(r).ok_or("no such node")?;
        let what = || format!("its output reaches {} ({})", reader.op, reader.name);
        if position != 0 {
            return Err(what());
        }
        if let Some(c) = layers.iter().position(|l| l.node == r) {
            let consumer = layers.get(c).ok_or("no such layer")?;
            if reader.op == OpCode::Conv {
                if int_attr(reader, "group", 1) != 1 {
                    return Err(format!("{}, a grouped convolution", what()));
                }
                if span != 1 || consumer.k % layer.m != 0 {
                    return Err(format!("{}, whose inputs do not match", what()));
                }
                span = consumer.k / layer.m;
            } else if Some(consumer.k) != layer.m.checked_mul(span) {
                return Err(format!(
                    "{}, whose {} inputs are not {} channels × {span}",
                    what(),
                    consumer.k,
                    layer.m
                ));
            }
            return Ok(Chain {
                consumer: c,
                span,
                reshapes,
            });
        }
        let single_output = reader.outputs.len() == 1
            || reader
                .outputs
                .iter()
                .skip(1)
                .all(|&o| counts.get(o) == Some(&0));
        let side_inputs_constant = reader
            .inputs
            .iter()
            .skip(1)
            .flatten()
            .all(|&i| graph.constant(i).is_some());
        let &out = reader.outputs.first().ok_or("no output")?;
        match reader.op {
            op if per_channel(op, span != 1) && single_output && side_inputs_constant => {}
            OpCode::Flatten | OpCode::Reshape if span == 1 => {
                let dims =
                    fixed_dims(graph, value).ok_or_else(|| format!("{}: shape unknown", what()))?;
                let out_dims =
                    fixed_dims(graph, out).ok_or_else(|| format!("{}: shape unknown", what()))?;
                let pixels: usize = dims.get(2..).unwrap_or(&[]).iter().product();
                if dims.get(1) != Some(&layer.m)
                    || out_dims.len() != 2
                    || out_dims.get(1).copied() != layer.m.checked_mul(pixels)
                    || pixels == 0
                {
                    return Err(format!(
                        "{}, which does not flatten [N, C, ...] to [N, C·...]",
                        what()
                    ));
                }
                if reader.op == OpCode::Flatten && int_attr(reader, "axis", 1) != 1 {
                    return Err(format!("{} with axis ≠ 1", what()));
                }
                if reader.op == OpCode::Reshape {
                    reshapes.push((r, 1));
                }
                span = pixels;
            }
            _ => return Err(what()),
        }
        value = out;
    }
}

/// The L1 norm of each output's weights divided by its input count (so
/// layers of different widths compare under one threshold).
fn channel_scores(graph: &Graph, layer: &Prunable) -> Result<Vec<f32>, ConvertError> {
    let w = graph
        .constant(layer.weight)
        .and_then(|t| t.as_slice::<f32>().ok())
        .ok_or_else(|| error(format!("{}: weights are not f32", layer.name)))?;
    Ok((0..layer.m)
        .map(|o| {
            let sum: f64 = (0..layer.k)
                .map(|i| w.get(layer.index(o, i)).map_or(0.0, |v| f64::from(v.abs())))
                .sum();
            (sum / layer.k as f64) as f32
        })
        .collect())
}

/// Keeps the indices `keep` of `axis` of an f32 tensor.
fn keep_along(tensor: &Tensor, axis: usize, keep: &[usize]) -> Result<Tensor, ConvertError> {
    let shape = tensor.shape();
    let values = tensor.as_slice::<f32>().map_err(|e| error(e.to_string()))?;
    let len = *shape
        .get(axis)
        .ok_or_else(|| error("axis outside the weights"))?;
    let outer: usize = shape.get(..axis).unwrap_or(&[]).iter().product();
    let inner: usize = shape.get(axis + 1..).unwrap_or(&[]).iter().product();
    let mut out = Vec::with_capacity(outer * keep.len() * inner);
    for o in 0..outer {
        for &k in keep {
            if k >= len {
                return Err(error("channel index outside the weights"));
            }
            let start = (o * len + k) * inner;
            out.extend_from_slice(values.get(start..start + inner).unwrap_or(&[]));
        }
    }
    let mut new_shape = shape.to_vec();
    if let Some(d) = new_shape.get_mut(axis) {
        *d = keep.len();
    }
    Tensor::from_slice(&new_shape, &out).map_err(|e| error(e.to_string()))
}

/// Replaces constant input `position` of main-body node `node` by `f` of it
/// (a new value, so a constant read elsewhere stays as it was).
fn rewrite_input(
    graph: &mut Graph,
    node: usize,
    position: usize,
    f: impl FnOnce(&Tensor) -> Result<Tensor, ConvertError>,
) -> Result<(), ConvertError> {
    let Some(id) = graph
        .bodies
        .first()
        .and_then(|b| b.nodes.get(node))
        .and_then(|n| n.inputs.get(position).copied().flatten())
    else {
        return Ok(());
    };
    let Some(old) = graph.constant(id) else {
        return Ok(());
    };
    let new = f(old)?;
    let hint = graph.name(id).to_string();
    let new_id = graph.add_constant(&hint, new);
    if let Some(slot) = graph
        .bodies
        .first_mut()
        .and_then(|b| b.nodes.get_mut(node))
        .and_then(|n| n.inputs.get_mut(position))
    {
        *slot = Some(new_id);
    }
    Ok(())
}

/// Removes output channels; one report line per layer.
pub(super) fn apply(
    graph: &mut Graph,
    layers: &[Prunable],
    pruning: &Pruning,
) -> Result<Vec<PruneLayerReport>, ConvertError> {
    let before: Vec<PrunableReportParts> = layers
        .iter()
        .map(|l| PrunableReportParts::measure(graph, l))
        .collect();
    let chains: Vec<Result<Chain, String>> =
        (0..layers.len()).map(|i| chain(graph, layers, i)).collect();
    let mut scores: Vec<Vec<f32>> = Vec::with_capacity(layers.len());
    for (layer, chain) in layers.iter().zip(&chains) {
        scores.push(match chain {
            Ok(_) => channel_scores(graph, layer)?,
            Err(_) => Vec::new(),
        });
    }
    let remove = choose(&scores, pruning);
    for ((i, layer), chain) in layers.iter().enumerate().zip(&chains) {
        let (Ok(chain), Some(flags)) = (chain, remove.get(i)) else {
            continue;
        };
        let keep: Vec<usize> = flags
            .iter()
            .enumerate()
            .filter(|(_, r)| !**r)
            .map(|(c, _)| c)
            .collect();
        if keep.len() == layer.m {
            continue;
        }
        let out_axis = if layer.layout == Layout::OutByIn {
            0
        } else {
            1
        };
        rewrite_input(graph, layer.node, 1, |w| keep_along(w, out_axis, &keep))?;
        rewrite_input(graph, layer.node, 2, |b| {
            if b.shape().iter().product::<usize>() == 1 {
                return Ok(b.clone());
            }
            let axis = b.shape().len().saturating_sub(1);
            keep_along(b, axis, &keep)
        })?;
        let consumer = layers
            .get(chain.consumer)
            .ok_or_else(|| error("no consumer"))?;
        let in_axis = if consumer.layout == Layout::OutByIn {
            1
        } else {
            0
        };
        let expanded: Vec<usize> = if consumer.op == OpCode::Conv {
            keep.clone()
        } else {
            keep.iter()
                .flat_map(|&c| c * chain.span..(c + 1) * chain.span)
                .collect()
        };
        rewrite_input(graph, consumer.node, 1, |w| {
            keep_along(w, in_axis, &expanded)
        })?;
        for &(node, at) in &chain.reshapes {
            let size = i64::try_from(expanded.len()).map_err(|_| error("size overflow"))?;
            rewrite_input(graph, node, 1, |shape| {
                let mut dims = shape
                    .as_slice::<i64>()
                    .map_err(|e| error(e.to_string()))?
                    .to_vec();
                if let Some(d) = dims.get_mut(at).filter(|d| **d > 0) {
                    *d = size;
                }
                Tensor::from_slice(shape.shape(), &dims).map_err(|e| error(e.to_string()))
            })?;
        }
    }
    let mut reports = Vec::with_capacity(layers.len());
    for (i, ((layer, parts), chain)) in layers.iter().zip(before).zip(&chains).enumerate() {
        let node = graph.bodies.first().and_then(|b| b.nodes.get(layer.node));
        let weight = node.and_then(|n| n.inputs.get(1).copied().flatten());
        let params = weight
            .and_then(|w| graph.constant(w))
            .map_or(0, |t| t.shape().iter().product::<usize>() as u64);
        let mut report = parts.report(graph, layer);
        report.params_after = params;
        report.bytes_after = node.map_or(0, |n| super::constant_bytes(graph, n));
        report.flops_after = layer.flops(params);
        report.sparsity = 1.0 - params as f64 / report.params_before.max(1) as f64;
        report.storage = "dense".into();
        let removed = remove
            .get(i)
            .map_or(0, |r| r.iter().filter(|&&x| x).count());
        report.reason = match chain {
            Ok(c) => format!(
                "{removed} of {} output channels removed (and the inputs of {})",
                layer.m,
                layers.get(c.consumer).map_or("?", |l| l.name.as_str())
            ),
            Err(why) => format!("outputs kept: {why}"),
        };
        reports.push(report);
    }
    Ok(reports)
}

/// Channels to remove per layer (empty score lists: layers that keep
/// theirs). Every layer keeps at least one channel.
fn choose(scores: &[Vec<f32>], pruning: &Pruning) -> Vec<Vec<bool>> {
    let count = |n: usize| ((n as f64) * f64::from(pruning.sparsity)).round() as usize;
    let mut remove: Vec<Vec<bool>> = scores.iter().map(|s| vec![false; s.len()]).collect();
    let mut order: Vec<(f32, usize, usize)> = Vec::new();
    for (l, s) in scores.iter().enumerate() {
        let mut layer: Vec<(f32, usize, usize)> =
            s.iter().enumerate().map(|(c, &v)| (v, l, c)).collect();
        layer.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
        // The strongest channel never goes.
        layer.pop();
        if pruning.per_layer {
            let n = count(s.len()).min(layer.len());
            for &(_, l, c) in layer.iter().take(n) {
                if let Some(f) = remove.get_mut(l).and_then(|r| r.get_mut(c)) {
                    *f = true;
                }
            }
        } else {
            order.extend(layer);
        }
    }
    if !pruning.per_layer {
        let total: usize = scores.iter().map(Vec::len).sum();
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        for &(_, l, c) in order.iter().take(count(total)) {
            if let Some(f) = remove.get_mut(l).and_then(|r| r.get_mut(c)) {
                *f = true;
            }
        }
    }
    remove
}
