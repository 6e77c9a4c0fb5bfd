//! The teacher: any classifier pocketnn can run, loaded from `.pnn` or
//! converted in memory from `.onnx`, run once over the whole data set.

use crate::error::DistillError;
use pocketnn::{Model, Session, SessionOptions, TensorView};
use std::path::Path;

/// Loads a `.pnn` file, or converts an `.onnx` file in memory and loads that.
pub fn load_teacher(path: &Path) -> Result<Model, DistillError> {
    let is_onnx = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
    if !is_onnx {
        return Ok(Model::load(path)?);
    }
    let bytes = std::fs::read(path).map_err(|source| DistillError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let converted =
        pocketnn_convert::convert(&bytes, &pocketnn_convert::ConvertOptions::default())?;
    Ok(Model::from_bytes(&converted.to_pnn_bytes()?)?)
}

/// Runs `model` (one float input, first output `[batch, classes]`) over
/// `samples`, `batch` samples per run; returns the logits, one row per
/// sample, and the class count.
pub fn teacher_logits(
    model: &Model,
    samples: &[f32],
    sample_shape: &[usize],
    batch: usize,
) -> Result<(Vec<f32>, usize), DistillError> {
    let [input] = model.inputs() else {
        return Err(DistillError::Mismatch(format!(
            "the teacher must have one input; it has {}",
            model.inputs().len()
        )));
    };
    let sample_len: usize = sample_shape.iter().product();
    if sample_len == 0 || !samples.len().is_multiple_of(sample_len) {
        return Err(DistillError::Data(format!(
            "{} values are not whole samples of shape {sample_shape:?}",
            samples.len()
        )));
    }
    let mut session = Session::new(model, SessionOptions::with_threads(0))?;
    let mut logits = Vec::new();
    let mut classes = 0;
    for chunk in samples.chunks(batch.clamp(1, 1 << 16).saturating_mul(sample_len)) {
        let rows = chunk.len() / sample_len;
        let mut shape = vec![rows];
        shape.extend_from_slice(sample_shape);
        let view = TensorView::from_slice(&shape, chunk).map_err(pocketnn::Error::from)?;
        let outputs = session.run_views(&[(input.name.as_str(), view)])?;
        let Some((name, scores)) = outputs.at(0) else {
            return Err(DistillError::Mismatch("the teacher has no output".into()));
        };
        match scores.shape() {
            [n, c] if *n == rows && *c > 0 && (classes == 0 || classes == *c) => classes = *c,
            shape => {
                return Err(DistillError::Mismatch(format!(
                    "the teacher's output `{name}` has shape {shape:?}; need [{rows}, classes]"
                )));
            }
        }
        logits.extend(scores.to_f32_vec().map_err(pocketnn::Error::from)?);
    }
    Ok((logits, classes))
}

/// The teacher's parameter count: the elements of all the tensors stored in
/// the model (weights, biases and any other constants).
pub fn teacher_parameters(model: &Model) -> u64 {
    model
        .definition()
        .tensors
        .iter()
        .map(|t| t.shape.iter().copied().fold(1u64, u64::saturating_mul))
        .fold(0, u64::saturating_add)
}
