//! `--prune`: magnitude pruning of the layers with constant weights, and
//! the lowering of zero-heavy layers to the sparse operators.
//!
//! 1. [`apply`] runs after BatchNorm folding and fusion, before
//!    quantization. Unstructured and block patterns zero weights in place
//!    (the model stays dense, with zeros, so quantization composes:
//!    symmetric int8 maps 0 to 0); `channel` deletes whole output channels
//!    and shrinks the layers that read them ([`channel`]).
//! 2. [`lower`] runs after quantization: a pruned layer whose measured
//!    density is below the break-even density of its kernel ([`cost`])
//!    becomes `SparseLinear`, `SparseConv` or `SparseQLinearConv`
//!    (`docs/ops/sparse.md`); the others stay dense with their zeros.
//!
//! Every layer looked at gets a [`PruneLayerReport`]; `docs/compression.md`
//! describes the options, the cost model and the report.

mod channel;
mod cost;
mod lower;
mod magnitude;
mod weights;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_channel;
#[cfg(test)]
mod tests_lower;

pub(crate) use lower::lower;
pub(crate) use weights::prunable;

use crate::graph::Graph;
use crate::passes::PassLog;
use std::fmt;
use std::str::FromStr;
use weights::Prunable;

/// Which weights `--prune` removes together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrunePattern {
    /// Single weights, smallest magnitude first (`unstructured`).
    #[default]
    Unstructured,
    /// Blocks of 1 output × 4 consecutive inputs, by L2 norm (`1x4`).
    Row1x4,
    /// Blocks of 4 consecutive outputs × 1 input, by L2 norm (`4x1`).
    Col4x1,
    /// The 2 smallest of every 4 consecutive inputs of an output (`2:4`,
    /// always half the weights).
    TwoOfFour,
    /// Whole output channels / neurons by L1 norm, shrinking the model
    /// (`channel`).
    Channel,
}

impl PrunePattern {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PrunePattern::Unstructured => "unstructured",
            PrunePattern::Row1x4 => "1x4",
            PrunePattern::Col4x1 => "4x1",
            PrunePattern::TwoOfFour => "2:4",
            PrunePattern::Channel => "channel",
        }
    }
}

impl fmt::Display for PrunePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PrunePattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "unstructured" => Ok(PrunePattern::Unstructured),
            "1x4" => Ok(PrunePattern::Row1x4),
            "4x1" => Ok(PrunePattern::Col4x1),
            "2:4" => Ok(PrunePattern::TwoOfFour),
            "channel" => Ok(PrunePattern::Channel),
            other => Err(format!(
                "unknown prune pattern `{other}` (expected unstructured, 1x4, 4x1, 2:4 or channel)"
            )),
        }
    }
}

/// What `--prune` removes.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Pruning {
    /// Fraction of the weights (or blocks, or channels) removed, in `[0, 1)`.
    pub sparsity: f32,
    /// Which weights go together.
    pub pattern: PrunePattern,
    /// One threshold per layer (`true`) instead of one over all layers.
    pub per_layer: bool,
    /// Keep every layer dense with its zeros (no sparse operators), e.g.
    /// for a runtime without them.
    pub keep_dense: bool,
}

impl Pruning {
    /// `sparsity` of `pattern` with one global threshold.
    pub fn new(sparsity: f32, pattern: PrunePattern) -> Pruning {
        Pruning {
            sparsity,
            pattern,
            per_layer: false,
            keep_dense: false,
        }
    }
}

/// What pruning (and the sparse lowering) did to one layer.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PruneLayerReport {
    /// The node's name.
    pub name: String,
    /// Its operator before pruning (`Conv`, `Gemm`, `MatMul`).
    pub op: String,
    /// Weights (non-zero count) before.
    pub params_before: u64,
    /// Non-zero weights after.
    pub params_after: u64,
    /// Bytes of its constant inputs before.
    pub bytes_before: u64,
    /// Bytes of the constant inputs of what it became (after quantization
    /// and lowering).
    pub bytes_after: u64,
    /// FLOPs per sample before (a multiply-add counts 2).
    pub flops_before: u64,
    /// FLOPs per sample after: the dense count when it stays dense (the
    /// zeros are still multiplied), the stored values when sparse, the
    /// shrunk shape for `channel`.
    pub flops_after: u64,
    /// Share of its weights that are zero after pruning.
    pub sparsity: f64,
    /// How it is stored: `dense`, `sparse csr` ..., or `skipped`.
    pub storage: String,
    /// Why (the cost model's figures, or why the layer was left alone).
    pub reason: String,
}

