//! What a conversion did, for people and for tests.

use crate::lowrank::{LowRank, LowRankLayer};
use crate::model_cost::ModelCost;
use crate::prune::{PruneLayerReport, Pruning};
use crate::quantize::{LayerReport, Quantization};
use std::collections::BTreeMap;
use std::fmt;

/// A summary of one conversion.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ConvertReport {
    /// The model's opset of the default ONNX domain.
    pub opset: i64,
    /// ONNX nodes per op type in the input (subgraphs included).
    pub ops_before: BTreeMap<String, usize>,
    /// pocketnn nodes per op in the output (subgraphs included).
    pub ops_after: BTreeMap<String, usize>,
    /// Nodes replaced by constants (constant folding and shape folding).
    pub folded_nodes: usize,
    /// Names of the values that became constants.
    pub folded_values: Vec<String>,
    /// `BatchNormalization` nodes folded into the `Conv` or `Gemm` before them.
    pub batch_norms_folded: usize,
    /// Activations fused into the `Conv`, `Gemm` or `MatMul` before them
    /// (a `Mul(y, Sigmoid(y))` pair counts once).
    pub activations_fused: usize,
    /// Residual `Add`s fused into the `Conv` before them.
    pub residual_adds_fused: usize,
    /// Zero `Pad`s folded into the pads of the `Conv` after them.
    pub pads_folded: usize,
    /// Nodes removed: `Identity` and `Dropout` at import, and nodes whose
    /// results nothing used.
    pub removed_nodes: usize,
    /// Things that did not stop the conversion but should be known (an
    /// operator that could not be evaluated, a shape that could not be
    /// inferred ...).
    pub warnings: Vec<String>,
    /// The quantization applied, if any.
    pub quantization: Option<Quantization>,
    /// One line per layer the quantization looked at.
    pub layers: Vec<LayerReport>,
    /// The pruning applied, if any.
    pub pruning: Option<Pruning>,
    /// One line per layer with weights pruning looked at.
    pub pruned_layers: Vec<PruneLayerReport>,
    /// The low-rank factorization applied, if any.
    pub low_rank: Option<LowRank>,
    /// One line per layer with a constant weight the low-rank pass looked at.
    pub low_rank_layers: Vec<LowRankLayer>,
    /// Parameters and FLOPs of the weight layers of the imported model
    /// (after folding, before compression).
    pub cost_before: ModelCost,
    /// The same after low-rank factorization and pruning (quantization
    /// changes neither count).
    pub cost_after: ModelCost,
}

impl ConvertReport {
    /// Total nodes in the input.
    pub fn nodes_before(&self) -> usize {
        self.ops_before.values().sum()
    }

    /// Total nodes in the output.
    pub fn nodes_after(&self) -> usize {
        self.ops_after.values().sum()
    }
}

