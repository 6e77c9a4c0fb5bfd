//! `pocketnn eval MODEL --data X.npy [--labels Y.npy] [--reference OTHER]
//! [--batch N] [--json]`: top-1 accuracy of a classifier on a data set, and
//! its top-1 agreement with a reference model (`.pnn` or `.onnx`).

use crate::CliResult;
use crate::error::CliError;
use crate::npy::read_npy;
use pocketnn::{DType, Dim, IoInfo, Model, Session, SessionOptions, Tensor};
use pocketnn_convert::{ConvertOptions, convert};
use std::path::{Path, PathBuf};

/// The arguments of `pocketnn eval`.
#[derive(Debug)]
pub struct EvalArgs {
    /// The model to evaluate (`.pnn` or `.onnx`).
    pub model: PathBuf,
    /// Samples, stacked along the first axis.
    pub data: PathBuf,
    /// One integer class per sample.
    pub labels: Option<PathBuf>,
    /// A model to compare predictions with.
    pub reference: Option<PathBuf>,
    /// Samples per run (0 = the model's fixed batch size, or 32).
    pub batch: usize,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Print one JSON object.
    pub json: bool,
}

/// Loads a `.pnn` file, or converts an `.onnx` file in memory.
pub fn load_model(path: &Path) -> CliResult<Model> {
    let is_onnx = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
    if !is_onnx {
        return Ok(Model::load(path)?);
    }
    let bytes = std::fs::read(path).map_err(|source| CliError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let pnn = convert(&bytes, &ConvertOptions::default())?.to_pnn_bytes()?;
    Ok(Model::from_bytes(&pnn)?)
}

/// The shape one sample takes as `input`: the model's declared per-sample
/// shape when it is fully fixed and has as many elements as `data_sample`
/// (so flat or image-shaped data fit either kind of model), else
/// `data_sample` unchanged.
pub(crate) fn sample_shape(input: &IoInfo, data_sample: &[usize]) -> Vec<usize> {
    let declared = input.shape.as_deref().unwrap_or(&[]);
    let fixed_tail: Option<Vec<usize>> = declared
        .get(1..)
        .unwrap_or(&[])
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => usize::try_from(*n).ok(),
            Dim::Symbolic(_) => None,
        })
        .collect();
    let per_sample: usize = data_sample.iter().product();
    match fixed_tail {
        Some(tail) if !declared.is_empty() && tail.iter().product::<usize>() == per_sample => tail,
        _ => data_sample.to_vec(),
    }
}

/// Top-1 predictions of `model` for every sample of `data`.
pub(crate) fn predict(
    model: &Model,
    data: &Tensor,
    batch: usize,
    threads: usize,
) -> CliResult<Vec<usize>> {
    let [input] = model.inputs() else {
        return Err(CliError::Usage(format!(
            "eval needs a model with one input; this one has {}",
            model.inputs().len()
        )));
    };
    let Some((&samples, data_sample)) = data.shape().split_first() else {
        return Err(CliError::Usage(
            "the data needs a first axis of samples (it is a scalar)".into(),
        ));
    };
    let per_sample: usize = data_sample.iter().product();
    let sample_shape = sample_shape(input, data_sample);
    let declared = input.shape.as_deref().unwrap_or(&[]);
    let batch = match (batch, declared.first()) {
        (0, Some(Dim::Fixed(n))) => usize::try_from(*n).unwrap_or(1).max(1),
        (0, _) => 32,
        (n, _) => n,
    };
    if data.dtype() != input.dtype {
        return Err(CliError::Usage(format!(
            "the data is {}, input `{}` takes {}",
            data.dtype(),
            input.name,
            input.dtype
        )));
    }
    let mut session = Session::new(model, SessionOptions::with_threads(threads))?;
    let sample_bytes = per_sample * data.dtype().size();
    let mut predictions = Vec::with_capacity(samples);
    for first in (0..samples).step_by(batch) {
        let rows = batch.min(samples - first);
        let mut shape = vec![rows];
        shape.extend_from_slice(&sample_shape);
        let bytes = &data.bytes()[first * sample_bytes..][..rows * sample_bytes];
        let chunk = pocketnn::TensorView::new(data.dtype(), &shape, bytes)
            .map_err(|e| CliError::Usage(format!("data does not fit the model: {e}")))?;
        let outputs = session.run_views(&[(input.name.as_str(), chunk)])?;
        let Some((name, scores)) = outputs.at(0) else {
            return Err(CliError::Usage("the model has no output".into()));
        };
        let classes = match scores.shape() {
            [n, c] if *n == rows => *c,
            shape => {
                return Err(CliError::Usage(format!(
                    "output `{name}` has shape {shape:?}; eval needs [batch, classes] scores"
                )));
            }
        };
        let values = scores.to_f32_vec().map_err(pocketnn::Error::from)?;
        predictions.extend(values.chunks(classes.max(1)).take(rows).map(argmax));
    }
    Ok(predictions)
}

