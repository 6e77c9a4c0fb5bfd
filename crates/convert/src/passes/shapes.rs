//! Shape inference with symbolic dims, by probing.
//!
//! Every symbolic dim of the graph inputs gets two distinct probe sizes, and
//! the main graph is walked twice (probe A and probe B, node by node) with
//! the operators' own `infer`. A dim equal in both probes is `Fixed`; a dim
//! equal to symbol S's probe size in both is `Symbolic(S)`; any other dim
//! makes the value's shape unknown. Small values computed only from shapes
//! and constants (the output of `Shape` and what is computed from it) are
//! evaluated too, and folded into constants when they are the same in both
//! probes and derived from no symbolic dim (see [`super::mask`]).
//!
//! A node whose operator is missing or whose `infer` fails leaves its
//! outputs unknown and adds a warning; it never fails the conversion.

use super::mask::{MaskRule, broadcast_or, mask_tensor, read_mask, rule};
use super::{BuildOp, FOLD_ISA, PassLog};
use crate::error::ConvertError;
use crate::graph::{Graph, Node, ValueId};
use pocketnn_format::{DType, Dim, OpCode};
use pocketnn_ops::{InputInfo, OpError, Operator, OutputSpec};
use pocketnn_tensor::{Tensor, TensorView};
use std::collections::BTreeMap;

/// Shape-like values are evaluated only up to this many elements.
const SHAPE_VALUE_MAX_ELEMENTS: usize = 4096;
/// An input whose data an op does not read is stood in for by zeros, up to
/// this size.
const STAND_IN_MAX_BYTES: usize = 64 << 20;

/// Probe sizes `(A, B)` for the i-th symbol: distinct primes, far apart so
/// that no simple expression of one symbol's probes gives another's.
fn probe_sizes(i: usize) -> (usize, usize) {
    const A: [usize; 8] = [2, 5, 11, 17, 23, 31, 41, 47];
    const B: [usize; 8] = [3, 97, 193, 389, 769, 1543, 3079, 6151];
    match (A.get(i), B.get(i)) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (1009 + 2 * i, 12289 + 3 * i),
    }
}

/// What one probe knows about a value.
#[derive(Clone, Debug)]
struct Known {
    dtype: DType,
    shape: Vec<usize>,
    /// The computed value (constants are read from the graph).
    value: Option<Tensor>,
}

/// Both probes' knowledge, plus the symbolic-dependence masks.
struct State<'g> {
    graph: &'g Graph,
    probes: [Vec<Option<Known>>; 2],
    /// For computed values: which elements derive from a symbolic dim.
    masks: Vec<Option<Vec<bool>>>,
}

impl<'g> State<'g> {
    fn known(&self, p: usize, id: ValueId) -> Option<&Known> {
        self.probes.get(p)?.get(id)?.as_ref()
    }

    fn view(&self, p: usize, id: ValueId) -> Option<TensorView<'_>> {
        match self.graph.constant(id) {
            Some(t) => Some(t.view()),
            None => self.known(p, id)?.value.as_ref().map(Tensor::view),
        }
    }

    fn info(&self, p: usize, id: ValueId) -> Option<InputInfo<'_>> {
        let k = self.known(p, id)?;
        Some(InputInfo {
            dtype: k.dtype,
            shape: &k.shape,
            value: self.view(p, id),
        })
    }

    /// True when some element of `id` derives from a symbolic dim.
    fn tainted(&self, id: ValueId) -> bool {
        self.graph.constant(id).is_none()
            && self
                .masks
                .get(id)
                .is_none_or(|m| m.as_ref().is_none_or(|m| m.iter().any(|&x| x)))
    }

    fn mask(&self, id: ValueId) -> Option<Vec<bool>> {
        match self.graph.constant(id) {
            Some(t) => Some(vec![false; t.view().len()]),
            None => self.masks.get(id)?.clone(),
        }
    }
}

