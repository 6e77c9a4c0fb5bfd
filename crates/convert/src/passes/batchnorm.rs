//! Folds an inference `BatchNormalization` into the `Conv` or `Gemm` that
//! feeds it, when that node's output has no other reader:
//!
//! `BN(y) = s * (y - mean) + bias` with `s = scale / sqrt(var + epsilon)`
//! per channel, so `BN(Conv(x, W, B)) = Conv(x, W * s, (B - mean) * s + bias)`
//! (W scaled along its output-channel axis 0), and for
//! `Gemm = alpha * A * op(B) + beta * C` the columns of `op(B)` are scaled by
//! `s` and the bias becomes `s * (beta * C - mean) + bias` with `beta = 1`.

use super::PassLog;
use crate::graph::{Graph, ValueId};
use pocketnn_format::{AttrValue, OpCode};
use pocketnn_tensor::Tensor;

/// Per-channel `(s, shift)` with `BN(y) = s * y + shift`.
struct Affine {
    scale: Vec<f64>,
    shift: Vec<f64>,
}

fn f32_data(graph: &Graph, id: Option<ValueId>) -> Option<(&[usize], &[f32])> {
    let t = graph.constant(id?)?;
    Some((t.shape(), t.as_slice::<f32>().ok()?))
}

/// The BN node's per-channel affine map, when all its parameters are f32
/// constants of one length.
fn affine(graph: &Graph, inputs: &[Option<ValueId>], epsilon: f32) -> Option<Affine> {
    let param = |i: usize| f32_data(graph, inputs.get(i).copied().flatten()).map(|(_, d)| d);
    let (scale, bias, mean, var) = (param(1)?, param(2)?, param(3)?, param(4)?);
    let c = scale.len();
    if bias.len() != c || mean.len() != c || var.len() != c {
        return None;
    }
    let s: Vec<f64> = scale
        .iter()
        .zip(var)
        .map(|(&g, &v)| f64::from(g) / (f64::from(v) + f64::from(epsilon)).sqrt())
        .collect();
    let shift = s
        .iter()
        .zip(bias.iter().zip(mean))
        .map(|(&s, (&b, &m))| f64::from(b) - s * f64::from(m))
        .collect();
    Some(Affine { scale: s, shift })
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// New `(W, B)` for a Conv followed by the BN, or `None` to give up.
fn fold_conv(graph: &Graph, inputs: &[Option<ValueId>], bn: &Affine) -> Option<(Tensor, Tensor)> {
    let (w_shape, w) = f32_data(graph, inputs.get(1).copied().flatten())?;
    let c = bn.scale.len();
    if w_shape.len() < 3 || w_shape.first() != Some(&c) || c == 0 {
        return None;
    }
    let bias: Vec<f32> = match inputs.get(2).copied().flatten() {
        None => vec![0.0; c],
        Some(id) => {
            let (_, b) = f32_data(graph, Some(id))?;
            if b.len() != c {
                return None;
            }
            b.to_vec()
        }
    };
    let per_channel = w.len() / c;
    let new_w: Vec<f32> = w
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            (f64::from(x) * bn.scale.get(i / per_channel).copied().unwrap_or(1.0)) as f32
        })
        .collect();
    let new_b: Vec<f64> = bias
        .iter()
        .zip(bn.scale.iter().zip(&bn.shift))
        .map(|(&b, (&s, &t))| s * f64::from(b) + t)
        .collect();
    Some((
        Tensor::from_slice(w_shape, &new_w).ok()?,
        Tensor::from_slice(&[c], &to_f32(&new_b)).ok()?,
    ))
}

