//! Dead-code elimination: drop nodes whose results reach no graph output,
//! and subgraph bodies no live node owns. Constants nothing reads are left
//! out when the graph is exported.

use crate::graph::Graph;
use pocketnn_format::AttrValue;

/// Removes dead nodes and unreferenced bodies; returns how many nodes went.
pub(crate) fn eliminate_dead_code(graph: &mut Graph) -> usize {
    let mut live_values = vec![false; graph.values.len()];
    let mut live_nodes: Vec<Vec<bool>> = graph
        .bodies
        .iter()
        .map(|b| vec![false; b.nodes.len()])
        .collect();
    let mut live_bodies = vec![false; graph.bodies.len()];
    mark_body(
        graph,
        0,
        &mut live_values,
        &mut live_nodes,
        &mut live_bodies,
    );

    let mut removed = 0;
    for (body, live) in graph.bodies.iter_mut().zip(&live_nodes) {
        let before = body.nodes.len();
        let mut keep = live.iter();
        body.nodes.retain(|_| keep.next().copied().unwrap_or(true));
        removed += before - body.nodes.len();
    }
    compact_bodies(graph, &live_bodies);
    removed
}

/// Marks what body `b` needs to produce its outputs.
fn mark_body(
    graph: &Graph,
    b: usize,
    live_values: &mut [bool],
    live_nodes: &mut [Vec<bool>],
    live_bodies: &mut [bool],
) {
    let Some(body) = graph.bodies.get(b) else {
        return;
    };
    if let Some(l) = live_bodies.get_mut(b) {
        *l = true;
    }
    for &o in &body.outputs {
        if let Some(l) = live_values.get_mut(o) {
            *l = true;
        }
    }
    for (n, node) in body.nodes.iter().enumerate().rev() {
        let live = node
            .outputs
            .iter()
            .any(|&o| live_values.get(o).copied().unwrap_or(false));
        if !live {
            continue;
        }
        if let Some(l) = live_nodes.get_mut(b).and_then(|v| v.get_mut(n)) {
            *l = true;
        }
        for &i in node.inputs.iter().flatten() {
            if let Some(l) = live_values.get_mut(i) {
                *l = true;
            }
        }
        // Subgraphs read outer values defined before this node, which the
        // reverse walk has not reached yet.
        for sub in node.bodies() {
            mark_body(graph, sub, live_values, live_nodes, live_bodies);
        }
    }
}

/// Drops dead bodies and renumbers the `Body` attributes of the rest.
fn compact_bodies(graph: &mut Graph, live: &[bool]) {
    if live.iter().all(|&l| l) {
        return;
    }
    let mut new_id = vec![None; live.len()];
    let mut next = 0u32;
    for (old, &l) in live.iter().enumerate() {
        if l {
            new_id[old] = Some(next);
            next += 1;
        }
    }
    let mut index = 0;
    graph.bodies.retain(|_| {
        let keep = live.get(index).copied().unwrap_or(true);
        index += 1;
        keep
    });
    for body in &mut graph.bodies {
        for node in &mut body.nodes {
            for attr in &mut node.attributes {
                if let AttrValue::Body(b) = &mut attr.value
                    && let Some(Some(n)) = usize::try_from(*b).ok().and_then(|i| new_id.get(i))
                {
                    *b = *n;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
