//! Operator family `data`: shape and data movement (see `docs/ops/data.md`).
//!
//! Every operator here except the interpolating modes of `Resize` moves
//! elements without looking at them, so it works on every dtype: kernels
//! treat an element as `[u8; N]` (see [`common`]).

use crate::attrs::Attrs;
use crate::error::OpResult;
use crate::operator::Operator;
use pocketnn_format::OpCode;

pub(crate) mod common;
mod concat;
mod depth_space;
mod expand;
mod gather;
mod pad;
mod reshape;
mod resize;
mod slice;
mod transpose;

#[cfg(test)]
mod tests;

fn boxed<T: Operator + 'static>(op: OpResult<T>) -> OpResult<Box<dyn Operator>> {
    op.map(|o| Box::new(o) as Box<dyn Operator>)
}

/// Builds `op` if it belongs to this family.
pub(crate) fn build(op: OpCode, attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    Some(match op {
        OpCode::Concat => boxed(concat::Concat::build(attrs)),
        OpCode::Split => boxed(concat::Split::build(attrs)),
        OpCode::Slice => boxed(slice::Slice::build(attrs)),
        OpCode::Gather => boxed(gather::Gather::build(attrs)),
        OpCode::GatherElements => boxed(gather::GatherElements::build(attrs)),
        OpCode::Reshape => boxed(reshape::Reshape::build(attrs)),
        OpCode::Flatten => boxed(reshape::Flatten::build(attrs)),
        OpCode::Squeeze => boxed(reshape::Squeeze::build(attrs)),
        OpCode::Unsqueeze => boxed(reshape::Unsqueeze::build(attrs)),
        OpCode::Transpose => boxed(transpose::Transpose::build(attrs)),
        OpCode::Expand => boxed(expand::Expand::build(attrs)),
        OpCode::Tile => boxed(expand::Tile::build(attrs)),
        OpCode::Pad => boxed(pad::Pad::build(attrs)),
        OpCode::DepthToSpace => boxed(depth_space::DepthToSpace::build(attrs)),
        OpCode::SpaceToDepth => boxed(depth_space::SpaceToDepth::build(attrs)),
        OpCode::Resize => boxed(resize::Resize::build(attrs)),
        _ => return None,
    })
}
