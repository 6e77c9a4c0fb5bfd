//! Compute kernels. Each kernel family has a scalar reference and SIMD
//! variants per [`crate::isa::Isa`] tier, behind one safe entry point.

pub mod activation;
pub mod gemm;
pub(crate) mod simd;
