//! After quantization: each fully connected factor pair that is still f32
//! becomes one `LowRankLinear` node (`docs/ops/sparse.md`), run by the
//! fused kernel. A pair quantization rewrote, or one whose form the
//! operator cannot express (`transA`, `alpha`/`beta` other than 1, a `C`
//! that is not a constant `[M]` / `[1, M]`), stays two nodes — still exact.

use super::rewrite::Pair;
use crate::graph::{Graph, Node};
use pocketnn_format::{AttrValue, DType, OpCode};
use pocketnn_ops::fused::{ACTIVATION, ACTIVATION_ALPHA, ACTIVATION_BETA};
use pocketnn_tensor::Tensor;

/// Fuses every pair it can; returns how many it fused.
pub(crate) fn fuse_pairs(graph: &mut Graph, pairs: &[Pair]) -> usize {
    let mut fused = 0;
    for pair in pairs {
        if fuse_one(graph, pair).is_some() {
            fused += 1;
        }
    }
    fused
}

fn float_attr(node: &Node, name: &str) -> Option<f32> {
    match node.attribute(name) {
        None => Some(1.0),
        Some(AttrValue::Float(v)) => Some(*v),
        Some(_) => None,
    }
}

fn int_attr(node: &Node, name: &str) -> i64 {
    match node.attribute(name) {
        Some(AttrValue::Int(v)) => *v,
        _ => 0,
    }
}

/// The f32 constant input `index` of `node` as (shape, values).
fn f32_constant(graph: &Graph, node: &Node, index: usize) -> Option<(Vec<usize>, Vec<f32>)> {
    let id = node.inputs.get(index).copied().flatten()?;
    let tensor = graph.constant(id)?;
    if tensor.dtype() != DType::F32 {
        return None;
    }
    Some((
        tensor.shape().to_vec(),
        tensor.as_slice::<f32>().ok()?.to_vec(),
    ))
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

fn fuse_one(graph: &mut Graph, pair: &Pair) -> Option<()> {
    let t = pair.intermediate;
    if graph.is_body_output(t) || graph.use_counts().get(t) != Some(&1) {
        return None;
    }
    let (b, p1) = find(graph, |n| n.outputs.contains(&t))?;
    let (b2, p2) = find(graph, |n| n.inputs.contains(&Some(t)))?;
    let body = graph.bodies.get(b)?;
    let (first, second) = (body.nodes.get(p1)?.clone(), body.nodes.get(p2)?.clone());
    if b2 != b || p2 <= p1 || first.op != second.op {
        return None;
    }
    let x = first.inputs.first().copied().flatten()?;
    if graph.value(x)?.dtype != DType::F32 || second.inputs.first() != Some(&Some(t)) {
        return None;
    }
    if first
        .attributes
        .iter()
        .any(|a| a.name.starts_with(ACTIVATION))
    {
        return None;
    }
    let (v_shape, v) = f32_constant(graph, &first, 1)?;
    let (u_shape, u) = f32_constant(graph, &second, 1)?;
    let (v, u, bias) = match first.op {
        OpCode::Gemm => {
            let plain = |n: &Node| int_attr(n, "transA") == 0 && int_attr(n, "transB") == 1;
            let scales = (float_attr(&second, "alpha")?, float_attr(&second, "beta")?);
            if !plain(&first) || !plain(&second) || first.inputs.len() != 2 {
                return None;
            }
            let bias = match second.inputs.get(2).copied().flatten() {
                None => None,
                Some(_) => {
                    let (shape, values) = f32_constant(graph, &second, 2)?;
                    let m = *u_shape.first()?;
                    let fits = shape == [m] || shape == [1, m];
                    if !fits || scales.1 != 1.0 {
                        return None;
                    }
                    Some(values)
                }
            };
            if scales.0 != 1.0 || v_shape.len() != 2 || u_shape.len() != 2 {
                return None;
            }
            let (v, u) = (
                Tensor::from_slice(&v_shape, &v).ok()?,
                Tensor::from_slice(&u_shape, &u).ok()?,
            );
            (v, u, bias)
        }
        OpCode::MatMul => {
            let (&[k, r], &[r2, m]) = (v_shape.as_slice(), u_shape.as_slice()) else {
                return None;
            };
            if r != r2 || second.inputs.len() != 2 {
                return None;
            }
            let v = Tensor::from_slice(&[r, k], &transpose(&v, k, r)).ok()?;
            let u = Tensor::from_slice(&[m, r], &transpose(&u, r, m)).ok()?;
            (v, u, None)
        }
        _ => return None,
    };
    let m = *u.shape().first()?;
    let bias = match bias {
        Some(values) => Some(Tensor::from_slice(&[m], &values).ok()?),
        None => None,
    };
    let v_id = graph.add_constant(&format!("{}_v", pair.name), v);
    let u_id = graph.add_constant(&format!("{}_u", pair.name), u);
    let mut inputs = vec![Some(x), Some(v_id), Some(u_id)];
    if let Some(bias) = bias {
        inputs.push(Some(
            graph.add_constant(&format!("{}_bias", pair.name), bias),
        ));
    }
    let attributes = second
        .attributes
        .iter()
        .filter(|a| [ACTIVATION, ACTIVATION_ALPHA, ACTIVATION_BETA].contains(&a.name.as_str()))
        .cloned()
        .collect();
    let node = Node {
        name: pair.name.clone(),
        op: OpCode::LowRankLinear,
        inputs,
        outputs: second.outputs.clone(),
        attributes,
    };
    let body = graph.bodies.get_mut(b)?;
    body.nodes.remove(p2);
    *body.nodes.get_mut(p1)? = node;
    Some(())
}

/// The body and position of the first node `matches` accepts.
fn find(graph: &Graph, matches: impl Fn(&Node) -> bool) -> Option<(usize, usize)> {
    graph
        .bodies
        .iter()
        .enumerate()
        .find_map(|(b, body)| body.nodes.iter().position(&matches).map(|p| (b, p)))
}
