//! The sparse lowering (after quantization): each pruned layer whose
//! weights are constant and whose kernel runs faster sparse at their
//! density ([`super::cost`]) becomes the sparse operator of
//! `docs/ops/sparse.md`:
//!
//! * f32 `Gemm` (`transA = 0`) and `MatMul` with constant 2-D weights →
//!   `SparseLinear`;
//! * f32 1×1 `Conv` (stride 1, no padding, one group, no fused residual) →
//!   `SparseConv`;
//! * static-int8 `QLinearConv` with a 1×1 (or the 1-D `Gemm` form's) kernel,
//!   stride 1, no padding, one group → `SparseQLinearConv`.
//!
//! Fused activation attributes are carried over. Every other layer stays
//! dense with its zeros, and its report line says why.

use super::cost::{self, Kernel};
use super::{PruneLayerReport, PrunePattern, Pruning, constant_bytes, error};
use crate::ConvertError;
use crate::graph::{Graph, Node, ValueId};
use pocketnn_format::{AttrValue, Attribute, OpCode};
use pocketnn_ops::fused::{ACTIVATION, ACTIVATION_ALPHA, ACTIVATION_BETA};
use pocketnn_tensor::Tensor;
use pocketnn_tensor::kernels::sparse::{BlockShape, SparseElement, SparseMatrix};

/// Widest `K` whose columns are stored as u16.
const U16_COLUMNS_MAX: usize = 1 << 16;

/// A layer's weights read as the `M × K` matrix of the sparse kernels.
struct Matrix<T> {
    rows: usize,
    cols: usize,
    values: Vec<T>,
}

/// What a node can be lowered to, or why not.
enum Plan {
    /// f32 `SparseLinear` / `SparseConv`: the weights (alpha applied), the
    /// bias (beta applied) and the node's data input.
    Float {
        op: OpCode,
        kernel: Kernel,
        weights: Matrix<f32>,
        bias: Option<Vec<f32>>,
    },
    /// `SparseQLinearConv` from a `QLinearConv`.
    Int8 { kernel: Kernel, weights: Matrix<i8> },
}

/// Rewrites the pruned layers of `reports` that run faster sparse; updates
/// every report line with the final bytes, FLOPs and decision.
pub(crate) fn lower(
    graph: &mut Graph,
    pruning: &Pruning,
    reports: &mut [PruneLayerReport],
) -> Result<(), ConvertError> {
    for report in reports.iter_mut().filter(|r| r.storage != "skipped") {
        let Some(index) = find_node(graph, &report.name) else {
            continue;
        };
        let Some(node) = graph
            .bodies
            .first()
            .and_then(|b| b.nodes.get(index))
            .cloned()
        else {
            continue;
        };
        report.bytes_after = constant_bytes(graph, &node);
        if pruning.pattern == PrunePattern::Channel || report.params_after == report.params_before {
            continue;
        }
        if pruning.keep_dense {
            report.reason = "dense with zeros: --prune-keep-dense".into();
            continue;
        }
        let plan = match plan(graph, &node) {
            Ok(plan) => plan,
            Err(why) => {
                report.reason = format!("dense with zeros: {why}");
                continue;
            }
        };
        let (kernel, rows, cols) = match &plan {
            Plan::Float {
                kernel, weights, ..
            } => (*kernel, weights.rows, weights.cols),
            Plan::Int8 { kernel, weights } => (*kernel, weights.rows, weights.cols),
        };
        let chosen = match &plan {
            Plan::Float { weights, .. } => choose(kernel, weights),
            Plan::Int8 { weights, .. } => choose(kernel, weights),
        };
        let (shape, density, ratio) = match chosen {
            Ok(c) => c,
            Err(why) => {
                report.reason = format!("dense with zeros: {why}");
                continue;
            }
        };
        let new_node = match plan {
            Plan::Float {
                op, weights, bias, ..
            } => {
                let m = SparseMatrix::from_dense(&weights.values, rows, cols, shape)
                    .map_err(|e| error(format!("{}: {e}", node.name)))?;
                float_node(graph, &node, op, &m, bias)?
            }
            Plan::Int8 { weights, .. } => {
                let m = SparseMatrix::from_dense(&weights.values, rows, cols, shape)
                    .map_err(|e| error(format!("{}: {e}", node.name)))?;
                int8_node(graph, &node, &m)?
            }
        };
        let stored = (density * (rows * cols) as f64).round() as u64;
        report.flops_after = stored
            .saturating_mul(2)
            .saturating_mul(report.flops_before / (2 * report.params_before).max(1));
        report.bytes_after = constant_bytes(graph, &new_node);
        report.storage = format!("sparse {}", shape.name());
        report.reason = format!(
            "{} at {:.1}% stored density: predicted {:.2}x the dense time ({})",
            new_node.op,
            density * 100.0,
            ratio,
            kernel.bench()
        );
        if let Some(slot) = graph
            .bodies
            .first_mut()
            .and_then(|b| b.nodes.get_mut(index))
        {
            *slot = new_node;
        }
    }
    Ok(())
}

