//! `--quantize int8`: static int8 quantization with calibration data.
//!
//! 1. The layers with constant weights (`Conv`, `Gemm`, `MatMul`) are read
//!    ([`layers`]); those the integer ops cannot express, or named in
//!    `keep_float`, stay float.
//! 2. The float model runs on the calibration samples with every input and
//!    output of those layers made a model output; their ranges (min/max,
//!    then a histogram) give per-tensor u8 parameters ([`calibrate`],
//!    [`math`]).
//! 3. The graph is rewritten ([`rewrite`]): int8 weights per output
//!    channel, i32 biases, `QLinearConv` layers passing u8 tensors to each
//!    other.
//! 4. The quantized and the float model run side by side on the samples:
//!    each layer's output SQNR goes into the report, and a layer below
//!    `min_sqnr_db` is put back to float (the earliest first, a few rounds).
//!
//! `docs/quantization.md` describes the options and the report.

mod calibrate;
mod layers;
mod math;
mod rewrite;

pub use math::CalibrationMethod;

use super::LayerReport;
use crate::graph::{Graph, ValueId};
use crate::{ConvertError, ConvertOptions};
use calibrate::{Runner, Samples, floats};
use layers::{Candidate, Layer};
use math::{ActivationParams, Histogram, sqnr_db};
use pocketnn_format::DType;
use pocketnn_tensor::Tensor;
use std::collections::HashMap;
use std::sync::Arc;

/// Layers whose output SQNR on the calibration data is below this many dB
/// stay float unless [`Calibration::min_sqnr_db`] says otherwise.
pub const DEFAULT_MIN_SQNR_DB: f64 = 20.0;

/// Rounds of "measure, put the worst early layer back to float".
const MAX_FALLBACK_ROUNDS: usize = 4;

/// Calibration data and settings for `--quantize int8`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Calibration {
    /// Samples stacked on axis 0 (f32), fed to [`Calibration::input`].
    pub data: Arc<Tensor>,
    /// The model input the samples feed; `None`: the only input.
    pub input: Option<String>,
    /// How ranges are chosen (default [`CalibrationMethod::Mse`]).
    pub method: CalibrationMethod,
    /// Use at most this many samples (default: all).
    pub samples: Option<usize>,
    /// Layers whose output SQNR is lower stay float (default
    /// [`DEFAULT_MIN_SQNR_DB`]); `f64::NEG_INFINITY` turns this off.
    pub min_sqnr_db: f64,
}

impl Calibration {
    /// Calibration on `data` with the default settings.
    pub fn new(data: Tensor) -> Calibration {
        Calibration {
            data: Arc::new(data),
            input: None,
            method: CalibrationMethod::default(),
            samples: None,
            min_sqnr_db: DEFAULT_MIN_SQNR_DB,
        }
    }
}

fn error(reason: impl Into<String>) -> ConvertError {
    ConvertError::Quantization {
        reason: reason.into(),
    }
}

/// A node with weights and what happens to it.
struct Entry {
    name: String,
    op: String,
    bytes_before: u64,
    bytes_after: u64,
    /// Its (float) output.
    output: ValueId,
    layer: Option<Layer>,
    kept_float: Option<String>,
    sqnr_db: Option<f64>,
}

