//! Graph checks: every id in range, every value defined once, every body
//! owned by exactly one attribute (so bodies form a tree under body 0), and
//! every read of a value after its definition in an enclosing scope.
//!
//! The body tree can be as deep as the file allows, so the walks use explicit
//! stacks, never recursion.

use std::collections::{HashMap, HashSet};

use crate::error::GraphSite;
use crate::{AttrValue, BodyId, FormatError, GraphDef, NodeDef, ValueId};

fn node_site(body: usize, index: usize, node: &NodeDef) -> GraphSite {
    GraphSite::Node {
        body: body as BodyId,
        node: index as u32,
        name: node.name.clone(),
    }
}

fn value_name(graph: &GraphDef, value: ValueId) -> String {
    graph
        .values
        .get(value as usize)
        .map(|v| v.name.clone())
        .unwrap_or_default()
}

/// Runs every graph check; `tensor_count` is the number of tensor entries.
pub(super) fn check(graph: &GraphDef, tensor_count: usize) -> Result<(), FormatError> {
    if graph.bodies.is_empty() {
        return Err(FormatError::MissingMainBody);
    }
    unique_names(graph)?;
    definitions_and_ranges(graph, tensor_count)?;
    body_tree(graph)?;
    scopes(graph)
}

fn unique_names(graph: &GraphDef) -> Result<(), FormatError> {
    let mut seen: HashMap<&str, ValueId> = HashMap::with_capacity(graph.values.len());
    for (index, value) in graph.values.iter().enumerate() {
        if let Some(&first) = seen.get(value.name.as_str()) {
            return Err(FormatError::DuplicateValueName {
                name: value.name.clone(),
                first,
                second: index as ValueId,
            });
        }
        seen.insert(&value.name, index as ValueId);
    }
    Ok(())
}

/// Tracks which values have a definition anywhere in the graph.
struct Definitions<'g> {
    graph: &'g GraphDef,
    defined: Vec<bool>,
}

impl Definitions<'_> {
    /// Checks that `value` is a value id; `site` is built only on error.
    fn in_range(
        &self,
        value: ValueId,
        site: impl FnOnce() -> GraphSite,
    ) -> Result<(), FormatError> {
        if (value as usize) < self.defined.len() {
            Ok(())
        } else {
            Err(FormatError::ValueOutOfRange {
                site: site(),
                value,
                count: self.defined.len() as u64,
            })
        }
    }

    fn define(
        &mut self,
        value: ValueId,
        site: impl FnOnce() -> GraphSite,
    ) -> Result<(), FormatError> {
        self.in_range(value, site)?;
        match self.defined.get_mut(value as usize) {
            Some(slot) if !*slot => {
                *slot = true;
                Ok(())
            }
            _ => Err(FormatError::ValueDefinedTwice {
                value,
                name: value_name(self.graph, value),
            }),
        }
    }
}

/// Range checks for every value, tensor and body id; one definition per
/// value; unique attribute names per node; each body other than 0
/// referenced by exactly one attribute.
fn definitions_and_ranges(graph: &GraphDef, tensor_count: usize) -> Result<(), FormatError> {
    let mut defs = Definitions {
        graph,
        defined: vec![false; graph.values.len()],
    };
    for &value in &graph.inputs {
        defs.define(value, || GraphSite::GraphInputs)?;
    }
    for (index, value) in graph.values.iter().enumerate() {
        if let Some(tensor) = value.constant {
            if tensor as usize >= tensor_count {
                return Err(FormatError::TensorOutOfRange {
                    value: index as ValueId,
                    tensor,
                    count: tensor_count as u64,
                });
            }
            defs.define(index as ValueId, || GraphSite::GraphInputs)?;
        }
    }
    let body_count = graph.bodies.len();
    let mut referenced = vec![false; body_count];
    let mut attribute_names: HashSet<&str> = HashSet::new();
    for (b, body) in graph.bodies.iter().enumerate() {
        for (n, node) in body.nodes.iter().enumerate() {
            let site = || node_site(b, n, node);
            for &input in node.inputs.iter().flatten() {
                defs.in_range(input, site)?;
            }
            for &output in &node.outputs {
                defs.define(output, site)?;
            }
            attribute_names.clear();
            for attribute in &node.attributes {
                if !attribute_names.insert(&attribute.name) {
                    return Err(FormatError::DuplicateAttribute {
                        site: site(),
                        name: attribute.name.clone(),
                    });
                }
                let AttrValue::Body(target) = attribute.value else {
                    continue;
                };
                match referenced.get_mut(target as usize) {
                    None => {
                        return Err(FormatError::BodyOutOfRange {
                            site: site(),
                            body: target,
                            count: body_count as u64,
                        });
                    }
                    Some(_) if target == 0 => {
                        return Err(FormatError::MainBodyReferenced { site: site() });
                    }
                    Some(true) => {
                        return Err(FormatError::BodyReferencedTwice {
                            body: target,
                            site: site(),
                        });
                    }
                    Some(slot) => *slot = true,
                }
            }
        }
        for &output in &body.outputs {
            defs.in_range(output, || GraphSite::BodyOutputs { body: b as BodyId })?;
        }
    }
    if let Some(body) = referenced.iter().skip(1).position(|&r| !r) {
        return Err(FormatError::BodyUnreferenced {
            body: (body + 1) as BodyId,
        });
    }
    Ok(())
}

