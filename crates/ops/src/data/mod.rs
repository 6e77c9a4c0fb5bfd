//! Operator family `data` (see `docs/ops.md`).

use crate::attrs::Attrs;
use crate::error::OpResult;
use crate::operator::Operator;
use pocketnn_format::OpCode;

/// Builds `op` if it belongs to this family.
pub(crate) fn build(op: OpCode, attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    let _ = (op, attrs);
    None
}