/// The main-body node a report line is about: same name, or the
/// `QLinearConv` static int8 made of it.
fn find_node(graph: &Graph, name: &str) -> Option<usize> {
    let nodes = &graph.bodies.first()?.nodes;
    nodes.iter().position(|n| n.name == name).or_else(|| {
        let quantized = format!("{name}_QLinearConv");
        nodes.iter().position(|n| n.name == quantized)
    })
}

/// Predicted times within this factor of the fastest count as equal; the
/// form with fewer stored bytes wins among them.
const SAME_TIME: f64 = 1.1;

/// The block shape with the lowest predicted time (the smallest of those
/// about as fast), with its stored density and predicted time ratio; `Err`
/// when dense is as fast.
fn choose<T: SparseElement>(
    kernel: Kernel,
    w: &Matrix<T>,
) -> Result<(BlockShape, f64, f64), String> {
    let total = (w.rows * w.cols).max(1) as f64;
    let mut candidates: Vec<(BlockShape, f64, f64, usize)> = Vec::new();
    let mut densest = 0.0f64;
    for shape in BlockShape::ALL {
        if shape == BlockShape::Row1x4 && !w.cols.is_multiple_of(4) {
            continue;
        }
        let Ok(m) = SparseMatrix::from_dense(&w.values, w.rows, w.cols, shape) else {
            continue;
        };
        let density = (m.block_count() * shape.block_len()) as f64 / total;
        densest = densest.max(density);
        if let Some(ratio) = cost::predicted_ratio(kernel, shape, density) {
            candidates.push((shape, density, ratio, m.stored_bytes()));
        }
    }
    let fastest = candidates.iter().map(|c| c.2).fold(f64::INFINITY, f64::min);
    let best = candidates
        .iter()
        .filter(|c| c.2 <= fastest * SAME_TIME)
        .min_by_key(|c| c.3)
        .map(|c| (c.0, c.1, c.2));
    match best {
        Some(b) if b.2 < cost::SPARSE_MAX_RATIO => Ok(b),
        Some((shape, density, ratio)) => Err(format!(
            "best sparse form {} at {:.1}% stored density is predicted at {ratio:.2}x the dense time (sparse needs < {:.2}x; {})",
            shape.name(),
            density * 100.0,
            cost::SPARSE_MAX_RATIO,
            kernel.bench()
        )),
        None => Err(format!(
            "{:.1}% dense: above every measured sparse density ({})",
            densest * 100.0,
            kernel.bench()
        )),
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

/// True when the convolution attributes are those of a plain 1×1 (or
/// 1-wide 1-D) pointwise convolution.
fn pointwise_attributes(node: &Node) -> Result<(), String> {
    if int_attr(node, "group", 1) != 1 {
        return Err("grouped convolution".into());
    }
    let all = |name: &str, want: i64| match node.attribute(name) {
        None => true,
        Some(AttrValue::Ints(v)) => v.iter().all(|&x| x == want),
        Some(_) => false,
    };
    if !all("strides", 1) || !all("pads", 0) {
        return Err("strided or padded convolution".into());
    }
    match node.attribute("auto_pad") {
        None => Ok(()),
        Some(AttrValue::String(s)) if s == "NOTSET" || s == "VALID" => Ok(()),
        Some(_) => Err("auto_pad".into()),
    }
}

fn constant<'g>(graph: &'g Graph, node: &Node, index: usize) -> Option<&'g Tensor> {
    node.inputs
        .get(index)
        .copied()
        .flatten()
        .and_then(|id| graph.constant(id))
}

