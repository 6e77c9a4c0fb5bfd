//! pocketnn's tensors and compute kernels.
//!
//! * [`Tensor`], [`TensorView`] and [`TensorViewMut`]: a dtype, a shape and
//!   row-major bytes, with checked typed access;
//! * [`AlignedBuf`]: 64-byte aligned storage for activations and scratch;
//! * [`isa`]: run-time detection of the CPU's SIMD tier, cached, with the
//!   `POCKETNN_ISA` override;
//! * [`kernels`]: the hot loops (GEMM first), each with a scalar reference
//!   twin and SIMD variants per tier.
#![deny(missing_docs)]

mod buffer;
mod error;
pub mod features;
pub mod isa;
pub mod kernels;
mod tensor;
#[cfg(test)]
mod test_util;

pub use buffer::{AlignedBuf, BUFFER_ALIGN};
pub use error::TensorError;
pub use features::Feature;
pub use half::f16;
pub use isa::{Isa, IsaError};
pub use pocketnn_format::DType;
pub use tensor::{Element, Tensor, TensorView, TensorViewMut, byte_size, num_elements, strides};
