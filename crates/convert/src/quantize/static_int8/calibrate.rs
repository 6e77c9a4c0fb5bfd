//! Running a model during conversion: the graph is exported with chosen
//! intermediate values as extra outputs, written as `.pnn` bytes in memory,
//! loaded by the runtime and run batch by batch on the calibration samples.

use super::math::{HISTOGRAM_BINS, Histogram};
use crate::error::ConvertError;
use crate::graph::{Graph, ValueId};
use crate::{ConvertReport, Converted};
use pocketnn::{Session, SessionOptions};
use pocketnn_format::{DType, Dim, Metadata};
use pocketnn_tensor::{Tensor, TensorView};

/// Samples per run when the model's batch axis is not fixed.
const BATCH: usize = 32;

fn error(reason: impl Into<String>) -> ConvertError {
    ConvertError::Quantization {
        reason: reason.into(),
    }
}

/// The calibration samples cut into runs of the model's batch size.
pub(crate) struct Samples<'a> {
    data: &'a Tensor,
    /// The model input they feed.
    pub input: String,
    /// Samples used.
    pub count: usize,
    batch: usize,
    /// True when the model's batch axis is fixed (every run is full).
    fixed: bool,
}

impl<'a> Samples<'a> {
    /// Checks `data` (`[S, ...]`, f32) against the graph input `input`:
    /// same rank, same fixed dims after the first; the batch axis decides
    /// the run size.
    pub fn new(
        graph: &Graph,
        input: ValueId,
        data: &'a Tensor,
        limit: Option<usize>,
    ) -> Result<Samples<'a>, ConvertError> {
        let value = graph.value(input).ok_or_else(|| error("no model input"))?;
        if data.dtype() != DType::F32 || value.dtype != DType::F32 {
            return Err(error(format!(
                "calibration data is {} and input `{}` is {}; both must be f32",
                data.dtype(),
                value.name,
                value.dtype
            )));
        }
        let shape = data.shape();
        let (mut batch, mut fixed) = (BATCH, false);
        if let Some(dims) = &value.shape {
            let fits = dims.len() == shape.len()
                && dims.iter().zip(shape).skip(1).all(|(d, &s)| match d {
                    Dim::Fixed(f) => *f == s as u64,
                    _ => true,
                });
            if !fits {
                return Err(error(format!(
                    "calibration data of shape {shape:?} does not fit input `{}` {dims:?} (samples are stacked on axis 0)",
                    value.name
                )));
            }
            if let Some(Dim::Fixed(b)) = dims.first() {
                batch = usize::try_from(*b).unwrap_or(1).max(1);
                fixed = true;
            }
        }
        let available = shape.first().copied().unwrap_or(0);
        let wanted = limit.unwrap_or(available).min(available);
        let count = if fixed {
            wanted - wanted % batch
        } else {
            wanted
        };
        if count == 0 {
            return Err(error(format!(
                "no calibration samples: {available} given, runs take {batch}"
            )));
        }
        Ok(Samples {
            data,
            input: value.name.clone(),
            count,
            batch,
            fixed,
        })
    }

    /// The runs: `[batch, ...]` shapes and bytes.
    pub fn batches(&self) -> impl Iterator<Item = (Vec<usize>, &'a [u8])> + '_ {
        let shape = self.data.shape();
        let per_sample = shape.iter().skip(1).product::<usize>() * 4;
        let bytes = self.data.bytes();
        let runs = self.count.div_ceil(self.batch);
        (0..runs).filter_map(move |i| {
            let first = i.checked_mul(self.batch)?;
            let rows = self.batch.min(self.count.checked_sub(first)?);
            if self.fixed && rows != self.batch {
                return None;
            }
            let mut run_shape = shape.to_vec();
            *run_shape.first_mut()? = rows;
            let start = first.checked_mul(per_sample)?;
            let chunk = bytes.get(start..start.checked_add(rows.checked_mul(per_sample)?)?)?;
            Some((run_shape, chunk))
        })
    }
}

