//! Graph passes over the converter's [`Graph`](crate::graph::Graph), each a
//! plain function with its own tests.

mod batchnorm;
mod dce;
mod fold;
mod fuse;
mod mask;
mod shapes;
#[cfg(test)]
pub(crate) mod test_ops;

pub(crate) use batchnorm::fold_batch_norms;
pub(crate) use dce::eliminate_dead_code;
pub(crate) use fold::{check_operators, fold_constants};
pub(crate) use fuse::fuse_epilogues;
pub(crate) use shapes::infer_shapes;

use pocketnn_format::{Attribute, OpCode};
use pocketnn_ops::{OpResult, Operator};
use pocketnn_tensor::Isa;

/// How passes get an operator for a node: `pocketnn_ops::build_operator`,
/// or stand-ins in tests.
pub(crate) type BuildOp<'a> = &'a dyn Fn(OpCode, &[Attribute]) -> OpResult<Box<dyn Operator>>;

/// The kernel tier constant folding uses: the scalar reference, so the
/// folded values do not depend on the machine that converted the model.
pub(crate) const FOLD_ISA: Isa = Isa::Scalar;

/// What the passes did, for the conversion report.
#[derive(Clone, Debug, Default)]
pub(crate) struct PassLog {
    /// Nodes replaced by constants (constant folding and shape folding).
    pub folded_nodes: usize,
    /// Names of the values that became constants.
    pub folded_values: Vec<String>,
    /// `BatchNormalization` nodes folded into a `Conv` or `Gemm`.
    pub batch_norms_folded: usize,
    /// Activations fused into the `Conv`, `Gemm` or `MatMul` before them.
    pub activations_fused: usize,
    /// Residual `Add`s fused into the `Conv` before them.
    pub residual_adds_fused: usize,
    /// Zero `Pad`s folded into the pads of the `Conv` after them.
    pub pads_folded: usize,
    /// Nodes removed because nothing used their results.
    pub dead_nodes: usize,
    /// Things the user should know (a node whose shapes could not be
    /// inferred, an operator that could not be evaluated ...).
    pub warnings: Vec<String>,
}

impl PassLog {
    /// Adds a warning unless the same text was already recorded.
    pub fn warn(&mut self, text: String) {
        if !self.warnings.contains(&text) {
            self.warnings.push(text);
        }
    }
}
