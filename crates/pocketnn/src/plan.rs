//! Planning: for one set of input shapes, infer every shape that can be
//! known before running, evaluate small shape computations ahead of time,
//! and assign activation buffers ("slots") so values whose lifetimes do not
//! overlap share memory. A session keeps its plans and reuses them for runs
//! with the same input shapes.

use crate::error::{Error, Result};
use crate::graph::{Node, NodeAction, ValueKind};
use crate::limits::{Limits, check};
use crate::model::ModelInner;
use pocketnn_format::{BodyId, ValueId};
use pocketnn_ops::{InputInfo, OpError, Operator, OutputSpec};
use pocketnn_tensor::{AlignedBuf, Isa, Tensor, TensorView, byte_size, num_elements};

/// Values with at most this many elements are computed while planning when
/// everything they depend on is known (shape arithmetic, small constants).
const FOLD_MAX_ELEMENTS: usize = 1 << 16;

/// The plan for one set of input shapes.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The input shapes this plan is for.
    pub input_shapes: Vec<Vec<usize>>,
    /// Per value: its shape when known before running.
    pub shapes: Vec<Option<Vec<usize>>>,
    /// Per value: its data when computed while planning.
    pub folded: Vec<Option<Tensor>>,
    /// Per computed value: its activation buffer.
    pub slot_of: Vec<Option<usize>>,
    /// Bytes each slot needs (at least; dynamic values may grow it).
    pub slot_bytes: Vec<usize>,
    /// Per main-graph node: all outputs folded, nothing to run.
    pub skip: Vec<bool>,
}

impl Plan {
    /// True when node outputs all have planned shapes.
    pub(crate) fn is_static(&self, node: &Node) -> bool {
        node.outputs
            .iter()
            .all(|&v| self.shapes.get(v as usize).is_some_and(|s| s.is_some()))
    }
}

/// Views of values whose data is known while planning.
struct Known<'a> {
    model: &'a ModelInner,
    folded: &'a [Option<Tensor>],
}

impl<'a> Known<'a> {
    fn value(&self, v: ValueId) -> Option<TensorView<'a>> {
        let v = v as usize;
        if let Some(Some(t)) = self.folded.get(v) {
            return Some(t.view());
        }
        match self.model.graph.kinds.get(v)? {
            ValueKind::Constant { bytes, shape } => {
                let data = self.model.storage.bytes().get(bytes.clone())?;
                TensorView::new(*self.model.graph.dtypes.get(v)?, shape, data).ok()
            }
            _ => None,
        }
    }
}

/// Builds the plan for these input shapes. Every inferred shape, and the
/// activation memory the plan needs, is checked against `limits`.
pub(crate) fn make_plan(
    model: &ModelInner,
    input_shapes: &[Vec<usize>],
    isa: Isa,
    limits: &Limits,
) -> Result<Plan> {
    let n = model.graph.kinds.len();
    let mut shapes: Vec<Option<Vec<usize>>> = vec![None; n];
    for (v, kind) in model.graph.kinds.iter().enumerate() {
        match kind {
            ValueKind::Input(i) => shapes[v] = input_shapes.get(*i).cloned(),
            ValueKind::Constant { shape, .. } => shapes[v] = Some(shape.clone()),
            ValueKind::Computed => {}
        }
    }
    let mut folded: Vec<Option<Tensor>> = vec![None; n];
    let main = &model.graph.bodies[0];
    let mut skip = vec![false; main.nodes.len()];
    // Zeros standing in for data that `run` will not read (Shape's input).
    let mut placeholder = AlignedBuf::new();
    for (j, node) in main.nodes.iter().enumerate() {
        if !matches!(node.action, NodeAction::Op(_)) {
            continue;
        }
        let step = plan_node(model, node, &shapes, &folded, &mut placeholder, isa, limits)?;
        let Some((specs, results)) = step else {
            continue;
        };
        for (&out, spec) in node.outputs.iter().zip(specs) {
            shapes[out as usize] = Some(spec.shape);
        }
        if let Some(results) = results {
            for (&out, t) in node.outputs.iter().zip(results) {
                folded[out as usize] = Some(t);
            }
            skip[j] = true;
        }
    }
    let (slot_of, slot_bytes) = assign_slots(model, &shapes, &folded);
    let total = slot_bytes
        .iter()
        .try_fold(0usize, |acc, &b| acc.checked_add(b))
        .unwrap_or(usize::MAX);
    check(
        || "planned activation bytes".to_string(),
        total,
        limits.max_activation_bytes,
    )?;
    Ok(Plan {
        input_shapes: input_shapes.to_vec(),
        shapes,
        folded,
        slot_of,
        slot_bytes,
        skip,
    })
}

