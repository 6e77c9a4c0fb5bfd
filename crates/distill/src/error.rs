//! The crate's error type.

use std::path::PathBuf;

/// Why a distillation step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DistillError {
    /// The student description does not follow the grammar.
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    /// The student does not fit the data (input size or class count).
    #[error("the student does not fit the data: {0}")]
    Mismatch(String),
    /// The data set is unusable (empty, too small to split, bad labels).
    #[error("bad data: {0}")]
    Data(String),
    /// A training option is out of range.
    #[error("bad option: {0}")]
    Option(String),
    /// The teacher could not be loaded or run.
    #[error("teacher: {0}")]
    Teacher(#[from] pocketnn::Error),
    /// The student could not be converted to `.pnn`.
    #[error("writing the student as .pnn: {0}")]
    Convert(#[from] pocketnn_convert::ConvertError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}
