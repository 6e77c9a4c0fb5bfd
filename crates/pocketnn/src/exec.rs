//! Executing a planned graph: gather input views, make output views over
//! the planned buffers, run each operator; `If` runs one of its bodies.

use crate::error::{Error, Result};
use crate::graph::{Node, NodeAction, ValueKind};
use crate::limits::{Limits, check};
use crate::model::ModelInner;
use crate::plan::{Plan, output_name};
use pocketnn_format::{BodyId, DType, ValueId};
use pocketnn_ops::{InputInfo, OpError, OutputSpec, RunContext};
use pocketnn_tensor::{AlignedBuf, Isa, TensorView, TensorViewMut, byte_size};
use smallvec::SmallVec;

/// Per-session mutable state, kept across runs so steady-state runs reuse
/// every buffer.
#[derive(Debug, Default)]
pub(crate) struct RunState {
    /// Activation buffers, indexed by slot.
    pub slots: Vec<AlignedBuf>,
    /// Current shape of every value (planned, or set at run time).
    pub shapes: Vec<Vec<usize>>,
    /// Operator scratch memory.
    pub scratch: AlignedBuf,
}

impl RunState {
    /// Prepares the buffers and shapes for `plan`. The buffers kept from
    /// earlier plans count against the activation limit too.
    pub(crate) fn apply(&mut self, plan: &Plan, limits: &Limits) -> Result<()> {
        let mut total = 0usize;
        for (k, &planned) in plan.slot_bytes.iter().enumerate() {
            let held = self.slots.get(k).map_or(0, AlignedBuf::capacity);
            total = total.saturating_add(held.max(planned));
        }
        for slot in self.slots.iter().skip(plan.slot_bytes.len()) {
            total = total.saturating_add(slot.capacity());
        }
        check(
            || "session activation bytes".to_string(),
            total,
            limits.max_activation_bytes,
        )?;
        if self.slots.len() < plan.slot_bytes.len() {
            self.slots
                .resize_with(plan.slot_bytes.len(), AlignedBuf::new);
        }
        for (slot, &bytes) in self.slots.iter_mut().zip(&plan.slot_bytes) {
            slot.try_reserve_total(bytes)
                .map_err(|_| Error::OutOfMemory {
                    what: "activation buffers".to_string(),
                    bytes: bytes as u64,
                })?;
        }
        self.shapes.resize_with(plan.shapes.len(), Vec::new);
        for (shape, planned) in self.shapes.iter_mut().zip(&plan.shapes) {
            if let Some(p) = planned {
                shape.clone_from(p);
            }
        }
        Ok(())
    }

    /// Bytes held by all activation buffers.
    fn activation_bytes(&self) -> usize {
        self.slots
            .iter()
            .fold(0usize, |acc, s| acc.saturating_add(s.capacity()))
    }
}

/// One run of the graph.
pub(crate) struct Executor<'r> {
    pub model: &'r ModelInner,
    pub plan: &'r Plan,
    /// Caller inputs, in model input order.
    pub inputs: &'r [TensorView<'r>],
    pub isa: Isa,
    pub threads: usize,
    pub limits: &'r Limits,
}

type Views<'a> = SmallVec<[Option<TensorView<'a>>; 8]>;

/// The view of value `v`, wherever it lives.
pub(crate) fn value_view<'a>(
    model: &'a ModelInner,
    plan: &'a Plan,
    inputs: &[TensorView<'a>],
    slots: &'a [AlignedBuf],
    shapes: &'a [Vec<usize>],
    v: ValueId,
) -> Result<TensorView<'a>> {
    let i = v as usize;
    if let Some(Some(t)) = plan.folded.get(i) {
        return Ok(t.view());
    }
    let missing = || Error::InvalidGraph {
        reason: format!("value {v} is read before it is computed"),
    };
    let dtype = *model.graph.dtypes.get(i).ok_or_else(missing)?;
    match model.graph.kinds.get(i).ok_or_else(missing)? {
        ValueKind::Input(k) => inputs.get(*k).copied().ok_or_else(missing),
        ValueKind::Constant { bytes, shape } => {
            let data = model
                .storage
                .bytes()
                .get(bytes.clone())
                .ok_or_else(missing)?;
            Ok(TensorView::new(dtype, shape, data)?.constant())
        }
        ValueKind::Computed => {
            let slot = plan.slot_of.get(i).copied().flatten().ok_or_else(missing)?;
            let shape = shapes.get(i).ok_or_else(missing)?;
            let len = byte_size(dtype, shape).ok_or_else(missing)?;
            let data = slots
                .get(slot)
                .and_then(|s| s.as_bytes().get(..len))
                .ok_or_else(missing)?;
            Ok(TensorView::new(dtype, shape, data)?)
        }
    }
}

