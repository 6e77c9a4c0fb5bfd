//! `pocketnn convert IN.onnx -o OUT.pnn [--low-rank R|energy:E] [--quantize MODE] [--calibrate X.npy ...]`

use crate::CliResult;
use crate::error::CliError;
use pocketnn_convert::{
    Calibration, CalibrationMethod, ConvertOptions, DEFAULT_MIN_SQNR_DB, LowRank, PrunePattern,
    Pruning, Quantization, convert_file,
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

/// The pruning options and the before/after evaluation.
#[derive(clap::Args, Debug, Default)]
pub struct PruneArgs {
    /// Prune this fraction of the weights (0..1), smallest magnitude first.
    #[arg(long, value_name = "S")]
    pub prune: Option<f32>,
    /// What goes together: unstructured, 1x4, 4x1, 2:4 or channel.
    #[arg(long, value_name = "PATTERN", default_value = "unstructured")]
    pub prune_pattern: PrunePattern,
    /// One threshold per layer (default: one over all layers).
    #[arg(long)]
    pub prune_per_layer: bool,
    /// Keep pruned layers dense with their zeros (no sparse operators).
    #[arg(long)]
    pub prune_keep_dense: bool,
    /// Evaluate the original and the converted model on these samples (.npy).
    #[arg(long, value_name = "X.npy", requires = "eval_labels")]
    pub eval_data: Option<PathBuf>,
    /// One integer class per --eval-data sample (.npy).
    #[arg(long, value_name = "Y.npy", requires = "eval_data")]
    pub eval_labels: Option<PathBuf>,
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
    prune: PruneArgs,
    low_rank: LowRankArgs,
) -> CliResult {
    let mut options = ConvertOptions::default();
    options.quantize = quantize;
    if let Some(sparsity) = prune.prune {
        if !(0.0..1.0).contains(&sparsity) {
            return Err(CliError::Usage(format!(
                "--prune {sparsity}: the fraction removed must be in [0, 1)"
            )));
        }
        let mut pruning = Pruning::new(sparsity, prune.prune_pattern);
        pruning.per_layer = prune.prune_per_layer;
        pruning.keep_dense = prune.prune_keep_dense;
        options.prune = Some(pruning);
    }
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
    if let (Some(data), Some(labels)) = (&prune.eval_data, &prune.eval_labels) {
        evaluate(input, output, data, labels)?;
    }
    Ok(())
}

/// Prints the top-1 accuracy of the original and the converted model.
fn evaluate(original: &Path, converted: &Path, data: &Path, labels: &Path) -> CliResult {
    let samples = crate::npy::read_npy(data)?;
    let count = samples.shape().first().copied().unwrap_or(0);
    let labels = crate::eval::read_labels(labels, count)?;
    for (what, path) in [("original", original), ("converted", converted)] {
        let model = crate::eval::load_model(path)?;
        let predictions = crate::eval::predict(&model, &samples, 0, 1)?;
        let hits = predictions
            .iter()
            .zip(&labels)
            .filter(|&(&p, &l)| p as i64 == l)
            .count();
        println!(
            "top-1 accuracy, {what:<9} {:.4} ({hits}/{count})",
            hits as f64 / count.max(1) as f64
        );
    }
    Ok(())
}
