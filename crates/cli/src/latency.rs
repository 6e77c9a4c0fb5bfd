//! Batch-1 latency of a model, as `demo` and `study` measure it.

use crate::CliResult;
use crate::bench::percentile;
use crate::error::CliError;
use crate::eval::sample_shape;
use pocketnn::{Model, Session, SessionOptions, Tensor};
use std::time::Instant;

/// Untimed runs before the timed ones.
const WARMUP_RUNS: usize = 5;

/// The first `n` samples of `data`.
pub(crate) fn first_samples(data: &Tensor, n: usize) -> CliResult<Tensor> {
    let mut shape = data.shape().to_vec();
    let Some(first) = shape.first_mut() else {
        return Err(CliError::Usage(
            "the data needs a first axis of samples".into(),
        ));
    };
    let per_sample = data.bytes().len() / (*first).max(1);
    *first = n;
    let bytes = data
        .bytes()
        .get(..n * per_sample)
        .ok_or_else(|| CliError::Usage(format!("the data has fewer than {n} samples")))?;
    Tensor::from_bytes(data.dtype(), &shape, bytes)
        .map_err(|e| CliError::Usage(format!("data: {e}")))
}

/// Median time in milliseconds of `runs` runs of `model` on the first
/// sample of `data` (batch 1), after a few untimed runs.
pub(crate) fn median_latency_ms(
    model: &Model,
    data: &Tensor,
    runs: usize,
    threads: usize,
) -> CliResult<f64> {
    let [input] = model.inputs() else {
        return Err(CliError::Usage(format!(
            "timing needs a model with one input; this one has {}",
            model.inputs().len()
        )));
    };
    let one = first_samples(data, 1)?;
    let mut shape = vec![1];
    shape.extend(sample_shape(input, &one.shape()[1..]));
    let one = one
        .reshaped(&shape)
        .map_err(|e| CliError::Usage(format!("data does not fit the model: {e}")))?;
    let mut session = Session::new(model, SessionOptions::with_threads(threads))?;
    let view = [(input.name.as_str(), one.view())];
    for _ in 0..WARMUP_RUNS {
        session.run_views(&view)?;
    }
    let mut times = Vec::with_capacity(runs.max(1));
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        session.run_views(&view)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(percentile(&times, 50.0))
}