/// Output specs of one node when its input shapes are known, and its
/// outputs' data when they could be computed ahead of running.
type NodePlan = Option<(Vec<OutputSpec>, Option<Vec<Tensor>>)>;

fn plan_node(
    model: &ModelInner,
    node: &Node,
    shapes: &[Option<Vec<usize>>],
    folded: &[Option<Tensor>],
    placeholder: &mut AlignedBuf,
    isa: Isa,
    limits: &Limits,
) -> Result<NodePlan> {
    let NodeAction::Op(op) = &node.action else {
        return Ok(None);
    };
    let op: &dyn Operator = op.as_ref();
    let known = Known { model, folded };
    let mut infos = Vec::with_capacity(node.inputs.len());
    for &input in &node.inputs {
        let Some(v) = input else {
            infos.push(None);
            continue;
        };
        let (Some(Some(shape)), Some(&dtype)) =
            (shapes.get(v as usize), model.graph.dtypes.get(v as usize))
        else {
            return Ok(None);
        };
        infos.push(Some(InputInfo {
            dtype,
            shape,
            value: known.value(v),
        }));
    }
    let mut specs = match op.infer(&infos) {
        Ok(specs) => specs,
        Err(OpError::NeedsValue { .. }) => return Ok(None),
        Err(e) => return Err(node.error(e)),
    };
    if specs.len() < node.outputs.len() {
        return Err(node.error(OpError::Unsupported {
            what: format!(
                "{} outputs requested, the operator yields {}",
                node.outputs.len(),
                specs.len()
            ),
        }));
    }
    specs.truncate(node.outputs.len());
    for (&out, spec) in node.outputs.iter().zip(&specs) {
        let declared = model.graph.dtypes[out as usize];
        if declared != spec.dtype {
            return Err(Error::InvalidGraph {
                reason: format!(
                    "node {}: output `{}` is declared {declared} but computed as {}",
                    node.label, model.def.graph.values[out as usize].name, spec.dtype
                ),
            });
        }
        let what = || output_name(model, node, out);
        limits.check_shape(&what, spec.dtype, &spec.shape)?;
    }
    // Fold when every value the op reads is known and the result is small.
    let small = specs
        .iter()
        .all(|s| num_elements(&s.shape).is_some_and(|n| n <= FOLD_MAX_ELEMENTS));
    let readable = infos.iter().enumerate().all(|(i, info)| match info {
        Some(info) => info.value.is_some() || !op.reads_input_value(i),
        None => true,
    });
    if !(small && readable) {
        return Ok(Some((specs, None)));
    }
    let needed = infos
        .iter()
        .flatten()
        .filter(|i| i.value.is_none())
        .filter_map(|i| byte_size(i.dtype, i.shape))
        .max()
        .unwrap_or(0);
    if placeholder.len() < needed {
        placeholder.resize(needed);
    }
    let views: Vec<Option<TensorView<'_>>> = infos
        .iter()
        .map(|info| {
            info.map(|i| match i.value {
                Some(v) => Ok(v),
                None => {
                    let len = byte_size(i.dtype, i.shape).unwrap_or(0);
                    TensorView::new(i.dtype, i.shape, &placeholder.as_bytes()[..len])
                }
            })
            .transpose()
        })
        .collect::<std::result::Result<_, _>>()?;
    let mut results = pocketnn_ops::eval(op, &views, isa).map_err(|e| node.error(e))?;
    results.truncate(node.outputs.len());
    Ok(Some((specs, Some(results))))
}

/// "node `label`: output `name`", for limit errors.
pub(crate) fn output_name(model: &ModelInner, node: &Node, out: ValueId) -> String {
    let name = model
        .def
        .graph
        .values
        .get(out as usize)
        .map_or("?", |v| v.name.as_str());
    format!("node {}: output `{name}`", node.label)
}