/// Infers the shapes of body 0's values, folds shape values that do not
/// depend on symbolic dims, and returns how many nodes were folded.
///
/// Fails only when an operator rejects its inputs' dtypes: dtypes do not
/// depend on the probe sizes, so the runtime would reject them too.
pub(crate) fn infer_shapes(
    graph: &mut Graph,
    log: &mut PassLog,
    build: BuildOp<'_>,
) -> Result<usize, ConvertError> {
    let mut symbols: Vec<String> = Vec::new();
    for &id in &graph.inputs {
        for d in graph
            .value(id)
            .and_then(|v| v.shape.as_ref())
            .into_iter()
            .flatten()
        {
            if let Dim::Symbolic(s) = d
                && !symbols.contains(s)
            {
                symbols.push(s.clone());
            }
        }
    }
    let probe = |s: &str, p: usize| {
        let i = symbols.iter().position(|x| x == s).unwrap_or(0);
        let (a, b) = probe_sizes(i);
        if p == 0 { a } else { b }
    };
    let mut state = State {
        graph,
        probes: [
            vec![None; graph.values.len()],
            vec![None; graph.values.len()],
        ],
        masks: vec![None; graph.values.len()],
    };
    for (id, v) in graph.values.iter().enumerate() {
        for p in 0..2 {
            let known = if let Some(t) = &v.constant {
                Some(Known {
                    dtype: t.dtype(),
                    shape: t.shape().to_vec(),
                    value: None,
                })
            } else if graph.inputs.contains(&id) {
                v.shape.as_ref().map(|dims| Known {
                    dtype: v.dtype,
                    shape: dims
                        .iter()
                        .map(|d| match d {
                            Dim::Fixed(n) => usize::try_from(*n).unwrap_or(usize::MAX),
                            Dim::Symbolic(s) => probe(s, p),
                        })
                        .collect(),
                    value: None,
                })
            } else {
                None
            };
            if let Some(slot) = state.probes.get_mut(p).and_then(|v| v.get_mut(id)) {
                *slot = known;
            }
        }
    }

    let nodes: Vec<Node> = graph
        .bodies
        .first()
        .map(|b| b.nodes.clone())
        .unwrap_or_default();
    let mut unavailable: BTreeMap<OpCode, usize> = BTreeMap::new();
    for node in &nodes {
        if node.op == OpCode::If {
            continue;
        }
        let op = match build(node.op, &node.attributes) {
            Ok(op) => op,
            Err(OpError::Unsupported { .. }) => {
                *unavailable.entry(node.op).or_insert(0) += 1;
                continue;
            }
            Err(e) => {
                log.warn(format!(
                    "shape inference: node {} ({}): {e}",
                    node.name, node.op
                ));
                continue;
            }
        };
        let mut results: [Option<Vec<Known>>; 2] = [None, None];
        for (p, result) in results.iter_mut().enumerate() {
            match probe_node(&state, p, node, &*op) {
                Ok(r) => *result = r,
                Err(source @ OpError::UnsupportedDType { .. }) => {
                    return Err(ConvertError::Operator {
                        op: node.op,
                        node: node.name.clone(),
                        source,
                    });
                }
                Err(e) => {
                    log.warn(format!(
                        "shape inference: node {} ({}): {e}",
                        node.name, node.op
                    ));
                    break;
                }
            }
        }
        let [Some(a), Some(b)] = results else {
            continue;
        };
        let masks = output_masks(&state, node, &*op, &a, &b);
        for (i, (&id, (ka, kb))) in node.outputs.iter().zip(a.into_iter().zip(b)).enumerate() {
            if let Some(m) = state.masks.get_mut(id) {
                *m = masks.as_ref().and_then(|m| m.get(i).cloned());
            }
            for (p, k) in [(0, ka), (1, kb)] {
                if let Some(slot) = state.probes.get_mut(p).and_then(|v| v.get_mut(id)) {
                    *slot = Some(k);
                }
            }
        }
    }
    for (op, count) in unavailable {
        log.warn(format!(
            "shape inference: operator {op} is not available ({count} node(s)); their outputs have no declared shape"
        ));
    }
    let State {
        probes: [a, b],
        masks,
        ..
    } = state;
    Ok(apply(graph, &nodes, &a, &b, &masks, &symbols, log))
}