impl fmt::Display for ConvertReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "opset {}: {} ONNX nodes -> {} pocketnn nodes",
            self.opset,
            self.nodes_before(),
            self.nodes_after()
        )?;
        let ops: std::collections::BTreeSet<&String> = self
            .ops_before
            .keys()
            .chain(self.ops_after.keys())
            .collect();
        for op in ops {
            let before = self.ops_before.get(op).copied().unwrap_or(0);
            let after = self.ops_after.get(op).copied().unwrap_or(0);
            writeln!(f, "  {op:<24} {before:>6} -> {after:>6}")?;
        }
        writeln!(
            f,
            "folded {} node(s) into {} constant(s), folded {} BatchNormalization(s), removed {} node(s)",
            self.folded_nodes,
            self.folded_values.len(),
            self.batch_norms_folded,
            self.removed_nodes
        )?;
        writeln!(
            f,
            "fused {} activation(s) and {} residual Add(s) into Conv/Gemm/MatMul, {} Pad(s) into Conv",
            self.activations_fused, self.residual_adds_fused, self.pads_folded
        )?;
        let (before, after) = (self.cost_before, self.cost_after);
        if before.params > 0 {
            writeln!(
                f,
                "weight layers: {} -> {} parameters, {} -> {} FLOPs per sample",
                before.params, after.params, before.flops, after.flops
            )?;
        }
        if let Some(mode) = self.low_rank {
            crate::lowrank::write_table(f, mode, &self.low_rank_layers)?;
        }
        if let Some(mode) = self.quantization {
            write_layers(f, mode, &self.layers)?;
        }
        if let Some(pruning) = &self.pruning {
            write_pruned(f, pruning, &self.pruned_layers)?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

/// The per-layer quantization table and its totals.
fn write_layers(
    f: &mut fmt::Formatter<'_>,
    mode: Quantization,
    layers: &[LayerReport],
) -> fmt::Result {
    writeln!(f, "quantization {mode}:")?;
    writeln!(
        f,
        "  {:<28} {:<8} {:>12} {:>12} {:>9}  note",
        "layer", "op", "bytes before", "bytes after", "SQNR dB"
    )?;
    for layer in layers {
        let sqnr = layer
            .sqnr_db
            .map_or_else(|| "-".to_string(), |db| format!("{db:.1}"));
        let note = match &layer.kept_float {
            Some(reason) => format!("kept float: {reason}"),
            None => String::new(),
        };
        writeln!(
            f,
            "  {:<28} {:<8} {:>12} {:>12} {:>9}  {note}",
            layer.name, layer.op, layer.bytes_before, layer.bytes_after, sqnr
        )?;
    }
    let before: u64 = layers.iter().map(|l| l.bytes_before).sum();
    let after: u64 = layers.iter().map(|l| l.bytes_after).sum();
    let quantized = layers.iter().filter(|l| l.kept_float.is_none()).count();
    let ratio = if after == 0 {
        0.0
    } else {
        before as f64 / after as f64
    };
    writeln!(
        f,
        "  total: {quantized} of {} layer(s) quantized, weights {before} -> {after} bytes ({ratio:.2}x smaller)",
        layers.len()
    )
}

/// A count with a k/M suffix.
fn short(n: u64) -> String {
    match n {
        0..10_000 => n.to_string(),
        10_000..10_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// The per-layer pruning table and its totals.
fn write_pruned(
    f: &mut fmt::Formatter<'_>,
    pruning: &Pruning,
    layers: &[PruneLayerReport],
) -> fmt::Result {
    writeln!(
        f,
        "pruning {} {} ({}):",
        pruning.pattern,
        pruning.sparsity,
        if pruning.per_layer {
            "per layer"
        } else {
            "global threshold"
        }
    )?;
    writeln!(
        f,
        "  {:<20} {:<6} {:>17} {:>19} {:>17} {:>8}  {:<11} why",
        "layer", "op", "params", "bytes", "FLOPs", "sparsity", "storage"
    )?;
    let arrow = |a: u64, b: u64| format!("{} -> {}", short(a), short(b));
    for l in layers {
        writeln!(
            f,
            "  {:<20} {:<6} {:>17} {:>19} {:>17} {:>7.1}%  {:<11} {}",
            l.name,
            l.op,
            arrow(l.params_before, l.params_after),
            arrow(l.bytes_before, l.bytes_after),
            arrow(l.flops_before, l.flops_after),
            l.sparsity * 100.0,
            l.storage,
            l.reason
        )?;
    }
    let sum = |g: fn(&PruneLayerReport) -> u64| layers.iter().map(g).sum::<u64>();
    let (pb, pa) = (sum(|l| l.params_before), sum(|l| l.params_after));
    let (bb, ba) = (sum(|l| l.bytes_before), sum(|l| l.bytes_after));
    let (fb, fa) = (sum(|l| l.flops_before), sum(|l| l.flops_after));
    let sparse = layers
        .iter()
        .filter(|l| l.storage.starts_with("sparse"))
        .count();
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    writeln!(
        f,
        "  total: params {} ({:.2}x fewer), bytes {} ({:.2}x smaller), FLOPs {} ({:.2}x fewer); {sparse} of {} layer(s) sparse",
        arrow(pb, pa),
        ratio(pb, pa),
        arrow(bb, ba),
        ratio(bb, ba),
        arrow(fb, fa),
        ratio(fb, fa),
        layers.len()
    )
}
