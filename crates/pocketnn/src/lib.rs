//! pocketnn: run compressed neural networks on phones.
//!
//! A `.pnn` file (written by `pocketnn convert`) is memory-mapped and
//! validated by [`Model::load`]; its weights are used in place. A
//! [`Session`] owns the activation memory for runs of one model; many
//! sessions (one per thread) can share one model.
//!
//! ```no_run
//! use pocketnn::{Model, Session, SessionOptions};
//!
//! # fn main() -> pocketnn::Result<()> {
//! let model = Model::load("seed_mlp.pnn")?;
//! let mut session = Session::new(&model, SessionOptions { threads: 1, ..Default::default() })?;
//! let batch = ndarray::Array4::<f32>::zeros((8, 1, 28, 28));
//! let outputs = session.run(&[("input", (&batch).into())])?;
//! let logits = outputs.f32("logits")?; // shape [8, 10]
//! println!("{:?}", logits.shape());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod error;
mod exec;
mod graph;
mod io;
mod limits;
mod model;
mod plan;
mod pool;
mod session;
mod storage;

pub use error::{Error, Result};
pub use io::{Input, InputElement, Outputs, as_array};
pub use limits::Limits;
pub use model::{IoInfo, LoadOptions, Model};
pub use pocketnn_format::{self as format, DType, Dim};
pub use pocketnn_tensor::{self as tensor, Isa, Tensor, TensorView, f16};
pub use session::{Session, SessionOptions};
