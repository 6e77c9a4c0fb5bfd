//! `pocketnn demo [MODEL --data X.npy [--labels Y.npy]]`: predictions beside
//! ASCII pictures of the digits, then size, latency and accuracy.
//!
//! With no model it needs nothing but the binary: the variants of the seed
//! MLP and 200 real MNIST test digits are built in (`assets/demo/`, made
//! by `scripts/make-demo-assets.sh`).

mod render;

use crate::CliResult;
use crate::error::CliError;
use crate::eval::{load_model, predict, read_labels};
use crate::latency::{first_samples, median_latency_ms};
use crate::npy::read_npy;
use pocketnn::{Model, Tensor};
use render::{SIDE, picture, side_by_side};
use std::path::PathBuf;

/// The arguments of `pocketnn demo`.
#[derive(Debug)]
pub struct DemoArgs {
    /// A model of the user's (`.pnn` or `.onnx`); `None` = the built-in ones.
    pub model: Option<PathBuf>,
    /// Samples for `model`.
    pub data: Option<PathBuf>,
    /// Labels for `data`.
    pub labels: Option<PathBuf>,
    /// Worker threads (0 = all cores).
    pub threads: usize,
}

/// One built-in model.
struct Variant {
    name: &'static str,
    what: &'static str,
    bytes: &'static [u8],
}

/// The built-in models, the baseline first and the default last.
const VARIANTS: [Variant; 4] = [
    Variant {
        name: "fp32",
        what: "seed_mlp as trained (784-256-128-64-10)",
        bytes: include_bytes!("../../assets/demo/mlp-fp32.pnn"),
    },
    Variant {
        name: "fp16",
        what: "weights stored as f16 (--quantize fp16)",
        bytes: include_bytes!("../../assets/demo/mlp-fp16.pnn"),
    },
    Variant {
        name: "int8-dynamic",
        what: "int8 weights, activations quantized per run",
        bytes: include_bytes!("../../assets/demo/mlp-int8-dynamic.pnn"),
    },
    Variant {
        name: "int8",
        what: "static int8, calibrated on 500 training digits",
        bytes: include_bytes!("../../assets/demo/mlp-int8.pnn"),
    },
];

/// The built-in digits: 784 pixel bytes each, and their labels.
const DIGITS: &[u8] = include_bytes!("../../assets/demo/digits.u8");
const LABELS: &[u8] = include_bytes!("../../assets/demo/labels.u8");

/// Digits drawn with their predictions.
const SHOWN: usize = 8;
/// Pictures per line of output.
const PER_LINE: usize = 4;
/// Timed batch-1 runs per model (after a few untimed ones).
const TIMED_RUNS: usize = 200;

/// Runs the demo.
pub fn run(args: &DemoArgs) -> CliResult {
    match &args.model {
        None => {
            if args.data.is_some() || args.labels.is_some() {
                return Err(CliError::Usage(
                    "--data and --labels go with a MODEL (pocketnn demo MODEL --data X.npy)".into(),
                ));
            }
            built_in(args.threads)
        }
        Some(path) => {
            let Some(data) = &args.data else {
                return Err(CliError::Usage(
                    "a model needs samples: pocketnn demo MODEL --data X.npy [--labels Y.npy]"
                        .into(),
                ));
            };
            let model = load_model(path)?;
            let data = read_npy(data)?;
            let samples = data.shape().first().copied().unwrap_or(0);
            let labels = match &args.labels {
                Some(l) => Some(read_labels(l, samples)?),
                None => None,
            };
            let size = std::fs::metadata(path)
                .map_err(|source| CliError::Io {
                    path: path.clone(),
                    source,
                })?
                .len();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string());
            show(&name, &model, &data, labels.as_deref(), args.threads)?;
            let row = measure(&model, &data, labels.as_deref(), args.threads)?;
            print_table(&[(name, size as usize, row)], None);
            Ok(())
        }
    }
}

/// The built-in digits as the models' input, `[200, 1, 28, 28]` in 0..1.
fn built_in_digits() -> CliResult<(Tensor, Vec<i64>)> {
    let pixels: Vec<f32> = DIGITS.iter().map(|&p| f32::from(p) / 255.0).collect();
    let samples = pixels.len() / (SIDE * SIDE);
    let data = Tensor::from_slice(&[samples, 1, SIDE, SIDE], &pixels)
        .map_err(|e| CliError::Usage(format!("built-in digits: {e}")))?;
    Ok((data, LABELS.iter().map(|&l| i64::from(l)).collect()))
}

fn built_in(threads: usize) -> CliResult {
    let (data, labels) = built_in_digits()?;
    let default = &VARIANTS[VARIANTS.len() - 1];
    let model = Model::from_bytes(default.bytes)?;
    let title = format!(
        "seed_mlp, {} ({} bytes, built into this binary)",
        default.name,
        group(default.bytes.len())
    );
    show(&title, &model, &data, Some(&labels), threads)?;
    println!(
        "The built-in variants, on the {} built-in MNIST test digits:",
        labels.len()
    );
    let mut rows = Vec::new();
    for variant in &VARIANTS {
        let model = Model::from_bytes(variant.bytes)?;
        let row = measure(&model, &data, Some(&labels), threads)?;
        rows.push((variant.name.to_string(), variant.bytes.len(), row));
    }
    print_table(&rows, Some(VARIANTS[0].bytes.len()));
    println!();
    for v in &VARIANTS {
        println!("  {:<13} {}", v.name, v.what);
    }
    println!(
        "\nYour own model: pocketnn demo MODEL.pnn --data X.npy [--labels Y.npy]\n\
         Make one:       pocketnn convert model.onnx -o model.pnn --quantize int8 --calibrate X.npy"
    );
    Ok(())
}

