//! What a conversion did, for people and for tests.

use std::collections::BTreeMap;
use std::fmt;

/// A summary of one conversion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}