impl<'r> Executor<'r> {
    fn views<'a>(
        &self,
        state_slots: &'a [AlignedBuf],
        shapes: &'a [Vec<usize>],
        node: &Node,
    ) -> Result<Views<'a>>
    where
        'r: 'a,
    {
        node.inputs
            .iter()
            .map(|input| {
                input
                    .map(|v| value_view(self.model, self.plan, self.inputs, state_slots, shapes, v))
                    .transpose()
            })
            .collect()
    }

    /// Runs the main graph.
    pub(crate) fn run(&self, state: &mut RunState) -> Result<()> {
        let main = &self.model.graph.bodies[0];
        for (j, node) in main.nodes.iter().enumerate() {
            if self.plan.skip.get(j).copied().unwrap_or(false) {
                continue;
            }
            self.run_node(state, node, 0)?;
        }
        Ok(())
    }

    fn run_body(&self, state: &mut RunState, body: BodyId, depth: usize) -> Result<()> {
        let body =
            self.model
                .graph
                .bodies
                .get(body as usize)
                .ok_or_else(|| Error::InvalidGraph {
                    reason: format!("missing body {body}"),
                })?;
        for node in &body.nodes {
            self.run_node(state, node, depth)?;
        }
        Ok(())
    }

    fn run_node(&self, state: &mut RunState, node: &Node, depth: usize) -> Result<()> {
        match &node.action {
            NodeAction::Op(op) => {
                if !self.plan.is_static(node) {
                    let specs = {
                        let views = self.views(&state.slots, &state.shapes, node)?;
                        let infos: SmallVec<[Option<InputInfo<'_>>; 8]> =
                            views.iter().map(|v| v.map(InputInfo::from)).collect();
                        op.infer(&infos).map_err(|e| node.error(e))?
                    };
                    self.set_output_shapes(state, node, &specs)?;
                }
                let mut wanted: SmallVec<[(usize, usize); 4]> = SmallVec::new();
                for &out in &node.outputs {
                    wanted.push((self.slot(node, out)?, self.out_len(state, out)?));
                }
                let mut bufs: SmallVec<[AlignedBuf; 4]> = SmallVec::new();
                for &(slot, _) in &wanted {
                    bufs.push(std::mem::take(&mut state.slots[slot]));
                }
                let mut grown = Ok(());
                for k in 0..bufs.len() {
                    let held = bufs
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != k)
                        .fold(0usize, |acc, (_, b)| acc.saturating_add(b.capacity()));
                    let (_, len) = wanted[k];
                    let what = || output_name(self.model, node, node.outputs[k]);
                    grown = self.grow(state, held, &mut bufs[k], len, &what);
                    if grown.is_err() {
                        break;
                    }
                }
                // Run in a closure so the buffers go back to `state` on every path.
                let result = grown.and_then(|()| {
                    let views = self.views(&state.slots, &state.shapes, node)?;
                    let mut outs: SmallVec<[TensorViewMut<'_>; 4]> = SmallVec::new();
                    for (buf, &out) in bufs.iter_mut().zip(&node.outputs) {
                        let dtype = self.model.graph.dtypes[out as usize];
                        outs.push(TensorViewMut::new(
                            dtype,
                            &state.shapes[out as usize],
                            buf.as_bytes_mut(),
                        )?);
                    }
                    let mut ctx = RunContext {
                        isa: self.isa,
                        threads: self.threads,
                        scratch: &mut state.scratch,
                    };
                    op.run(&mut ctx, &views, &mut outs)
                        .map_err(|e| node.error(e))
                });
                for (buf, &(slot, _)) in bufs.into_iter().zip(&wanted) {
                    state.slots[slot] = buf;
                }
                result
            }
            NodeAction::If {
                then_body,
                else_body,
            } => {
                if depth > self.model.graph.bodies.len() {
                    return Err(Error::InvalidGraph {
                        reason: "If bodies nest too deeply".into(),
                    });
                }
                let cond = {
                    let views = self.views(&state.slots, &state.shapes, node)?;
                    let c = views
                        .first()
                        .copied()
                        .flatten()
                        .ok_or_else(|| node.error(OpError::MissingInput { index: 0 }))?;
                    if c.len() != 1 {
                        return Err(node.error(OpError::InvalidInput {
                            index: 0,
                            reason: format!(
                                "the condition must have one element, it has {}",
                                c.len()
                            ),
                        }));
                    }
                    c.to_f32_vec().map_err(|e| node.error(e.into()))?[0] != 0.0
                };
                let body = if cond { *then_body } else { *else_body };
                self.run_body(state, body, depth + 1)?;
                let yields = self.model.graph.bodies[body as usize].outputs.clone();
                for (&out, &src) in node.outputs.iter().zip(&yields) {
                    self.copy_value(state, node, src, out)?;
                }
                Ok(())
            }
        }
    }

    fn slot(&self, node: &Node, v: ValueId) -> Result<usize> {
        self.plan
            .slot_of
            .get(v as usize)
            .copied()
            .flatten()
            .ok_or_else(|| Error::InvalidGraph {
                reason: format!("node {}: output {v} has no buffer", node.label),
            })
    }

    /// Resizes `buf` to `len` bytes. Growth is counted against the session's
    /// activation limit: the buffers in `state`, plus `held` bytes of other
    /// buffers taken out of it for the node being run, plus `len`. `buf`
    /// itself must have been taken out of `state`. Allocation failure is an
    /// error, not an abort.
    fn grow(
        &self,
        state: &RunState,
        held: usize,
        buf: &mut AlignedBuf,
        len: usize,
        what: &dyn Fn() -> String,
    ) -> Result<()> {
        if len > buf.capacity() {
            let total = state
                .activation_bytes()
                .saturating_add(held)
                .saturating_add(len);
            check(
                || format!("session activation bytes growing {}", what()),
                total,
                self.limits.max_activation_bytes,
            )?;
        }
        buf.try_resize(len).map_err(|_| Error::OutOfMemory {
            what: what(),
            bytes: len as u64,
        })
    }

    fn out_len(&self, state: &RunState, v: ValueId) -> Result<usize> {
        let dtype = self.model.graph.dtypes[v as usize];
        byte_size(dtype, &state.shapes[v as usize]).ok_or_else(|| Error::InvalidGraph {
            reason: format!("value {v} is too large"),
        })
    }

    fn set_output_shapes(
        &self,
        state: &mut RunState,
        node: &Node,
        specs: &[OutputSpec],
    ) -> Result<()> {
        if specs.len() < node.outputs.len() {
            return Err(node.error(OpError::Unsupported {
                what: format!(
                    "{} outputs requested, the operator yields {}",
                    node.outputs.len(),
                    specs.len()
                ),
            }));
        }
        for (&out, spec) in node.outputs.iter().zip(specs) {
            let declared: DType = self.model.graph.dtypes[out as usize];
            if declared != spec.dtype {
                return Err(Error::InvalidGraph {
                    reason: format!(
                        "node {}: output {out} is declared {declared} but computed as {}",
                        node.label, spec.dtype
                    ),
                });
            }
            let what = || output_name(self.model, node, out);
            self.limits.check_shape(&what, spec.dtype, &spec.shape)?;
            state.shapes[out as usize].clone_from(&spec.shape);
        }
        Ok(())
    }

    /// Copies value `src` into the buffer of value `dst` (an If output).
    fn copy_value(
        &self,
        state: &mut RunState,
        node: &Node,
        src: ValueId,
        dst: ValueId,
    ) -> Result<()> {
        let slot = self.slot(node, dst)?;
        let mut buf = std::mem::take(&mut state.slots[slot]);
        let shape = (|| {
            let view = value_view(
                self.model,
                self.plan,
                self.inputs,
                &state.slots,
                &state.shapes,
                src,
            )?;
            if view.dtype() != self.model.graph.dtypes[dst as usize] {
                return Err(Error::InvalidGraph {
                    reason: format!(
                        "node {}: a branch yields {} for output {dst}",
                        node.label,
                        view.dtype()
                    ),
                });
            }
            let what = || output_name(self.model, node, dst);
            self.grow(state, 0, &mut buf, view.bytes().len(), &what)?;
            buf.as_bytes_mut().copy_from_slice(view.bytes());
            Ok(view.shape().to_vec())
        })();
        state.slots[slot] = buf;
        state.shapes[dst as usize] = shape?;
        Ok(())
    }
}