/// Quantizes `graph` in place; one report line per layer with weights.
pub(super) fn apply(
    graph: &mut Graph,
    options: &ConvertOptions,
) -> Result<Vec<LayerReport>, ConvertError> {
    let calibration = options.calibration.as_ref().ok_or_else(|| {
        error("--quantize int8 needs calibration data (--calibrate SAMPLES.npy); use int8-dynamic to quantize without")
    })?;
    let input = pick_input(graph, calibration.input.as_deref())?;
    let samples = Samples::new(graph, input, &calibration.data, calibration.samples)?;
    let mut entries = read_entries(graph, &options.keep_float);
    let params = calibrate_params(graph, &entries, &samples, calibration.method)?;

    let mut rounds = 0;
    let quantized = loop {
        let mut candidate = graph.clone();
        let layers: Vec<&Layer> = entries
            .iter()
            .filter(|e| e.kept_float.is_none())
            .filter_map(|e| e.layer.as_ref())
            .collect();
        let done = rewrite::rewrite(&mut candidate, &layers, &params)?;
        let mut done_by_node: HashMap<usize, rewrite::QuantizedLayer> =
            layers.iter().map(|l| l.node).zip(done).collect();
        let mut quantized = Vec::with_capacity(entries.len());
        for entry in entries.iter_mut() {
            let q = match (&entry.layer, &entry.kept_float) {
                (Some(l), None) => done_by_node.remove(&l.node),
                _ => None,
            };
            entry.bytes_after = q.as_ref().map_or(entry.bytes_before, |q| q.bytes);
            entry.sqnr_db = None;
            quantized.push(q);
        }
        measure_sqnr(graph, &candidate, &mut entries, &quantized, &samples)?;
        let low = entries.iter().position(|e| {
            e.kept_float.is_none()
                && e.layer.is_some()
                && e.sqnr_db.is_some_and(|db| db < calibration.min_sqnr_db)
        });
        rounds += 1;
        match low {
            Some(i) if rounds < MAX_FALLBACK_ROUNDS => {
                if let Some(e) = entries.get_mut(i) {
                    e.kept_float = Some(format!(
                        "output SQNR {:.1} dB < {:.1} dB",
                        e.sqnr_db.unwrap_or(f64::NAN),
                        calibration.min_sqnr_db
                    ));
                }
            }
            _ => break candidate,
        }
    };
    *graph = quantized;
    Ok(entries
        .into_iter()
        .map(|e| LayerReport {
            name: e.name,
            op: e.op,
            bytes_before: e.bytes_before,
            bytes_after: e.bytes_after,
            sqnr_db: e.sqnr_db,
            kept_float: e.kept_float,
        })
        .collect())
}