/// Prints the first [`SHOWN`] samples with their predictions (as pictures
/// when they are 28×28 images).
fn show(
    title: &str,
    model: &Model,
    data: &Tensor,
    labels: Option<&[i64]>,
    threads: usize,
) -> CliResult {
    let samples = data.shape().first().copied().unwrap_or(0).min(SHOWN);
    let first = first_samples(data, samples)?;
    let predictions = predict(model, &first, 0, threads)?;
    println!("{title}\n");
    let per_sample = data.shape()[1..].iter().product::<usize>();
    let values = first.view().to_f32_vec().map_err(pocketnn::Error::from)?;
    let scale = if values.iter().any(|&v| v > 1.5) {
        1.0 / 255.0
    } else {
        1.0
    };
    let caption = |i: usize, p: usize| match labels.and_then(|l| l.get(i)) {
        Some(&l) if l == p as i64 => format!("{p}  (right)"),
        Some(&l) => format!("{p}  (WRONG, is {l})"),
        None => format!("predicted {p}"),
    };
    if per_sample != SIDE * SIDE {
        for (i, &p) in predictions.iter().enumerate() {
            println!("  sample {i}: {}", caption(i, p));
        }
        println!();
        return Ok(());
    }
    let panels: Vec<_> = predictions
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let pixels: Vec<f32> = values[i * per_sample..][..per_sample]
                .iter()
                .map(|v| v * scale)
                .collect();
            (picture(&pixels), caption(i, p))
        })
        .collect();
    for line in panels.chunks(PER_LINE) {
        println!("{}", side_by_side(line));
    }
    Ok(())
}

/// What the table shows for one model.
struct Measured {
    latency_ms: f64,
    accuracy: Option<f64>,
    samples: usize,
}

/// Median batch-1 latency on the first sample, and top-1 accuracy.
fn measure(
    model: &Model,
    data: &Tensor,
    labels: Option<&[i64]>,
    threads: usize,
) -> CliResult<Measured> {
    let samples = data.shape().first().copied().unwrap_or(0);
    if samples == 0 {
        return Err(CliError::Usage("demo needs at least one sample".into()));
    }
    let latency_ms = median_latency_ms(model, data, TIMED_RUNS, threads)?;
    let accuracy = match labels {
        Some(labels) => {
            let predictions = predict(model, data, 0, threads)?;
            let hits = predictions
                .iter()
                .zip(labels)
                .filter(|&(&p, &l)| p as i64 == l)
                .count();
            Some(hits as f64 / samples as f64)
        }
        None => None,
    };
    Ok(Measured {
        latency_ms,
        accuracy,
        samples,
    })
}

fn print_table(rows: &[(String, usize, Measured)], baseline: Option<usize>) {
    println!(
        "  {:<13} {:>10} {:>9} {:>16} {:>10}",
        "model", "bytes", "smaller", "latency (1 img)", "accuracy"
    );
    for (name, bytes, m) in rows {
        let smaller = baseline
            .map(|b| format!("{:.2}x", b as f64 / (*bytes).max(1) as f64))
            .unwrap_or_else(|| "-".into());
        let accuracy = m
            .accuracy
            .map(|a| format!("{a:.3}"))
            .unwrap_or_else(|| "-".into());
        println!(
            "  {name:<13} {:>10} {smaller:>9} {:>13.3} ms {accuracy:>10}",
            group(*bytes),
            m.latency_ms
        );
    }
    if let Some((_, _, m)) = rows.first() {
        println!(
            "  (latency: median of {TIMED_RUNS} runs of one sample, this machine; accuracy: top-1 \
             on {} samples)",
            m.samples
        );
    }
}

/// `1234567` → `1,234,567`.
pub(crate) fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_assets_are_consistent() {
        let (data, labels) = built_in_digits().unwrap();
        assert_eq!(data.shape(), &[200, 1, 28, 28]);
        assert_eq!(labels.len(), 200);
        assert!(labels.iter().all(|&l| (0..10).contains(&l)));
        for v in &VARIANTS {
            let model = Model::from_bytes(v.bytes).unwrap();
            assert_eq!(model.inputs().len(), 1, "{}", v.name);
        }
    }

    /// The built-in models classify the built-in digits about as well as
    /// seed_mlp does on the whole test set (0.934), and their sizes are
    /// what the table claims: the int8 default ~4x smaller than fp32.
    #[test]
    fn built_in_models_are_accurate_and_small() {
        let (data, labels) = built_in_digits().unwrap();
        for v in &VARIANTS {
            let model = Model::from_bytes(v.bytes).unwrap();
            let m = measure(&model, &data, Some(&labels), 1).unwrap();
            let accuracy = m.accuracy.unwrap();
            assert!(accuracy > 0.88, "{}: {accuracy}", v.name);
        }
        assert!(VARIANTS[3].bytes.len() * 3 < VARIANTS[0].bytes.len());
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
    }
}