/// New `(B, C)` for a Gemm followed by the BN (with `beta` becoming 1), or
/// `None` to give up.
fn fold_gemm(graph: &Graph, node: &crate::graph::Node, bn: &Affine) -> Option<(Tensor, Tensor)> {
    let int = |name: &str, default: i64| match node.attribute(name) {
        Some(AttrValue::Int(v)) => Some(*v),
        None => Some(default),
        Some(_) => None,
    };
    let beta = match node.attribute("beta") {
        Some(AttrValue::Float(v)) => f64::from(*v),
        None => 1.0,
        Some(_) => return None,
    };
    let trans_b = int("transB", 0)? != 0;
    let (b_shape, b) = f32_data(graph, node.inputs.get(1).copied().flatten())?;
    let &[rows, cols] = b_shape else {
        return None;
    };
    let n = bn.scale.len();
    if (if trans_b { rows } else { cols }) != n {
        return None;
    }
    // op(B) is [K, N]: with transB, B is [N, K] and row j is output j.
    let new_b: Vec<f32> = b
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let j = if trans_b { i / cols } else { i % cols };
            (f64::from(x) * bn.scale.get(j).copied().unwrap_or(1.0)) as f32
        })
        .collect();
    let c: Vec<f64> = match node.inputs.get(2).copied().flatten() {
        None => vec![0.0; n],
        Some(id) => {
            let (c_shape, c) = f32_data(graph, Some(id))?;
            let broadcast_row = matches!(c_shape, [] | [1] | [1, 1]);
            let per_column = matches!(c_shape, [m] | [1, m] if *m == n);
            if broadcast_row {
                vec![f64::from(*c.first()?); n]
            } else if per_column {
                c.iter().map(|&x| f64::from(x)).collect()
            } else {
                return None;
            }
        }
    };
    let new_c: Vec<f64> = c
        .iter()
        .zip(bn.scale.iter().zip(&bn.shift))
        .map(|(&c, (&s, &t))| s * beta * c + t)
        .collect();
    Some((
        Tensor::from_slice(b_shape, &new_b).ok()?,
        Tensor::from_slice(&[n], &to_f32(&new_c)).ok()?,
    ))
}

/// Folds every eligible BN; returns how many.
pub(crate) fn fold_batch_norms(graph: &mut Graph, log: &mut PassLog) -> usize {
    let mut folded = 0;
    for b in 0..graph.bodies.len() {
        let mut n = 0;
        while n < graph.bodies.get(b).map_or(0, |body| body.nodes.len()) {
            if try_fold(graph, b, n) {
                folded += 1;
            } else {
                n += 1;
            }
        }
    }
    log.batch_norms_folded += folded;
    folded
}

/// Folds node `n` of body `b` if it is a BN after a Conv/Gemm; true when done
/// (the BN node is then removed).
fn try_fold(graph: &mut Graph, b: usize, n: usize) -> bool {
    let Some(body) = graph.bodies.get(b) else {
        return false;
    };
    let Some(bn) = body
        .nodes
        .get(n)
        .filter(|x| x.op == OpCode::BatchNormalization)
    else {
        return false;
    };
    let Some(&Some(y)) = bn.inputs.first() else {
        return false;
    };
    let Some(&bn_out) = bn.outputs.first() else {
        return false;
    };
    let epsilon = match bn.attribute("epsilon") {
        Some(AttrValue::Float(e)) => *e,
        None => 1e-5,
        Some(_) => return false,
    };
    let Some(p) = body
        .nodes
        .iter()
        .position(|x| x.outputs.first() == Some(&y))
    else {
        return false;
    };
    let Some(producer) = body.nodes.get(p) else {
        return false;
    };
    if graph.use_counts().get(y) != Some(&1)
        || graph.is_body_output(y)
        || producer.outputs.len() != 1
    {
        return false;
    }
    let Some(affine) = affine(graph, &bn.inputs, epsilon) else {
        return false;
    };
    let (weight, bias) = match producer.op {
        OpCode::Conv => match fold_conv(graph, &producer.inputs, &affine) {
            Some(r) => r,
            None => return false,
        },
        OpCode::Gemm => match fold_gemm(graph, producer, &affine) {
            Some(r) => r,
            None => return false,
        },
        _ => return false,
    };
    let producer_name = producer.name.clone();
    let w_id = graph.add_constant(&format!("{producer_name}_weight_bnfold"), weight);
    let b_id = graph.add_constant(&format!("{producer_name}_bias_bnfold"), bias);
    let Some(body) = graph.bodies.get_mut(b) else {
        return false;
    };
    if let Some(producer) = body.nodes.get_mut(p) {
        producer.inputs.resize(3, None);
        if let Some(slot) = producer.inputs.get_mut(1) {
            *slot = Some(w_id);
        }
        if let Some(slot) = producer.inputs.get_mut(2) {
            *slot = Some(b_id);
        }
        if producer.op == OpCode::Gemm {
            producer.set_attribute("beta", AttrValue::Float(1.0));
        }
        producer.outputs = vec![bn_out];
    }
    body.nodes.remove(n);
    true
}

#[cfg(test)]
mod tests;