/// Every value read by nodes of `body` (and, recursively, its sub-bodies).
fn values_read(model: &ModelInner, body: BodyId, out: &mut Vec<ValueId>, depth: usize) {
    let Some(b) = model.graph.bodies.get(body as usize) else {
        return;
    };
    if depth > model.graph.bodies.len() {
        return; // the reader rejects cyclic bodies; this only bounds recursion
    }
    out.extend(b.outputs.iter().copied());
    for node in &b.nodes {
        out.extend(node.inputs.iter().flatten().copied());
        if let NodeAction::If {
            then_body,
            else_body,
        } = node.action
        {
            values_read(model, then_body, out, depth + 1);
            values_read(model, else_body, out, depth + 1);
        }
    }
}

/// Greedy buffer sharing over the main graph: a value's slot is freed after
/// its last reader, and a new value takes the smallest free slot that fits.
/// Values produced inside `If` bodies get slots of their own.
fn assign_slots(
    model: &ModelInner,
    shapes: &[Option<Vec<usize>>],
    folded: &[Option<Tensor>],
) -> (Vec<Option<usize>>, Vec<usize>) {
    let n = model.graph.kinds.len();
    let main = &model.graph.bodies[0];
    let forever = usize::MAX;
    let mut last_use = vec![0usize; n];
    let mut read = Vec::new();
    for (j, node) in main.nodes.iter().enumerate() {
        read.clear();
        read.extend(node.inputs.iter().flatten().copied());
        if let NodeAction::If {
            then_body,
            else_body,
        } = node.action
        {
            values_read(model, then_body, &mut read, 0);
            values_read(model, else_body, &mut read, 0);
        }
        for &v in &read {
            if let Some(l) = last_use.get_mut(v as usize) {
                *l = (*l).max(j);
            }
        }
    }
    for (j, node) in main.nodes.iter().enumerate() {
        // outputs nobody reads are released right after their node
        for &out in &node.outputs {
            if let Some(l) = last_use.get_mut(out as usize) {
                *l = (*l).max(j);
            }
        }
    }
    for &v in &main.outputs {
        if let Some(l) = last_use.get_mut(v as usize) {
            *l = forever;
        }
    }
    let bytes_of = |v: usize| -> usize {
        shapes[v]
            .as_ref()
            .and_then(|s| byte_size(model.graph.dtypes[v], s))
            .unwrap_or(0)
    };
    let mut slot_of: Vec<Option<usize>> = vec![None; n];
    let mut slot_bytes: Vec<usize> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let needs_slot =
        |v: usize| matches!(model.graph.kinds[v], ValueKind::Computed) && folded[v].is_none();
    for (j, node) in main.nodes.iter().enumerate() {
        for &out in &node.outputs {
            let v = out as usize;
            if !needs_slot(v) {
                continue;
            }
            let size = bytes_of(v);
            let best_fit = free
                .iter()
                .enumerate()
                .filter(|(_, s)| slot_bytes[**s] >= size)
                .min_by_key(|(_, s)| slot_bytes[**s])
                .or_else(|| free.iter().enumerate().max_by_key(|(_, s)| slot_bytes[**s]))
                .map(|(i, _)| i);
            let slot = match best_fit {
                Some(i) => free.swap_remove(i),
                None => {
                    slot_bytes.push(0);
                    slot_bytes.len() - 1
                }
            };
            slot_bytes[slot] = slot_bytes[slot].max(size);
            slot_of[v] = Some(slot);
        }
        let mut release = |v: usize| {
            if last_use[v] == j
                && let Some(slot) = slot_of[v]
                && !free.contains(&slot)
            {
                free.push(slot);
            }
        };
        for &input in node.inputs.iter().flatten() {
            release(input as usize);
        }
        for &out in &node.outputs {
            release(out as usize);
        }
        if let NodeAction::If { .. } = node.action {
            for (v, _) in last_use.iter().enumerate().filter(|(_, l)| **l == j) {
                release(v);
            }
        }
    }
    // Values computed inside If bodies: one slot each.
    for body in model.graph.bodies.iter().skip(1) {
        for node in &body.nodes {
            for &out in &node.outputs {
                let v = out as usize;
                if needs_slot(v) && slot_of[v].is_none() {
                    slot_bytes.push(0);
                    slot_of[v] = Some(slot_bytes.len() - 1);
                }
            }
        }
    }
    (slot_of, slot_bytes)
}