fn error(reason: impl Into<String>) -> crate::ConvertError {
    crate::ConvertError::Pruning {
        reason: reason.into(),
    }
}

/// Prunes `graph` in place as `pruning` asks; one report line per layer
/// with weights.
pub(crate) fn apply(
    graph: &mut Graph,
    pruning: &Pruning,
    log: &mut PassLog,
) -> Result<Vec<PruneLayerReport>, crate::ConvertError> {
    if !(0.0..1.0).contains(&pruning.sparsity) {
        return Err(error(format!(
            "sparsity {} is outside [0, 1)",
            pruning.sparsity
        )));
    }
    let mut layers: Vec<Prunable> = Vec::new();
    let mut reports = Vec::new();
    let nodes = graph
        .bodies
        .first()
        .map(|b| b.nodes.clone())
        .unwrap_or_default();
    for (index, node) in nodes.iter().enumerate() {
        match weights::prunable(graph, index, node) {
            Ok(Some(layer)) => layers.push(layer),
            Ok(None) => {}
            Err(reason) => reports.push(skipped(graph, node, reason)),
        }
    }
    if pruning.pattern == PrunePattern::Channel {
        reports.extend(channel::apply(graph, &layers, pruning)?);
        return Ok(reports);
    }
    if pruning.pattern == PrunePattern::TwoOfFour && pruning.sparsity != 0.5 {
        log.warn(format!(
            "--prune-pattern 2:4 always removes half the weights; --prune {} is not used",
            pruning.sparsity
        ));
    }
    reports.extend(magnitude::apply(graph, &layers, pruning)?);
    Ok(reports)
}

/// The report line of a weighted node left alone.
fn skipped(graph: &Graph, node: &crate::graph::Node, reason: String) -> PruneLayerReport {
    let bytes = constant_bytes(graph, node);
    PruneLayerReport {
        name: node.name.clone(),
        op: node.op.name().to_string(),
        params_before: 0,
        params_after: 0,
        bytes_before: bytes,
        bytes_after: bytes,
        flops_before: 0,
        flops_after: 0,
        sparsity: 0.0,
        storage: "skipped".into(),
        reason,
    }
}

/// Bytes of a node's constant inputs.
pub(crate) fn constant_bytes(graph: &Graph, node: &crate::graph::Node) -> u64 {
    node.inputs
        .iter()
        .flatten()
        .filter_map(|&id| graph.constant(id))
        .map(|t| t.bytes().len() as u64)
        .sum()
}

/// Non-zero values of an f32 constant.
pub(crate) fn nonzero_f32(graph: &Graph, id: crate::graph::ValueId) -> u64 {
    graph
        .constant(id)
        .and_then(|t| t.as_slice::<f32>().ok())
        .map_or(0, |w| w.iter().filter(|&&v| v != 0.0).count() as u64)
}

/// A layer's figures before pruning, to build its report line after.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PrunableReportParts {
    params: u64,
    bytes: u64,
    flops: u64,
}

impl PrunableReportParts {
    /// Measures `layer` as it is now.
    pub(crate) fn measure(graph: &Graph, layer: &Prunable) -> PrunableReportParts {
        let params = (layer.m as u64).saturating_mul(layer.k as u64);
        let bytes = graph
            .bodies
            .first()
            .and_then(|b| b.nodes.get(layer.node))
            .map_or(0, |n| constant_bytes(graph, n));
        PrunableReportParts {
            params,
            bytes,
            flops: layer.flops(params),
        }
    }

    /// The report line of `layer` pruned in place (still dense).
    pub(crate) fn report(self, graph: &Graph, layer: &Prunable) -> PruneLayerReport {
        let nonzero = nonzero_f32(graph, layer.weight);
        PruneLayerReport {
            name: layer.name.clone(),
            op: layer.op.name().to_string(),
            params_before: self.params,
            params_after: nonzero,
            bytes_before: self.bytes,
            bytes_after: self.bytes,
            flops_before: self.flops,
            flops_after: self.flops,
            sparsity: 1.0 - nonzero as f64 / self.params.max(1) as f64,
            storage: "dense".into(),
            reason: "zeros kept in the dense weights".into(),
        }
    }
}