/// The graph input the calibration samples feed.
fn pick_input(graph: &Graph, name: Option<&str>) -> Result<ValueId, ConvertError> {
    let names = || {
        graph
            .inputs
            .iter()
            .map(|&i| graph.name(i).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(name) => graph
            .inputs
            .iter()
            .copied()
            .find(|&i| graph.name(i) == name)
            .ok_or_else(|| error(format!("no model input `{name}` (inputs: {})", names()))),
        None => match graph.inputs.as_slice() {
            &[only] => Ok(only),
            _ => Err(error(format!(
                "the model has several inputs ({}): say which one the calibration data feeds (--calibrate-input)",
                names()
            ))),
        },
    }
}

/// The main body's nodes with weights.
fn read_entries(graph: &Graph, keep_float: &[String]) -> Vec<Entry> {
    let Some(main) = graph.bodies.first() else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    for (index, node) in main.nodes.iter().enumerate() {
        let Some(bytes) = layers::weighted_node(graph, node) else {
            continue;
        };
        let Some(&output) = node.outputs.first() else {
            continue;
        };
        let (layer, mut kept_float) = match layers::candidate(graph, index, node) {
            Candidate::Layer(layer) => (Some(*layer), None),
            Candidate::Float(reason) => (None, Some(reason)),
        };
        if keep_float.contains(&node.name) {
            kept_float = Some("--keep-float".into());
        }
        entries.push(Entry {
            name: node.name.clone(),
            op: node.op.name().to_string(),
            bytes_before: bytes,
            bytes_after: bytes,
            output,
            layer,
            kept_float,
            sqnr_db: None,
        });
    }
    entries
}

/// Calibrates the inputs and outputs of every quantizable layer.
fn calibrate_params(
    graph: &Graph,
    entries: &[Entry],
    samples: &Samples<'_>,
    method: CalibrationMethod,
) -> Result<HashMap<ValueId, ActivationParams>, ConvertError> {
    let mut probes: Vec<ValueId> = Vec::new();
    let mut bounds: HashMap<ValueId, (f32, f32)> = HashMap::new();
    for layer in entries.iter().filter_map(|e| e.layer.as_ref()) {
        for id in [layer.input, layer.output] {
            if !probes.contains(&id) {
                probes.push(id);
            }
        }
        let b = bounds
            .entry(layer.output)
            .or_insert((f32::NEG_INFINITY, f32::INFINITY));
        *b = (b.0.max(layer.bounds.0), b.1.min(layer.bounds.1));
    }
    if probes.is_empty() {
        return Ok(HashMap::new());
    }
    let histograms =
        calibrate::measure(graph, &probes, samples, method != CalibrationMethod::MinMax)?;
    Ok(probes
        .iter()
        .zip(&histograms)
        .map(|(&id, h)| {
            let (mut low, mut high) = chosen_range(h, method);
            if let Some(&(lo, hi)) = bounds.get(&id) {
                (low, high) = (low.max(lo), high.min(hi));
            }
            (id, ActivationParams::from_range(low, high))
        })
        .collect())
}

/// The range `method` picks from a histogram.
fn chosen_range(h: &Histogram, method: CalibrationMethod) -> (f32, f32) {
    match method {
        CalibrationMethod::MinMax => (h.low, h.high),
        CalibrationMethod::Percentile(p) => h.percentile_range(p),
        CalibrationMethod::Mse => h.mse_range(),
    }
}

/// Runs the float `graph` and the quantized `candidate` on the samples and
/// sets every entry's `sqnr_db` from its output in both (`quantized[i]`:
/// what the rewrite made of entry `i`, `None` when it stayed float).
fn measure_sqnr(
    graph: &Graph,
    candidate: &Graph,
    entries: &mut [Entry],
    quantized: &[Option<rewrite::QuantizedLayer>],
    samples: &Samples<'_>,
) -> Result<(), ConvertError> {
    // A float layer is measured too: its SQNR shows the error carried in
    // from quantized layers before it.
    let mut measured = Vec::new();
    for (i, (entry, q)) in entries.iter().zip(quantized).enumerate() {
        let probe = q.as_ref().map_or(entry.output, |q| q.output);
        let float_ok = candidate
            .value(entry.output)
            .is_some_and(|v| v.dtype == DType::F32);
        if float_ok {
            measured.push((i, entry.output, probe, q.as_ref().and_then(|q| q.params)));
        }
    }
    if measured.is_empty() {
        return Ok(());
    }
    let reference_probes: Vec<ValueId> = measured.iter().map(|m| m.1).collect();
    let test_probes: Vec<ValueId> = measured.iter().map(|m| m.2).collect();
    let mut reference = Runner::new(graph, &reference_probes)?;
    let mut test = Runner::new(candidate, &test_probes)?;
    let mut sums = vec![(0.0f64, 0.0f64); measured.len()];
    let mut expected: Vec<Vec<f32>> = vec![Vec::new(); measured.len()];
    for (shape, bytes) in samples.batches() {
        reference.run(&samples.input, (&shape, bytes), |i, view| {
            if let Some(slot) = expected.get_mut(i) {
                *slot = floats(&view)?.to_vec();
            }
            Ok(())
        })?;
        test.run(&samples.input, (&shape, bytes), |i, view| {
            let (Some(&(entry, _, _, params)), Some(x), Some(sum)) =
                (measured.get(i), expected.get(i), sums.get_mut(i))
            else {
                return Ok(());
            };
            let y: Vec<f32> = match params {
                Some(p) => view
                    .as_slice::<u8>()
                    .map_err(|e| error(format!("quantized output: {e}")))?
                    .iter()
                    .map(|&v| p.dequantize(v))
                    .collect(),
                None => floats(&view)?.to_vec(),
            };
            if x.len() != y.len() {
                return Err(error(format!(
                    "layer {entry}: quantized output has {} values, float {}",
                    y.len(),
                    x.len()
                )));
            }
            for (&a, &b) in x.iter().zip(&y) {
                sum.0 += f64::from(a) * f64::from(a);
                sum.1 += (f64::from(a) - f64::from(b)).powi(2);
            }
            Ok(())
        })?;
    }
    for (&(i, ..), &(signal, noise)) in measured.iter().zip(&sums) {
        if let Some(e) = entries.get_mut(i) {
            e.sqnr_db = Some(sqnr_db(signal, noise));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_residual;
