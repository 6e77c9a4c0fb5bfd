//! `pocketnn convert IN.onnx -o OUT.pnn`

use crate::CliResult;
use pocketnn_convert::{ConvertOptions, convert_file};
use std::path::Path;

/// Converts, writes atomically, prints a short report.
pub fn run(input: &Path, output: &Path) -> CliResult {
    let report = convert_file(input, output, &ConvertOptions::default())?;
    print!("{report}");
    println!("wrote {}", output.display());
    Ok(())
}
