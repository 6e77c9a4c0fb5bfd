//! Compute kernels. Each kernel family has a scalar reference and SIMD
//! variants per [`crate::isa::Isa`] tier, behind one safe entry point.

pub mod activation;
pub mod depthwise;
pub mod gemm;
pub mod hgemm;
pub mod layer_norm;
pub mod lowrank;
pub mod qgemm;
pub mod quantize;
pub mod softmax;
pub mod sparse;
pub mod transpose;
pub mod widen;
// The masks, f64 accumulators and reductions of the vector layer serve the
// softmax / normalisation / pooling kernels; until all of them exist some
// are unused.
#[allow(dead_code)]
pub(crate) mod simd;
