//! The layers pruning looks at, and how their weights map onto the `M × K`
//! matrix (`M` outputs, `K` inputs) the patterns and the sparse kernels use.

use crate::graph::{Graph, Node, ValueId};
use pocketnn_format::{AttrValue, DType, Dim, OpCode};

/// Where element `(output o, input i)` of the `M × K` matrix lives in the
/// weight tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `o · K + i`: `Conv` (`[M, C/group, kernel..]`, the kernel taps
    /// flattened into `K`) and `Gemm` with `transB = 1`.
    OutByIn,
    /// `i · M + o`: `MatMul` and `Gemm` with `transB = 0` (`[K, M]`).
    InByOut,
}

/// A node whose f32 weights can be pruned.
#[derive(Clone, Debug)]
pub(crate) struct Prunable {
    /// Index of the node in the main body.
    pub node: usize,
    /// The node's name.
    pub name: String,
    /// Its operator.
    pub op: OpCode,
    /// The constant weight value.
    pub weight: ValueId,
    /// Outputs.
    pub m: usize,
    /// Inputs per output.
    pub k: usize,
    /// How `(o, i)` maps into the tensor.
    pub layout: Layout,
    /// Positions each weight is applied at per sample (`Conv`: output
    /// pixels; `MatMul`: the fixed middle dims of its input), for FLOPs.
    pub positions: u64,
}

impl Prunable {
    /// The tensor index of `(o, i)`.
    pub fn index(&self, o: usize, i: usize) -> usize {
        match self.layout {
            Layout::OutByIn => o * self.k + i,
            Layout::InByOut => i * self.m + o,
        }
    }

    /// Multiply-adds × 2 per sample with `nonzero` weights computed.
    pub fn flops(&self, weights: u64) -> u64 {
        weights.saturating_mul(self.positions).saturating_mul(2)
    }
}

/// An integer attribute, or `default`.
pub(crate) fn int_attr(node: &Node, name: &str, default: i64) -> i64 {
    match node.attribute(name) {
        Some(AttrValue::Int(v)) => *v,
        _ => default,
    }
}

/// The product of a value's fixed dims in `range`, or `None` when one is
/// unknown.
pub(crate) fn fixed_product(
    graph: &Graph,
    id: ValueId,
    skip_front: usize,
    skip_back: usize,
) -> Option<u64> {
    let shape = graph.value(id)?.shape.as_ref()?;
    let end = shape.len().checked_sub(skip_back)?;
    shape
        .get(skip_front..end)?
        .iter()
        .try_fold(1u64, |acc, d| match d {
            Dim::Fixed(n) => acc.checked_mul(*n),
            Dim::Symbolic(_) => None,
        })
}

/// Reads node `index` of the main body: `Ok(None)` for nodes without
/// weights, `Err(reason)` for a weighted node pruning leaves alone.
pub(crate) fn prunable(
    graph: &Graph,
    index: usize,
    node: &Node,
) -> Result<Option<Prunable>, String> {
    if !matches!(node.op, OpCode::Conv | OpCode::Gemm | OpCode::MatMul) {
        return Ok(None);
    }
    let Some(weight) = node.inputs.get(1).copied().flatten() else {
        return Ok(None);
    };
    let Some(tensor) = graph.constant(weight) else {
        return Ok(None);
    };
    if tensor.dtype() != DType::F32 {
        return Err(format!("weights are {}, not f32", tensor.dtype()));
    }
    if graph.use_counts().get(weight).copied().unwrap_or(0) != 1 {
        return Err("its weights are shared with another node".into());
    }
    let shape = tensor.shape();
    let output = node.outputs.first().copied();
    let (m, k, layout, positions) = match node.op {
        OpCode::Conv => {
            let (&m, rest) = shape.split_first().ok_or("scalar weights")?;
            let k: usize = rest.iter().product();
            // Output pixels per sample: the output's dims after [N, M].
            let positions = output
                .and_then(|y| fixed_product(graph, y, 2, 0))
                .unwrap_or(1);
            (m, k, Layout::OutByIn, positions)
        }
        OpCode::Gemm => {
            if int_attr(node, "transA", 0) != 0 {
                return Err("transA = 1".into());
            }
            let &[rows, cols] = shape else {
                return Err("weights are not 2-D".into());
            };
            if int_attr(node, "transB", 0) != 0 {
                (rows, cols, Layout::OutByIn, 1)
            } else {
                (cols, rows, Layout::InByOut, 1)
            }
        }
        _ => {
            let &[rows, cols] = shape else {
                return Err("weights are not 2-D".into());
            };
            let x = node.inputs.first().copied().flatten();
            let positions = x.and_then(|x| fixed_product(graph, x, 1, 1)).unwrap_or(1);
            (cols, rows, Layout::InByOut, positions)
        }
    };
    if m == 0 || k == 0 {
        return Err("empty weights".into());
    }
    Ok(Some(Prunable {
        node: index,
        name: node.name.clone(),
        op: node.op,
        weight,
        m,
        k,
        layout,
        positions,
    }))
}
