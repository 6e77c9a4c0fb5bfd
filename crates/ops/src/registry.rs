//! From an op code and its attributes to a ready [`Operator`].

use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::Operator;
use crate::{data, elementwise, nn, quant, sparse};
use pocketnn_format::{Attribute, OpCode};

/// Builds the operator for `op` with these attributes, validating them.
///
/// `If` is not an [`Operator`]: the runtime executes its subgraphs itself.
pub fn build_operator(op: OpCode, attributes: &[Attribute]) -> OpResult<Box<dyn Operator>> {
    let attrs = Attrs::new(attributes);
    elementwise::build(op, &attrs)
        .or_else(|| nn::build(op, &attrs))
        .or_else(|| data::build(op, &attrs))
        .or_else(|| quant::build(op, &attrs))
        .or_else(|| sparse::build(op, &attrs))
        .unwrap_or_else(|| {
            Err(OpError::Unsupported {
                what: format!("operator {op}"),
            })
        })
}