fn plan(graph: &Graph, node: &Node) -> Result<Plan, String> {
    match node.op {
        OpCode::Gemm | OpCode::MatMul => plan_linear(graph, node),
        OpCode::Conv => {
            let w = constant(graph, node, 1).ok_or("weights are not constant")?;
            let shape = w.shape();
            let w = w
                .as_slice::<f32>()
                .map_err(|_| "weights are not f32 (no sparse operator for them)")?;
            if node.inputs.len() > 3 {
                return Err("a residual Add is fused into it".into());
            }
            let &[m, k, 1, 1] = shape else {
                let kernel: Vec<String> = shape.iter().skip(2).map(usize::to_string).collect();
                return Err(format!(
                    "{} kernel: only 1×1 convolutions have a sparse kernel",
                    kernel.join("×")
                ));
            };
            pointwise_attributes(node)?;
            let bias = match constant(graph, node, 2) {
                Some(b) => Some(per_channel(b, m, 1.0)?),
                None if node.inputs.get(2).copied().flatten().is_some() => {
                    return Err("bias is not constant".into());
                }
                None => None,
            };
            Ok(Plan::Float {
                op: OpCode::SparseConv,
                kernel: Kernel::F32Pointwise,
                weights: Matrix {
                    rows: m,
                    cols: k,
                    values: w.to_vec(),
                },
                bias,
            })
        }
        OpCode::QLinearConv => {
            let w = constant(graph, node, 3).ok_or("weights are not constant")?;
            let shape = w.shape().to_vec();
            let values = w
                .as_slice::<i8>()
                .map_err(|_| "weights are not i8")?
                .to_vec();
            let zero = constant(graph, node, 5).ok_or("weight zero point is not constant")?;
            if zero.bytes().iter().any(|&b| b != 0) {
                return Err("weight zero point is not 0".into());
            }
            pointwise_attributes(node)?;
            let (m, k, kernel) = match shape.as_slice() {
                &[m, k, 1] => (m, k, Kernel::I8Linear),
                &[m, k, 1, 1] => (m, k, Kernel::I8Pointwise),
                other => {
                    return Err(format!(
                        "{:?} kernel: only 1×1 convolutions have a sparse kernel",
                        other.get(2..).unwrap_or(&[])
                    ));
                }
            };
            Ok(Plan::Int8 {
                kernel,
                weights: Matrix {
                    rows: m,
                    cols: k,
                    values,
                },
            })
        }
        OpCode::DynamicQuantMatMul => Err("int8-dynamic has no sparse operator".into()),
        op => Err(format!("{op} has no sparse operator")),
    }
}

/// A bias broadcast to `m` values, times `scale`.
fn per_channel(b: &Tensor, m: usize, scale: f32) -> Result<Vec<f32>, String> {
    let v = b.as_slice::<f32>().map_err(|_| "bias is not f32")?;
    let leading_ones = b.shape().iter().rev().skip(1).all(|&d| d == 1);
    match v {
        [one] if leading_ones => Ok(vec![one * scale; m]),
        all if leading_ones && all.len() == m => Ok(all.iter().map(|x| x * scale).collect()),
        _ => Err(format!(
            "bias of shape {:?} is not one value per output",
            b.shape()
        )),
    }
}

fn plan_linear(graph: &Graph, node: &Node) -> Result<Plan, String> {
    let w = constant(graph, node, 1).ok_or("weights are not constant")?;
    let &[rows, cols] = w.shape() else {
        return Err("weights are not 2-D".into());
    };
    let values = w
        .as_slice::<f32>()
        .map_err(|_| "weights are not f32 (no sparse operator for them)")?;
    let (transposed, alpha, beta) = if node.op == OpCode::Gemm {
        if int_attr(node, "transA", 0) != 0 {
            return Err("transA = 1".into());
        }
        (
            int_attr(node, "transB", 0) != 0,
            float_attr(node, "alpha", 1.0),
            float_attr(node, "beta", 1.0),
        )
    } else {
        if node.inputs.len() != 2 {
            return Err("MatMul with extra inputs".into());
        }
        (false, 1.0, 1.0)
    };
    // W as M × K (out × in).
    let (m, k) = if transposed {
        (rows, cols)
    } else {
        (cols, rows)
    };
    let mut out = vec![0.0f32; m * k];
    for (at, &v) in values.iter().enumerate() {
        let (r, c) = (at / cols, at % cols);
        let (o, i) = if transposed { (r, c) } else { (c, r) };
        if let Some(slot) = out.get_mut(o * k + i) {
            *slot = v * alpha;
        }
    }
    let bias = match node.inputs.get(2).copied().flatten() {
        Some(id) => Some(per_channel(
            graph.constant(id).ok_or("bias is not constant")?,
            m,
            beta,
        )?),
        None => None,
    };
    Ok(Plan::Float {
        op: OpCode::SparseLinear,
        kernel: Kernel::f32_linear(m, k),
        weights: Matrix {
            rows: m,
            cols: k,
            values: out,
        },
        bias,
    })
}

