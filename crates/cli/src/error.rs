//! The command's errors: each becomes one line on stderr and an exit code.

use std::path::PathBuf;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line is wrong (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// A runtime error (loading or running a model).
    #[error(transparent)]
    Runtime(#[from] pocketnn::Error),
    /// A conversion error.
    #[error(transparent)]
    Convert(#[from] pocketnn_convert::ConvertError),
    /// A `.npy` file could not be read or written.
    #[error("{}: {reason}", path.display())]
    Npy {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Another I/O error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            _ => 1,
        }
    }
}
