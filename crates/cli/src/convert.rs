//! `pocketnn convert IN.onnx -o OUT.pnn [--quantize MODE]`

use crate::CliResult;
use pocketnn_convert::{ConvertOptions, Quantization, convert_file};
use std::path::Path;

/// Converts, writes atomically, prints a short report.
pub fn run(input: &Path, output: &Path, quantize: Option<Quantization>) -> CliResult {
    let mut options = ConvertOptions::default();
    options.quantize = quantize;
    let report = convert_file(input, output, &options)?;
    print!("{report}");
    println!("wrote {}", output.display());
    Ok(())
}