/// The `values`, `block_ptr`, `columns` constants of a sparse matrix.
fn parts<T: SparseElement + pocketnn_tensor::Element>(
    graph: &mut Graph,
    hint: &str,
    m: &SparseMatrix<T>,
) -> Result<[ValueId; 3], ConvertError> {
    let tensor = |r: Result<Tensor, pocketnn_tensor::TensorError>| {
        r.map_err(|e| error(format!("{hint}: {e}")))
    };
    let values = tensor(Tensor::from_slice(&[m.values().len()], m.values()))?;
    let ptr: Vec<i32> = m
        .block_ptr()
        .iter()
        .map(|&p| i32::try_from(p).map_err(|_| error(format!("{hint}: more than 2^31 blocks"))))
        .collect::<Result<_, _>>()?;
    let block_ptr = tensor(Tensor::from_slice(&[ptr.len()], &ptr))?;
    let columns = if m.cols() <= U16_COLUMNS_MAX {
        let bytes: Vec<u8> = m
            .columns()
            .iter()
            .flat_map(|&c| (c as u16).to_le_bytes())
            .collect();
        tensor(Tensor::from_slice(&[bytes.len()], &bytes))?
    } else {
        let wide: Vec<i32> = m
            .columns()
            .iter()
            .map(|&c| i32::try_from(c).map_err(|_| error(format!("{hint}: column {c} beyond i32"))))
            .collect::<Result<_, _>>()?;
        tensor(Tensor::from_slice(&[wide.len()], &wide))?
    };
    Ok([
        graph.add_constant(&format!("{hint}_values"), values),
        graph.add_constant(&format!("{hint}_block_ptr"), block_ptr),
        graph.add_constant(&format!("{hint}_columns"), columns),
    ])
}

fn sparse_attributes(m_rows: usize, m_cols: usize, shape: BlockShape) -> Vec<Attribute> {
    vec![
        Attribute {
            name: "rows".into(),
            value: AttrValue::Int(m_rows as i64),
        },
        Attribute {
            name: "cols".into(),
            value: AttrValue::Int(m_cols as i64),
        },
        Attribute {
            name: "block".into(),
            value: AttrValue::String(shape.name().into()),
        },
    ]
}

fn float_node(
    graph: &mut Graph,
    node: &Node,
    op: OpCode,
    m: &SparseMatrix<f32>,
    bias: Option<Vec<f32>>,
) -> Result<Node, ConvertError> {
    let [values, block_ptr, columns] = parts(graph, &node.name, m)?;
    let bias = match bias {
        Some(b) => {
            let t = Tensor::from_slice(&[b.len()], &b)
                .map_err(|e| error(format!("{}: {e}", node.name)))?;
            Some(graph.add_constant(&format!("{}_bias", node.name), t))
        }
        None => None,
    };
    let mut attributes = sparse_attributes(m.rows(), m.cols(), m.shape());
    attributes.extend(
        node.attributes
            .iter()
            .filter(|a| [ACTIVATION, ACTIVATION_ALPHA, ACTIVATION_BETA].contains(&a.name.as_str()))
            .cloned(),
    );
    let mut inputs = vec![
        node.inputs.first().copied().flatten(),
        Some(values),
        Some(block_ptr),
        Some(columns),
    ];
    if bias.is_some() {
        inputs.push(bias);
    }
    Ok(Node {
        name: node.name.clone(),
        op,
        inputs,
        outputs: node.outputs.clone(),
        attributes,
    })
}

fn int8_node(graph: &mut Graph, node: &Node, m: &SparseMatrix<i8>) -> Result<Node, ConvertError> {
    let input = |i: usize| node.inputs.get(i).copied().flatten();
    let [values, block_ptr, columns] = parts(graph, &node.name, m)?;
    let mut inputs = vec![
        input(0),
        input(1),
        input(2),
        Some(values),
        Some(block_ptr),
        Some(columns),
        input(4),
        input(6),
        input(7),
    ];
    if let Some(bias) = input(8) {
        inputs.push(Some(bias));
    }
    if inputs.iter().take(9).any(Option::is_none) {
        return Err(error(format!("{}: QLinearConv input missing", node.name)));
    }
    let name = node.name.replace("_QLinearConv", "_SparseQLinearConv");
    Ok(Node {
        name: graph.unique_name(&name),
        op: OpCode::SparseQLinearConv,
        inputs,
        outputs: node.outputs.clone(),
        attributes: sparse_attributes(m.rows(), m.cols(), m.shape()),
    })
}
