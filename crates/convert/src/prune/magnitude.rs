//! Magnitude pruning in place: single weights by `|w|`, 1×4 / 4×1 blocks by
//! their L2 norm (blocks laid out on the `M × K` matrix the sparse kernels
//! use), 2:4 by keeping the two largest of every four consecutive inputs.
//! One threshold over all layers, or one per layer.

use super::weights::Prunable;
use super::{PrunableReportParts, PruneLayerReport, PrunePattern, Pruning, error};
use crate::ConvertError;
use crate::graph::Graph;

/// The pruned units of a layer: single weights or blocks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Units {
    /// Block rows (outputs per unit) and columns (inputs per unit).
    rows: usize,
    cols: usize,
    /// Units along the outputs and the inputs.
    across: usize,
    down: usize,
}

impl Units {
    pub(crate) fn of(layer: &Prunable, pattern: PrunePattern) -> Units {
        let (rows, cols) = match pattern {
            PrunePattern::Row1x4 => (1, 4),
            PrunePattern::Col4x1 => (4, 1),
            _ => (1, 1),
        };
        Units {
            rows,
            cols,
            down: layer.m.div_ceil(rows),
            across: layer.k.div_ceil(cols),
        }
    }

    fn count(&self) -> usize {
        self.down * self.across
    }

    /// The `(o, i)` of unit `u` (block edges clipped to the matrix).
    fn elements(&self, layer: &Prunable, u: usize) -> impl Iterator<Item = (usize, usize)> {
        let (b, g) = (u / self.across.max(1), u % self.across.max(1));
        let (m, k, rows, cols) = (layer.m, layer.k, self.rows, self.cols);
        (b * rows..((b + 1) * rows).min(m))
            .flat_map(move |o| (g * cols..((g + 1) * cols).min(k)).map(move |i| (o, i)))
    }
}

/// The weights of `layer` as f32.
fn weights<'g>(graph: &'g Graph, layer: &Prunable) -> Result<&'g [f32], ConvertError> {
    graph
        .constant(layer.weight)
        .and_then(|t| t.as_slice::<f32>().ok())
        .ok_or_else(|| error(format!("{}: weights are not f32 constants", layer.name)))
}

/// The L2 norm of every unit (`|w|` for single weights).
fn scores(graph: &Graph, layer: &Prunable, units: Units) -> Result<Vec<f32>, ConvertError> {
    let w = weights(graph, layer)?;
    (0..units.count())
        .map(|u| {
            let mut sum = 0.0f64;
            for (o, i) in units.elements(layer, u) {
                let v = f64::from(*w.get(layer.index(o, i)).ok_or_else(|| {
                    error(format!(
                        "{}: weights shorter than {}×{}",
                        layer.name, layer.m, layer.k
                    ))
                })?);
                sum += v * v;
            }
            Ok(sum.sqrt() as f32)
        })
        .collect()
}

/// Which units of each layer to remove: the `count` lowest scores of all
/// `scores` (ties broken in layer, then unit order).
fn lowest(scores: &[Vec<f32>], count: usize) -> Vec<Vec<bool>> {
    let mut remove: Vec<Vec<bool>> = scores.iter().map(|s| vec![false; s.len()]).collect();
    if count == 0 {
        return remove;
    }
    let mut all: Vec<f32> = scores.iter().flatten().copied().collect();
    let Some(nth) = count.checked_sub(1).filter(|&n| n < all.len()) else {
        remove.iter_mut().for_each(|r| r.fill(true));
        return remove;
    };
    let (_, &mut threshold, _) = all.select_nth_unstable_by(nth, f32::total_cmp);
    let below = scores.iter().flatten().filter(|&&s| s < threshold).count();
    let mut ties = count.saturating_sub(below);
    for (layer, flags) in scores.iter().zip(remove.iter_mut()) {
        for (&s, flag) in layer.iter().zip(flags.iter_mut()) {
            if s < threshold {
                *flag = true;
            } else if s == threshold && ties > 0 {
                *flag = true;
                ties -= 1;
            }
        }
    }
    remove
}

/// Units to remove for a requested sparsity among `total` units.
fn unit_count(total: usize, sparsity: f32) -> usize {
    ((total as f64) * f64::from(sparsity)).round() as usize
}

/// Prunes every layer of `layers` as `pruning` asks.
pub(super) fn apply(
    graph: &mut Graph,
    layers: &[Prunable],
    pruning: &Pruning,
) -> Result<Vec<PruneLayerReport>, ConvertError> {
    let before: Vec<PrunableReportParts> = layers
        .iter()
        .map(|l| PrunableReportParts::measure(graph, l))
        .collect();
    if pruning.pattern == PrunePattern::TwoOfFour {
        for layer in layers {
            two_of_four(graph, layer)?;
        }
    } else {
        let units: Vec<Units> = layers
            .iter()
            .map(|l| Units::of(l, pruning.pattern))
            .collect();
        let scores: Vec<Vec<f32>> = layers
            .iter()
            .zip(&units)
            .map(|(l, &u)| scores(graph, l, u))
            .collect::<Result<_, _>>()?;
        let remove: Vec<Vec<bool>> = if pruning.per_layer {
            scores
                .iter()
                .map(|s| {
                    let count = unit_count(s.len(), pruning.sparsity);
                    lowest(std::slice::from_ref(s), count)
                        .pop()
                        .unwrap_or_default()
                })
                .collect()
        } else {
            let total = scores.iter().map(Vec::len).sum();
            lowest(&scores, unit_count(total, pruning.sparsity))
        };
        for ((layer, &units), flags) in layers.iter().zip(&units).zip(&remove) {
            let w = weights_mut(graph, layer)?;
            for (u, _) in flags.iter().enumerate().filter(|(_, r)| **r) {
                for (o, i) in units.elements(layer, u) {
                    if let Some(v) = w.get_mut(layer.index(o, i)) {
                        *v = 0.0;
                    }
                }
            }
        }
    }
    Ok(layers
        .iter()
        .zip(before)
        .map(|(layer, before)| before.report(graph, layer))
        .collect())
}

fn weights_mut<'g>(graph: &'g mut Graph, layer: &Prunable) -> Result<&'g mut [f32], ConvertError> {
    graph
        .values
        .get_mut(layer.weight)
        .and_then(|v| v.constant.as_mut())
        .and_then(|t| t.as_slice_mut::<f32>().ok())
        .ok_or_else(|| error(format!("{}: weights are not f32 constants", layer.name)))
}

/// Zeroes the two smallest `|w|` of every four consecutive inputs of each
/// output (a shorter last group keeps its two largest).
fn two_of_four(graph: &mut Graph, layer: &Prunable) -> Result<(), ConvertError> {
    let w = weights_mut(graph, layer)?;
    for o in 0..layer.m {
        for start in (0..layer.k).step_by(4) {
            let mut group: Vec<(f32, usize)> = (start..(start + 4).min(layer.k))
                .filter_map(|i| {
                    let at = layer.index(o, i);
                    w.get(at).map(|v| (v.abs(), at))
                })
                .collect();
            if group.len() <= 2 {
                continue;
            }
            // Largest first; ties keep the earlier input.
            group.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(_, at) in group.iter().skip(2) {
                if let Some(v) = w.get_mut(at) {
                    *v = 0.0;
                }
            }
        }
    }
    Ok(())
}
