//! pocketnn's operators.
//!
//! Each operator is a struct built once from a node's attributes
//! ([`build_operator`]) and implementing [`Operator`]: shape inference
//! (`infer`) plus execution (`run`) over `pocketnn-tensor` views and kernels.
//! Operator semantics follow ONNX at opset 21 unless `docs/ops.md` says
//! otherwise; the converter maps older opsets onto them.
#![deny(missing_docs)]

pub mod attrs;
mod error;
mod operator;
mod registry;
pub mod util;

pub use error::{OpError, OpResult};
pub use operator::{InputInfo, Operator, OutputSpec, RunContext};
pub use registry::build_operator;