/// The bodies referenced from nodes of `body`, in order.
fn child_bodies(graph: &GraphDef, body: usize) -> impl Iterator<Item = BodyId> + '_ {
    graph
        .bodies
        .get(body)
        .into_iter()
        .flat_map(|b| &b.nodes)
        .flat_map(|n| &n.attributes)
        .filter_map(|a| match a.value {
            AttrValue::Body(id) => Some(id),
            _ => None,
        })
}

/// Each body has exactly one owner by now, so the bodies form a tree under
/// body 0 unless some are owned from inside themselves; those are the ones
/// not reachable from body 0.
fn body_tree(graph: &GraphDef) -> Result<(), FormatError> {
    let mut reached = vec![false; graph.bodies.len()];
    let mut pending = vec![0usize];
    if let Some(root) = reached.first_mut() {
        *root = true;
    }
    while let Some(body) = pending.pop() {
        for child in child_bodies(graph, body) {
            if let Some(slot) = reached.get_mut(child as usize)
                && !*slot
            {
                *slot = true;
                pending.push(child as usize);
            }
        }
    }
    match reached.iter().position(|&r| !r) {
        Some(body) => Err(FormatError::BodyCycle {
            body: body as BodyId,
        }),
        None => Ok(()),
    }
}

/// One body being walked: the next node, the next attribute of that node
/// to look at for a sub-body, and where this body's definitions start in
/// the trail of visible values.
struct Frame {
    body: usize,
    node: usize,
    attribute: usize,
    inputs_checked: bool,
    trail_start: usize,
}

/// Nodes read only values that are graph inputs, constants, or outputs of
/// earlier nodes in their body or in an enclosing body before the owner node.
fn scopes(graph: &GraphDef) -> Result<(), FormatError> {
    let mut visible = vec![false; graph.values.len()];
    let globals = graph.values.iter().enumerate();
    let constants = globals
        .filter(|(_, v)| v.constant.is_some())
        .map(|(i, _)| i);
    let inputs = graph.inputs.iter().map(|&v| v as usize);
    for value in constants.chain(inputs) {
        if let Some(slot) = visible.get_mut(value) {
            *slot = true;
        }
    }
    let is_visible = |visible: &[bool], v: ValueId| visible.get(v as usize).copied() == Some(true);
    let unseen = |site: GraphSite, value: ValueId| FormatError::UseBeforeDefinition {
        site,
        value,
        name: value_name(graph, value),
    };

    let mut trail: Vec<ValueId> = Vec::new();
    let mut stack = vec![Frame {
        body: 0,
        node: 0,
        attribute: 0,
        inputs_checked: false,
        trail_start: 0,
    }];
    while let Some(frame) = stack.last_mut() {
        let Some(body) = graph.bodies.get(frame.body) else {
            break; // unreachable: body ids were range-checked
        };
        let Some(node) = body.nodes.get(frame.node) else {
            // End of the body: its outputs must be visible, then its own
            // definitions go out of scope.
            for &value in &body.outputs {
                if !is_visible(&visible, value) {
                    let site = GraphSite::BodyOutputs {
                        body: frame.body as BodyId,
                    };
                    return Err(unseen(site, value));
                }
            }
            for value in trail.drain(frame.trail_start.min(trail.len())..) {
                if let Some(slot) = visible.get_mut(value as usize) {
                    *slot = false;
                }
            }
            stack.pop();
            continue;
        };
        if !frame.inputs_checked {
            for &value in node.inputs.iter().flatten() {
                if !is_visible(&visible, value) {
                    return Err(unseen(node_site(frame.body, frame.node, node), value));
                }
            }
            frame.inputs_checked = true;
        }
        let mut sub_body = None;
        while let Some(attribute) = node.attributes.get(frame.attribute) {
            frame.attribute += 1;
            if let AttrValue::Body(id) = attribute.value {
                sub_body = Some(id as usize);
                break;
            }
        }
        if let Some(body) = sub_body {
            // The sub-body sees what is visible now: not this node's outputs.
            let trail_start = trail.len();
            stack.push(Frame {
                body,
                node: 0,
                attribute: 0,
                inputs_checked: false,
                trail_start,
            });
            continue;
        }
        for &value in &node.outputs {
            if let Some(slot) = visible.get_mut(value as usize) {
                *slot = true;
                trail.push(value);
            }
        }
        frame.node += 1;
        frame.attribute = 0;
        frame.inputs_checked = false;
    }
    Ok(())
}
