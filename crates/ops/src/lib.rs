//! pocketnn's operators.
//!
//! Each operator is a struct built once from a node's attributes
//! ([`build_operator`]) and implementing [`Operator`]: shape inference
//! (`infer`) plus execution (`run`) over `pocketnn-tensor` views and kernels.
//! Operator semantics follow ONNX at opset 21 unless `docs/ops.md` says
//! otherwise; the converter maps older opsets onto them.
//!
//! Families: [`elementwise`](crate) (unary, binary, comparison, reductions,
//! softmax, tensor creation), `nn` (convolution, matrix products, pooling,
//! normalisation), `data` (shape and data movement), `quant` (int8) and
//! `sparse` (layers with sparse constant weights).
#![deny(missing_docs)]

pub mod attrs;
mod data;
mod elementwise;
mod error;
mod eval;
pub mod fused;
pub(crate) mod nn;
mod operator;
mod parallel;
mod quant;
mod registry;
mod sparse;
pub mod util;

pub use error::{OpError, OpResult};
pub use eval::eval;
pub use operator::{InputInfo, Operator, OutputSpec, RunContext};
pub use registry::build_operator;
