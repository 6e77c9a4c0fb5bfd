//! `--input NAME=FILE.npy` arguments.

use crate::CliResult;
use crate::error::CliError;
use crate::npy::read_npy;
use pocketnn::Tensor;
use std::path::PathBuf;

/// Parses and reads every `NAME=FILE.npy` argument.
pub fn read_inputs(args: &[String]) -> CliResult<Vec<(String, Tensor)>> {
    args.iter()
        .map(|arg| {
            let (name, file) = arg.split_once('=').ok_or_else(|| {
                CliError::Usage(format!("--input expects NAME=FILE.npy, got `{arg}`"))
            })?;
            if name.is_empty() || file.is_empty() {
                return Err(CliError::Usage(format!(
                    "--input expects NAME=FILE.npy, got `{arg}`"
                )));
            }
            Ok((name.to_string(), read_npy(&PathBuf::from(file))?))
        })
        .collect()
}
