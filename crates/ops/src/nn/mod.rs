//! Operator family `nn` (see `docs/ops/nn.md`): convolution, matrix
//! products, pooling and normalisation, all f32.
//!
//! | file | operators |
//! |---|---|
//! | `conv.rs`, `depthwise.rs`, `depthwise_simd.rs`, `im2col.rs` | Conv (pointwise GEMM, direct and SIMD depthwise, im2col + GEMM) |
//! | `conv_transpose.rs` | ConvTranspose (GEMM + col2im) |
//! | `gemm.rs`, `matmul.rs`, `packed.rs` | Gemm, MatMul (B possibly pre-packed) |
//! | `low_rank.rs` | LowRankLinear (pocketnn op 211: two thin products, one fused kernel) |
//! | `pool.rs`, `pool_2d.rs`, `global_pool.rs` | MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool |
//! | `norm.rs`, `layer_norm.rs`, `lrn.rs` | BatchNormalization, InstanceNormalization, LayerNormalization, LRN |
//! | `window.rs` | kernel/stride/dilation/pad attributes and output sizes |

mod common;
mod conv;
mod conv_transpose;
mod depthwise;
mod depthwise_simd;
mod gemm;
mod global_pool;
pub(crate) mod im2col;
mod layer_norm;
mod low_rank;
mod lrn;
mod matmul;
mod norm;
mod packed;
mod pool;
mod pool_2d;
mod weight;
pub(crate) mod window;

#[cfg(test)]
mod tests;

use crate::attrs::Attrs;
use crate::error::OpResult;
use crate::operator::Operator;
use pocketnn_format::OpCode;

fn boxed<T: Operator + 'static>(op: OpResult<T>) -> OpResult<Box<dyn Operator>> {
    op.map(|op| Box::new(op) as Box<dyn Operator>)
}

/// Builds `op` if it belongs to this family.
pub(crate) fn build(op: OpCode, attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    Some(match op {
        OpCode::Conv => boxed(conv::Conv::from_attrs(attrs)),
        OpCode::ConvTranspose => boxed(conv_transpose::ConvTranspose::from_attrs(attrs)),
        OpCode::Gemm => boxed(gemm::Gemm::from_attrs(attrs)),
        OpCode::MatMul => boxed(matmul::MatMul::from_attrs(attrs)),
        OpCode::MaxPool => boxed(pool::Pool::max_from_attrs(attrs)),
        OpCode::AveragePool => boxed(pool::Pool::average_from_attrs(attrs)),
        OpCode::GlobalAveragePool => boxed(Ok(global_pool::GlobalPool::AVERAGE)),
        OpCode::GlobalMaxPool => boxed(Ok(global_pool::GlobalPool::MAX)),
        OpCode::BatchNormalization => boxed(norm::BatchNormalization::from_attrs(attrs)),
        OpCode::InstanceNormalization => boxed(norm::InstanceNormalization::from_attrs(attrs)),
        OpCode::LayerNormalization => boxed(layer_norm::LayerNormalization::from_attrs(attrs)),
        OpCode::LRN => boxed(lrn::Lrn::from_attrs(attrs)),
        OpCode::LowRankLinear => boxed(low_rank::LowRankLinear::from_attrs(attrs)),
        _ => return None,
    })
}