/// A session on a copy of a graph whose main body outputs chosen values.
pub(crate) struct Runner {
    session: Session,
    names: Vec<String>,
}

impl Runner {
    /// Loads `graph` with `probes` made outputs (in this order, after the
    /// model's own outputs).
    pub fn new(graph: &Graph, probes: &[ValueId]) -> Result<Runner, ConvertError> {
        let mut graph = graph.clone();
        let names = probes
            .iter()
            .map(|&id| graph.name(id).to_string())
            .collect();
        if let Some(main) = graph.bodies.first_mut() {
            for &id in probes {
                if !main.outputs.contains(&id) {
                    main.outputs.push(id);
                }
            }
        }
        crate::passes::eliminate_dead_code(&mut graph);
        let (model, tensor_data) = crate::export::export(&graph, Metadata::default());
        let bytes = Converted {
            model,
            tensor_data,
            report: ConvertReport::default(),
        }
        .to_pnn_bytes()?;
        let model = pocketnn::Model::from_bytes(&bytes)
            .map_err(|e| error(format!("cannot load the model to calibrate: {e}")))?;
        let session = Session::new(&model, SessionOptions::default())
            .map_err(|e| error(format!("cannot run the model to calibrate: {e}")))?;
        Ok(Runner { session, names })
    }

    /// Runs one batch and hands the probes' values to `visit` (probe index,
    /// tensor).
    pub fn run(
        &mut self,
        input: &str,
        (shape, bytes): (&[usize], &[u8]),
        mut visit: impl FnMut(usize, TensorView<'_>) -> Result<(), ConvertError>,
    ) -> Result<(), ConvertError> {
        let view = TensorView::new(DType::F32, shape, bytes)
            .map_err(|e| error(format!("calibration batch: {e}")))?;
        let outputs = self
            .session
            .run_views(&[(input, view)])
            .map_err(|e| error(format!("calibration run failed: {e}")))?;
        for (i, name) in self.names.iter().enumerate() {
            let value = outputs
                .get(name)
                .map_err(|e| error(format!("calibration output `{name}`: {e}")))?;
            visit(i, value)?;
        }
        Ok(())
    }
}

/// f32 values of a probe.
pub(crate) fn floats<'t>(view: &TensorView<'t>) -> Result<&'t [f32], ConvertError> {
    view.as_slice::<f32>()
        .map_err(|e| error(format!("calibration output: {e}")))
}

/// The value range of every probe: min/max, then (when `histograms`) a
/// histogram over that range, from a second pass.
pub(crate) fn measure(
    graph: &Graph,
    probes: &[ValueId],
    samples: &Samples<'_>,
    histograms: bool,
) -> Result<Vec<Histogram>, ConvertError> {
    let mut runner = Runner::new(graph, probes)?;
    let mut ranges = vec![(f32::INFINITY, f32::NEG_INFINITY); probes.len()];
    for (shape, bytes) in samples.batches() {
        runner.run(&samples.input, (&shape, bytes), |i, view| {
            if let Some(r) = ranges.get_mut(i) {
                for &v in floats(&view)? {
                    if v.is_finite() {
                        r.0 = r.0.min(v);
                        r.1 = r.1.max(v);
                    }
                }
            }
            Ok(())
        })?;
    }
    let mut result: Vec<Histogram> = ranges
        .iter()
        .map(|&(low, high)| {
            let (low, high) = if low <= high { (low, high) } else { (0.0, 0.0) };
            Histogram::new(low, high, if histograms { HISTOGRAM_BINS } else { 1 })
        })
        .collect();
    if histograms {
        for (shape, bytes) in samples.batches() {
            runner.run(&samples.input, (&shape, bytes), |i, view| {
                if let Some(h) = result.get_mut(i) {
                    h.add(floats(&view)?);
                }
                Ok(())
            })?;
        }
    }
    Ok(result)
}