/// One probe of one node: its outputs, or `None` when an input is unknown.
fn probe_node(
    state: &State<'_>,
    p: usize,
    node: &Node,
    op: &dyn Operator,
) -> Result<Option<Vec<Known>>, OpError> {
    let mut infos = Vec::with_capacity(node.inputs.len());
    for input in &node.inputs {
        match input {
            None => infos.push(None),
            Some(id) => match state.info(p, *id) {
                Some(info) => infos.push(Some(info)),
                None => return Ok(None),
            },
        }
    }
    let specs = op.infer(&infos)?;
    if specs.len() < node.outputs.len() {
        return Err(OpError::Unsupported {
            what: format!(
                "infer returned {} outputs for {}",
                specs.len(),
                node.outputs.len()
            ),
        });
    }
    let values = evaluate_small(&infos, &specs, op);
    Ok(Some(
        specs
            .into_iter()
            .take(node.outputs.len())
            .enumerate()
            .map(|(i, s)| Known {
                dtype: s.dtype,
                shape: s.shape,
                value: values.as_ref().and_then(|v| v.get(i).cloned()),
            })
            .collect(),
    ))
}

/// Evaluates a node whose read inputs all have known values and whose
/// outputs are small; `None` when it does not qualify or fails.
fn evaluate_small(
    infos: &[Option<InputInfo<'_>>],
    specs: &[OutputSpec],
    op: &dyn Operator,
) -> Option<Vec<Tensor>> {
    let small = specs.iter().all(|s| {
        pocketnn_tensor::num_elements(&s.shape).is_some_and(|n| n <= SHAPE_VALUE_MAX_ELEMENTS)
    });
    if !small {
        return None;
    }
    let mut stand_ins: Vec<Option<Tensor>> = Vec::with_capacity(infos.len());
    for (i, info) in infos.iter().enumerate() {
        stand_ins.push(match info {
            Some(info) if info.value.is_none() => {
                if op.reads_input_value(i) {
                    return None;
                }
                let bytes = pocketnn_tensor::byte_size(info.dtype, info.shape)?;
                if bytes > STAND_IN_MAX_BYTES {
                    return None;
                }
                Some(Tensor::zeros(info.dtype, info.shape).ok()?)
            }
            _ => None,
        });
    }
    let views: Vec<Option<TensorView<'_>>> = infos
        .iter()
        .zip(&stand_ins)
        .map(|(info, stand_in)| match (info, stand_in) {
            (_, Some(t)) => Some(t.view()),
            (Some(info), None) => info.value,
            (None, None) => None,
        })
        .collect();
    pocketnn_ops::eval(op, &views, FOLD_ISA).ok()
}

/// The symbolic-dependence masks of a node's outputs (see [`super::mask`]),
/// `None` when the outputs have no values.
fn output_masks(
    state: &State<'_>,
    node: &Node,
    op: &dyn Operator,
    a: &[Known],
    b: &[Known],
) -> Option<Vec<Vec<bool>>> {
    let mut differ: Vec<Vec<bool>> = Vec::with_capacity(a.len());
    for (ka, kb) in a.iter().zip(b) {
        let (va, vb) = (ka.value.as_ref()?, kb.value.as_ref()?);
        let n = va.view().len();
        if ka.shape != kb.shape || ka.dtype != kb.dtype {
            differ.push(vec![true; n]);
            continue;
        }
        let size = ka.dtype.size();
        differ.push(
            va.bytes()
                .chunks_exact(size)
                .zip(vb.bytes().chunks_exact(size))
                .map(|(x, y)| x != y)
                .collect(),
        );
    }
    let read_inputs: Vec<ValueId> = node
        .inputs
        .iter()
        .enumerate()
        .filter_map(|(i, id)| id.filter(|_| op.reads_input_value(i)))
        .collect();
    let propagated = if read_inputs.iter().all(|&id| !state.tainted(id)) {
        None
    } else {
        Some(propagate(state, node, op, a).unwrap_or_else(|| {
            a.iter()
                .map(|k| vec![true; k.value.as_ref().map_or(0, |v| v.view().len())])
                .collect()
        }))
    };
    Some(match propagated {
        None => differ,
        Some(p) => differ
            .into_iter()
            .zip(p)
            .map(|(d, p)| {
                if d.len() == p.len() {
                    d.iter().zip(&p).map(|(x, y)| *x || *y).collect()
                } else {
                    vec![true; d.len()]
                }
            })
            .collect(),
    })
}

/// Masks propagated from the inputs by the op's [`MaskRule`] (probe A's
/// inputs), or `None` for "every element".
fn propagate(
    state: &State<'_>,
    node: &Node,
    op: &dyn Operator,
    a: &[Known],
) -> Option<Vec<Vec<bool>>> {
    match rule(node.op) {
        MaskRule::Opaque => None,
        MaskRule::Elementwise => {
            let mut owned = Vec::new();
            for id in node.inputs.iter().flatten() {
                owned.push((state.known(0, *id)?.shape.clone(), state.mask(*id)?));
            }
            let parts: Vec<(&[usize], &[bool])> = owned
                .iter()
                .map(|(s, m)| (s.as_slice(), m.as_slice()))
                .collect();
            let (_, mask) = broadcast_or(&parts)?;
            Some(vec![mask; a.len()])
        }
        MaskRule::Movement(data) => {
            let is_data = |i: usize| data.is_empty() || data.contains(&i);
            let mut tensors: Vec<Option<Tensor>> = Vec::with_capacity(node.inputs.len());
            for (i, input) in node.inputs.iter().enumerate() {
                tensors.push(match input {
                    Some(id) if is_data(i) => {
                        let k = state.known(0, *id)?;
                        Some(mask_tensor(k.dtype, &k.shape, &state.mask(*id)?)?)
                    }
                    Some(id) if state.tainted(*id) => return None,
                    _ => None,
                });
            }
            let views: Vec<Option<TensorView<'_>>> = node
                .inputs
                .iter()
                .zip(&tensors)
                .map(|(input, t)| match (input, t) {
                    (_, Some(t)) => Some(t.view()),
                    (Some(id), None) => state.view(0, *id),
                    (None, None) => None,
                })
                .collect();
            let outputs = pocketnn_ops::eval(op, &views, FOLD_ISA).ok()?;
            outputs.iter().take(a.len()).map(read_mask).collect()
        }
    }
}

/// Writes inferred shapes into the graph and folds symbol-free shape values.
fn apply(
    graph: &mut Graph,
    nodes: &[Node],
    a: &[Option<Known>],
    b: &[Option<Known>],
    masks: &[Option<Vec<bool>>],
    symbols: &[String],
    log: &mut PassLog,
) -> usize {
    let mut folded_nodes = Vec::new();
    for node in nodes {
        let mut all_foldable = !node.outputs.is_empty();
        for &id in &node.outputs {
            let (Some(Some(ka)), Some(Some(kb))) = (a.get(id), b.get(id)) else {
                all_foldable = false;
                if let Some(v) = graph.values.get_mut(id) {
                    v.shape = None;
                }
                continue;
            };
            let shape = merge_shapes(&ka.shape, &kb.shape, symbols);
            if let Some(v) = graph.values.get_mut(id) {
                v.dtype = ka.dtype;
                v.shape = shape;
            }
            let same = match (&ka.value, &kb.value) {
                (Some(x), Some(y)) => x.shape() == y.shape() && x.bytes() == y.bytes(),
                _ => false,
            };
            let untainted = masks
                .get(id)
                .and_then(Option::as_ref)
                .is_some_and(|m| m.iter().all(|&x| !x));
            all_foldable &= same && untainted;
        }
        if all_foldable {
            for &id in &node.outputs {
                if let Some(Some(Known { value: Some(t), .. })) = a.get(id) {
                    graph.make_constant(id, t.clone());
                    log.folded_values.push(graph.name(id).to_string());
                }
            }
            folded_nodes.push(node.outputs.clone());
        }
    }
    if let Some(body) = graph.bodies.first_mut() {
        body.nodes.retain(|n| !folded_nodes.contains(&n.outputs));
    }
    log.folded_nodes += folded_nodes.len();
    folded_nodes.len()
}

/// The declared shape from two probes' shapes, `None` when a dim is neither
/// fixed nor one symbol.
fn merge_shapes(a: &[usize], b: &[usize], symbols: &[String]) -> Option<Vec<Dim>> {
    if a.len() != b.len() {
        return None;
    }
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            if x == y {
                return Some(Dim::Fixed(x as u64));
            }
            symbols
                .iter()
                .enumerate()
                .find(|(i, _)| probe_sizes(*i) == (x, y))
                .map(|(_, s)| Dim::Symbolic(s.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests;
