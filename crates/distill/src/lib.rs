//! Knowledge distillation: train a small student network to imitate a
//! teacher model that pocketnn runs.
//!
//! The student is described by a short spec ([`StudentSpec`]:
//! `mlp:784-64-10` or `cnn:c16k3-p2-c32k3-p2-f64-f10`), trained in Rust
//! (forward and backward for Linear, Conv2d, ReLU, MaxPool and Flatten;
//! the distillation loss; Adam; seeded shuffled mini-batches; rayon with a
//! thread-count-independent gradient sum) and written as a standard ONNX
//! model or a `.pnn` file. `docs/distill.md` has the grammar, the loss and
//! measured results.
//!
//! ```no_run
//! use pocketnn_distill::{DistillOptions, Student, StudentSpec, TrainingData};
//! use std::sync::atomic::AtomicBool;
//!
//! # fn images() -> Vec<f32> { vec![] }
//! let teacher = pocketnn_distill::load_teacher("seed_mlp.onnx".as_ref())?;
//! let samples: Vec<f32> = images(); // [N, 1, 28, 28], row-major
//! let (logits, classes) =
//!     pocketnn_distill::teacher_logits(&teacher, &samples, &[1, 28, 28], 256)?;
//! let data = TrainingData::new(samples, 784, logits, classes, None)?;
//! let spec = StudentSpec::parse("mlp:784-32-10")?;
//! let student = Student::new(&spec, &[1, 28, 28], 0)?;
//! let outcome = pocketnn_distill::distill(
//!     student,
//!     &data,
//!     &DistillOptions::default(),
//!     &AtomicBool::new(false),
//!     &mut |_| {},
//! )?;
//! outcome.student.save("student.onnx".as_ref())?;
//! # Ok::<(), pocketnn_distill::DistillError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod export;
mod layers;
mod loss;
mod network;
mod rng;
mod spec;
mod teacher;
mod train;

#[cfg(test)]
mod tests;

pub use error::DistillError;
pub use export::{ONNX_OPSET, write_atomically};
pub use network::{MAX_STUDENT_VALUES, Student};
pub use spec::{CnnItem, MAX_SIZE, SpecError, SpecErrorKind, StudentSpec};
pub use teacher::{load_teacher, teacher_logits, teacher_parameters};
pub use train::{
    DistillOptions, DistillOutcome, EpochReport, GRADIENT_GROUP, Progress, TrainingData, argmax,
    distill, predict,
};
