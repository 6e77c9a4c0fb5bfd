//! The executable form of a model's graph, built once at load: operators
//! constructed from their attributes, value kinds resolved, `If` bodies linked.

use crate::error::{Error, Result};
use pocketnn_format::{AttrValue, BodyId, DType, ModelDef, NodeDef, OpCode, TensorId, ValueId};
use pocketnn_ops::Operator;
use std::ops::Range;

/// Where a value's data comes from.
#[derive(Clone, Debug)]
pub(crate) enum ValueKind {
    /// Graph input number `index`, fed by the caller.
    Input(usize),
    /// A constant stored in the model; `bytes` is its range in the file.
    Constant {
        /// Byte range in the model storage.
        bytes: Range<usize>,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// Produced by a node at run time.
    Computed,
}

/// What a node does.
#[derive(Debug)]
pub(crate) enum NodeAction {
    /// Apply an operator.
    Op(Box<dyn Operator>),
    /// Run one of two bodies depending on a boolean scalar (input 0).
    If {
        /// Body run when the condition is true.
        then_body: BodyId,
        /// Body run when it is false.
        else_body: BodyId,
    },
}

/// One node, ready to execute.
#[derive(Debug)]
pub(crate) struct Node {
    /// Name for error messages (`#index` when the file gives none).
    pub label: String,
    /// The operator kind.
    pub op: OpCode,
    /// What it does.
    pub action: NodeAction,
    /// Input values (`None` = omitted optional input).
    pub inputs: Vec<Option<ValueId>>,
    /// Output values.
    pub outputs: Vec<ValueId>,
}

impl Node {
    /// Wraps an operator error with this node's name and op.
    pub(crate) fn error(&self, source: pocketnn_ops::OpError) -> Error {
        Error::Node {
            node: self.label.clone(),
            op: self.op,
            source,
        }
    }
}

/// A body (body 0 is the main graph).
#[derive(Debug, Default)]
pub(crate) struct Body {
    /// Nodes in execution order.
    pub nodes: Vec<Node>,
    /// Values the body yields.
    pub outputs: Vec<ValueId>,
}

/// The executable graph.
#[derive(Debug)]
pub(crate) struct Graph {
    /// Per value: where its data comes from.
    pub kinds: Vec<ValueKind>,
    /// Per value: declared dtype.
    pub dtypes: Vec<DType>,
    /// Bodies; 0 is the main graph.
    pub bodies: Vec<Body>,
}

fn invalid(reason: String) -> Error {
    Error::InvalidGraph { reason }
}

fn label(node: &NodeDef, index: usize) -> String {
    if node.name.is_empty() {
        format!("#{index}")
    } else {
        node.name.clone()
    }
}

fn build_node(def: &NodeDef, index: usize, n_bodies: usize) -> Result<Node> {
    let label = label(def, index);
    let action = if def.op == OpCode::If {
        let body = |name: &str| match def.attribute(name) {
            Some(AttrValue::Body(b)) if (*b as usize) < n_bodies && *b != 0 => Ok(*b),
            _ => Err(invalid(format!(
                "If node {label} needs a subgraph attribute `{name}`"
            ))),
        };
        if def.inputs.first().copied().flatten().is_none() {
            return Err(invalid(format!("If node {label} has no condition input")));
        }
        NodeAction::If {
            then_body: body("then_branch")?,
            else_body: body("else_branch")?,
        }
    } else {
        let op = pocketnn_ops::build_operator(def.op, &def.attributes).map_err(|source| {
            Error::Node {
                node: label.clone(),
                op: def.op,
                source,
            }
        })?;
        NodeAction::Op(op)
    };
    Ok(Node {
        label,
        op: def.op,
        action,
        inputs: def.inputs.clone(),
        outputs: def.outputs.clone(),
    })
}

/// Converts a file shape to `usize`s (fails on a 32-bit target if too large).
fn shape_usize(shape: &[u64]) -> Option<Vec<usize>> {
    shape.iter().map(|&d| usize::try_from(d).ok()).collect()
}

impl Graph {
    /// Builds the executable graph. `tensor_ranges[t]` is the byte range of
    /// tensor `t` in the model storage.
    pub(crate) fn build(def: &ModelDef, tensor_ranges: &[Range<usize>]) -> Result<Graph> {
        let graph = &def.graph;
        let mut kinds = vec![ValueKind::Computed; graph.values.len()];
        for (i, &v) in graph.inputs.iter().enumerate() {
            if let Some(kind) = kinds.get_mut(v as usize) {
                *kind = ValueKind::Input(i);
            }
        }
        for (v, value) in graph.values.iter().enumerate() {
            if let Some(t) = value.constant {
                kinds[v] = constant_kind(def, t, value.dtype, tensor_ranges)?;
            }
        }
        let n_bodies = graph.bodies.len();
        let mut bodies = Vec::with_capacity(n_bodies);
        let mut index = 0;
        for body in &graph.bodies {
            let mut nodes = Vec::with_capacity(body.nodes.len());
            for node in &body.nodes {
                nodes.push(build_node(node, index, n_bodies)?);
                index += 1;
            }
            bodies.push(Body {
                nodes,
                outputs: body.outputs.clone(),
            });
        }
        if bodies.is_empty() {
            return Err(invalid("the model has no main graph".into()));
        }
        for body in &bodies {
            for node in &body.nodes {
                if let NodeAction::If {
                    then_body,
                    else_body,
                } = node.action
                {
                    for b in [then_body, else_body] {
                        if bodies[b as usize].outputs.len() != node.outputs.len() {
                            return Err(invalid(format!(
                                "If node {}: a branch yields {} values, the node has {} outputs",
                                node.label,
                                bodies[b as usize].outputs.len(),
                                node.outputs.len()
                            )));
                        }
                    }
                }
            }
        }
        Ok(Graph {
            kinds,
            dtypes: graph.values.iter().map(|v| v.dtype).collect(),
            bodies,
        })
    }
}

fn constant_kind(
    def: &ModelDef,
    tensor: TensorId,
    dtype: DType,
    tensor_ranges: &[Range<usize>],
) -> Result<ValueKind> {
    let entry = def
        .tensors
        .get(tensor as usize)
        .ok_or_else(|| invalid(format!("constant refers to missing tensor {tensor}")))?;
    if entry.dtype != dtype {
        return Err(invalid(format!(
            "tensor `{}` is {} but its value is declared {}",
            entry.name, entry.dtype, dtype
        )));
    }
    let shape = shape_usize(&entry.shape)
        .ok_or_else(|| invalid(format!("tensor `{}` is too large", entry.name)))?;
    let bytes = tensor_ranges
        .get(tensor as usize)
        .cloned()
        .ok_or_else(|| invalid(format!("tensor `{}` has no data", entry.name)))?;
    Ok(ValueKind::Constant { bytes, shape })
}
