//! `pocketnn`: convert ONNX models to `.pnn`, run, inspect, evaluate and benchmark them,
//! distill small students from them, and measure what each compression method costs.
#![forbid(unsafe_code)]

mod bench;
mod convert;
mod demo;
mod distill;
mod error;
mod eval;
mod inputs;
mod inspect;
mod latency;
mod npy;
mod run;
mod study;

use clap::{Parser, Subcommand};
use error::CliError;
use std::path::PathBuf;

/// Compressed neural networks for phones.
#[derive(Parser, Debug)]
#[command(name = "pocketnn", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Convert an ONNX model into a .pnn file.
    Convert {
        /// The ONNX model.
        input: PathBuf,
        /// The .pnn file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Quantize: int8 (static, needs --calibrate), int8-dynamic or fp16.
        #[arg(long, value_name = "MODE")]
        quantize: Option<pocketnn_convert::Quantization>,
        #[command(flatten)]
        calibration: convert::CalibrationArgs,
        #[command(flatten)]
        prune: convert::PruneArgs,
        #[command(flatten)]
        low_rank: convert::LowRankArgs,
    },
    /// Run a model on .npy inputs and write its outputs as .npy files.
    Run {
        /// The .pnn model.
        model: PathBuf,
        /// An input as NAME=FILE.npy (repeat for each input).
        #[arg(long = "input", value_name = "NAME=FILE.npy")]
        inputs: Vec<String>,
        /// Directory for the outputs (created if missing).
        #[arg(long)]
        output_dir: PathBuf,
        /// Worker threads (0 = all cores).
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// Show a model's version, inputs and outputs, operators and sizes.
    Inspect {
        /// The .pnn model.
        model: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Top-1 accuracy on a data set, and agreement with a reference model.
    Eval {
        /// The model (.pnn, or .onnx converted in memory).
        model: PathBuf,
        /// Samples stacked along the first axis (.npy).
        #[arg(long)]
        data: PathBuf,
        /// One integer class per sample (.npy).
        #[arg(long)]
        labels: Option<PathBuf>,
        /// A model to compare top-1 predictions with (.pnn or .onnx).
        #[arg(long)]
        reference: Option<PathBuf>,
        /// Samples per run (0 = the model's fixed batch size, else 32).
        #[arg(long, default_value_t = 0)]
        batch: usize,
        /// Worker threads (0 = all cores).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Print one JSON object (accuracy, agreement, samples).
        #[arg(long)]
        json: bool,
    },
    /// Show a compressed model at work: predictions beside the digits, then
    /// size, latency and accuracy of each variant. Needs no files: the models
    /// and digits are built in.
    Demo {
        /// A model of your own (.pnn or .onnx) instead of the built-in ones.
        model: Option<PathBuf>,
        /// Samples for MODEL (.npy, first axis = samples).
        #[arg(long)]
        data: Option<PathBuf>,
        /// One integer class per sample (.npy).
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Worker threads (0 = all cores).
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// Train a small student model to imitate a teacher (knowledge distillation).
    Distill(distill::DistillArgs),
    /// The compression study: build every compressed variant of seed_mlp and
    /// seed_cnn, measure size, FLOPs, latency and accuracy, and write
    /// docs/compression-study.md with a plot.
    Study(study::StudyArgs),
    /// Measure load time, latency and peak memory.
    Bench {
        /// The .pnn model.
        model: PathBuf,
        /// Worker threads (0 = all cores).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Timed runs.
        #[arg(long, default_value_t = 20)]
        iters: usize,
        /// Untimed runs first.
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        /// An input as NAME=FILE.npy; inputs not given are random (symbolic dims = 1).
        #[arg(long = "input", value_name = "NAME=FILE.npy")]
        inputs: Vec<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Convert {
            input,
            output,
            quantize,
            calibration,
            prune,
            low_rank,
        } => convert::run(&input, &output, quantize, calibration, prune, low_rank),
        Command::Run {
            model,
            inputs,
            output_dir,
            threads,
        } => run::run(&model, &inputs, &output_dir, threads),
        Command::Inspect { model, json } => inspect::run(&model, json),
        Command::Distill(args) => distill::run(&args),
        Command::Study(args) => study::run(&args),
        Command::Eval {
            model,
            data,
            labels,
            reference,
            batch,
            threads,
            json,
        } => eval::run(&eval::EvalArgs {
            model,
            data,
            labels,
            reference,
            batch,
            threads,
            json,
        }),
        Command::Demo {
            model,
            data,
            labels,
            threads,
        } => demo::run(&demo::DemoArgs {
            model,
            data,
            labels,
            threads,
        }),
        Command::Bench {
            model,
            threads,
            iters,
            warmup,
            inputs,
            json,
        } => bench::run(&bench::BenchArgs {
            model,
            threads,
            iters,
            warmup,
            inputs,
            json,
        }),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}

/// Shorthand used by the commands.
pub(crate) type CliResult<T = ()> = Result<T, CliError>;