/// The index of the largest value (the first one on ties; NaN never wins).
fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// Labels as class indices.
pub(crate) fn read_labels(path: &Path, samples: usize) -> CliResult<Vec<i64>> {
    let labels = read_npy(path)?;
    if !matches!(
        labels.dtype(),
        DType::I64 | DType::I32 | DType::U8 | DType::I8
    ) {
        return Err(CliError::Usage(format!(
            "{}: labels must be integers, not {}",
            path.display(),
            labels.dtype()
        )));
    }
    let values = labels.view().to_i64_vec().map_err(pocketnn::Error::from)?;
    if values.len() != samples {
        return Err(CliError::Usage(format!(
            "{}: {} labels for {samples} samples",
            path.display(),
            values.len()
        )));
    }
    Ok(values)
}

/// The share of positions where the two lists agree.
fn share_equal(a: impl Iterator<Item = bool>, samples: usize) -> (usize, f64) {
    let hits = a.filter(|&x| x).count();
    (hits, hits as f64 / samples.max(1) as f64)
}

/// Runs the evaluation and prints the figures.
pub fn run(args: &EvalArgs) -> CliResult {
    if args.labels.is_none() && args.reference.is_none() {
        return Err(CliError::Usage(
            "eval needs --labels, --reference or both".into(),
        ));
    }
    let data = read_npy(&args.data)?;
    if data.shape().is_empty() {
        return Err(CliError::Usage(format!(
            "{}: the data needs a first axis of samples",
            args.data.display()
        )));
    }
    let samples = data.shape()[0];
    let labels = match &args.labels {
        Some(path) => Some(read_labels(path, samples)?),
        None => None,
    };
    let model = load_model(&args.model)?;
    let predictions = predict(&model, &data, args.batch, args.threads)?;
    let reference = match &args.reference {
        Some(path) => Some(predict(
            &load_model(path)?,
            &data,
            args.batch,
            args.threads,
        )?),
        None => None,
    };
    let accuracy = labels.as_ref().map(|labels| {
        share_equal(
            predictions.iter().zip(labels).map(|(&p, &l)| p as i64 == l),
            samples,
        )
    });
    let agreement = reference.as_ref().map(|reference| {
        share_equal(
            predictions.iter().zip(reference).map(|(p, r)| p == r),
            samples,
        )
    });
    if args.json {
        let value = serde_json::json!({
            "model": args.model.display().to_string(),
            "reference": args.reference.as_ref().map(|p| p.display().to_string()),
            "samples": samples,
            "accuracy": accuracy.map(|a| a.1),
            "agreement": agreement.map(|a| a.1),
        });
        println!("{value}");
        return Ok(());
    }
    println!("{}: {samples} samples", args.model.display());
    if let Some((hits, share)) = accuracy {
        println!("  top-1 accuracy  {share:.4} ({hits}/{samples})");
    }
    if let (Some((hits, share)), Some(path)) = (agreement, &args.reference) {
        println!(
            "  top-1 agreement {share:.4} ({hits}/{samples}) with {}",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_maximum_and_skips_nan() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[f32::NAN, -1.0]), 1);
        assert_eq!(argmax(&[]), 0);
    }

    #[test]
    fn shares_count_hits() {
        assert_eq!(
            share_equal([true, false, true, true].into_iter(), 4),
            (3, 0.75)
        );
        assert_eq!(share_equal(std::iter::empty(), 0), (0, 0.0));
    }
}
