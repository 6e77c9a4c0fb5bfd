//! `pocketnn convert IN.onnx -o OUT.pnn [--low-rank R|energy:E] [--quantize MODE] [--calibrate X.npy ...]`

use crate::CliResult;
use crate::error::CliError;
use pocketnn_convert::{
    Calibration, CalibrationMethod, ConvertOptions, DEFAULT_MIN_SQNR_DB, LowRank, Quantization,
    convert_file,
};
use std::path::{Path, PathBuf};

/// The calibration options of `--quantize int8`.
#[derive(clap::Args, Debug, Default)]
pub struct CalibrationArgs {
    /// Calibration samples for --quantize int8, stacked on axis 0 (.npy, float32).
    #[arg(long, value_name = "X.npy")]
    pub calibrate: Option<PathBuf>,
    /// The model input the calibration samples feed (default: the only input).
    #[arg(long, value_name = "NAME")]
    pub calibrate_input: Option<String>,
    /// How activation ranges are chosen: minmax, percentile[=P] (99.99) or mse.
    #[arg(long, value_name = "METHOD", default_value = "mse")]
    pub calibrate_method: CalibrationMethod,
    /// Use at most N calibration samples (default: all).
    #[arg(long, value_name = "N")]
    pub calibrate_samples: Option<usize>,
    /// Nodes that stay float (comma-separated names; repeatable).
    #[arg(long, value_name = "NAME[,NAME]", value_delimiter = ',')]
    pub keep_float: Vec<String>,
    /// Layers whose output SQNR on the calibration data is lower stay float.
    #[arg(long, value_name = "DB", default_value_t = DEFAULT_MIN_SQNR_DB)]
    pub min_sqnr: f64,
}

/// The low-rank factorization option.
#[derive(clap::Args, Debug, Default)]
pub struct LowRankArgs {
    /// Factorize Gemm/MatMul weights and Conv kernels by truncated SVD where it
    /// saves work: R in (0, 1] keeps that fraction of the full rank,
    /// energy:E the share E of the squared singular values.
    #[arg(long, value_name = "R|energy:E")]
    pub low_rank: Option<LowRank>,
    /// With --low-rank: factorize only these nodes (comma-separated names;
    /// repeatable). Default: every layer with a constant weight.
    #[arg(long, value_name = "NAME[,NAME]", value_delimiter = ',')]
    pub low_rank_layers: Vec<String>,
}

/// Converts, writes atomically, prints a short report.
pub fn run(
    input: &Path,
    output: &Path,
    quantize: Option<Quantization>,
    calibration: CalibrationArgs,
    low_rank: LowRankArgs,
) -> CliResult {
    let mut options = ConvertOptions::default();
    options.quantize = quantize;
    if low_rank.low_rank.is_none() && !low_rank.low_rank_layers.is_empty() {
        return Err(CliError::Usage(
            "--low-rank-layers is only used by --low-rank".into(),
        ));
    }
    options.low_rank = low_rank.low_rank;
    options.low_rank_layers = low_rank.low_rank_layers;
    options.keep_float = calibration.keep_float;
    if let Some(path) = &calibration.calibrate {
        if quantize != Some(Quantization::Int8) {
            return Err(CliError::Usage(
                "--calibrate is only used by --quantize int8".into(),
            ));
        }
        let mut settings = Calibration::new(crate::npy::read_npy(path)?);
        settings.input = calibration.calibrate_input;
        settings.method = calibration.calibrate_method;
        settings.samples = calibration.calibrate_samples;
        settings.min_sqnr_db = calibration.min_sqnr;
        options.calibration = Some(settings);
    } else if quantize == Some(Quantization::Int8) {
        return Err(CliError::Usage(
            "--quantize int8 needs calibration data: --calibrate SAMPLES.npy (samples stacked on axis 0); int8-dynamic needs none".into(),
        ));
    }
    let report = convert_file(input, output, &options)?;
    print!("{report}");
    println!("wrote {}", output.display());
    Ok(())
}
