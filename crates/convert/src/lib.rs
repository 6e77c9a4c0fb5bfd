//! pocketnn's converter: ONNX in, `.pnn` out.
//!
//! [`convert`] decodes an ONNX model, imports it (each node lowered to the
//! pocketnn operator of the same name, older opsets normalised to the
//! opset-21 form), runs the graph passes (constant folding, BatchNorm
//! folding, dead-code elimination, shape inference with symbolic dims) and
//! returns a [`Converted`] model that can be written as a `.pnn` file.
//! Anything it cannot convert exactly is a [`ConvertError`] naming the op,
//! the node and the opset: it never produces a silently different model.
//!
//! ```no_run
//! use pocketnn_convert::{ConvertOptions, convert};
//!
//! let onnx = std::fs::read("model.onnx")?;
//! let converted = convert(&onnx, &ConvertOptions::default())?;
//! println!("{}", converted.report);
//! std::fs::write("model.pnn", converted.to_pnn_bytes()?)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `docs/convert.md` describes the pipeline, the opset normalisations and
//! the passes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod export;
mod graph;
mod import;
mod lowrank;
mod model_cost;
pub mod onnx;
mod passes;
mod prune;
mod quantize;
mod report;
#[cfg(test)]
mod test_onnx;
#[cfg(test)]
mod tests;
mod writer;

pub use error::ConvertError;
pub use lowrank::{LowRank, LowRankLayer};
pub use model_cost::ModelCost;
pub use prune::{PruneLayerReport, PrunePattern, Pruning};
pub use quantize::{
    Calibration, CalibrationMethod, DEFAULT_MIN_SQNR_DB, LayerReport, Quantization,
};
pub use report::ConvertReport;

use pocketnn_format::{Metadata, ModelDef};
use pocketnn_tensor::Tensor;
use prost::Message;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// How to convert.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConvertOptions {
    /// Evaluate nodes whose inputs are all constants (default on).
    pub fold_constants: bool,
    /// Fold `BatchNormalization` into a preceding `Conv`/`Gemm` (default on).
    pub fold_batch_norms: bool,
    /// Fuse residual adds and activations into the `Conv`, `Gemm` or
    /// `MatMul` before them, and zero `Pad`s into the `Conv` after them
    /// (default on; see `docs/ops/fusion.md`).
    pub fuse_epilogues: bool,
    /// Infer shapes, declaring them in the file, and fold shape values
    /// (default on).
    pub infer_shapes: bool,
    /// Fail when an operator the model needs, with the attribute values it
    /// has, is not implemented by this pocketnn build (default on; when off,
    /// such operators are listed as warnings, since a newer runtime may
    /// read the file).
    pub require_operators: bool,
    /// The model name written to the file; default: the ONNX graph's name.
    pub name: Option<String>,
    /// Quantize the model (default: `None`, keep it float); see
    /// `docs/quantization.md`.
    pub quantize: Option<Quantization>,
    /// Calibration data and settings, needed by `--quantize int8`.
    pub calibration: Option<Calibration>,
    /// Names of nodes that stay float (read by `--quantize int8`).
    pub keep_float: Vec<String>,
    /// Prune the weights (default: `None`); see `docs/compression.md`.
    pub prune: Option<Pruning>,
    /// Factorize weights by truncated SVD (default: `None`); see
    /// `docs/low-rank.md`.
    pub low_rank: Option<LowRank>,
    /// With `low_rank`: the names of the nodes to factorize; empty means
    /// every layer with a constant weight.
    pub low_rank_layers: Vec<String>,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            fold_constants: true,
            fold_batch_norms: true,
            fuse_epilogues: true,
            infer_shapes: true,
            require_operators: true,
            name: None,
            quantize: None,
            calibration: None,
            keep_float: Vec::new(),
            prune: None,
            low_rank: None,
            low_rank_layers: Vec::new(),
        }
    }
}

/// A converted model: the `.pnn` model definition, the tensor bytes and a
/// report of what the conversion did.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Converted {
    /// The model. `model.tensors[i]` describes `tensor_data[i]`; its offsets
    /// are laid out consecutively at 64-byte alignment.
    pub model: ModelDef,
    /// Little-endian, row-major bytes of each tensor entry.
    pub tensor_data: Vec<Vec<u8>>,
    /// What the conversion did.
    pub report: ConvertReport,
}

impl Converted {
    /// Writes the model as a `.pnn` stream.
    pub fn write_pnn(&self, out: impl Write) -> Result<(), ConvertError> {
        writer::write_pnn(self, out)
    }

    /// The model as `.pnn` bytes.
    pub fn to_pnn_bytes(&self) -> Result<Vec<u8>, ConvertError> {
        let mut bytes = Vec::new();
        self.write_pnn(&mut bytes)?;
        Ok(bytes)
    }
}

/// Passes run again after shape inference folded values, at most this often.
const MAX_SHAPE_ROUNDS: usize = 4;

/// Converts an ONNX model (the bytes of a `.onnx` file).
pub fn convert(onnx_bytes: &[u8], options: &ConvertOptions) -> Result<Converted, ConvertError> {
    let build = pocketnn_ops::build_operator;
    let (mut graph, stats) = import::import_model(onnx_bytes)?;
    let mut log = passes::PassLog::default();
    if options.fold_constants {
        passes::fold_constants(&mut graph, &mut log, &build);
    }
    if options.fold_batch_norms {
        passes::fold_batch_norms(&mut graph, &mut log);
    }
    log.dead_nodes += passes::eliminate_dead_code(&mut graph);
    if options.infer_shapes {
        for _ in 0..MAX_SHAPE_ROUNDS {
            if passes::infer_shapes(&mut graph, &mut log, &build)? == 0 {
                break;
            }
            if options.fold_constants {
                passes::fold_constants(&mut graph, &mut log, &build);
            }
            log.dead_nodes += passes::eliminate_dead_code(&mut graph);
        }
    }
    if options.fuse_epilogues {
        passes::fuse_epilogues(&mut graph, &mut log);
    }
    let layers_before = model_cost::measure(&graph);
    let (low_rank_layers, low_rank_pairs) = match options.low_rank {
        Some(mode) => lowrank::apply(&mut graph, mode, &options.low_rank_layers),
        None => Default::default(),
    };
    let mut pruned = match &options.prune {
        Some(pruning) => {
            let reports = prune::apply(&mut graph, pruning, &mut log)?;
            if pruning.pattern == PrunePattern::Channel && options.infer_shapes {
                reinfer_shapes(&mut graph, &mut log, &build)?;
            }
            reports
        }
        None => Vec::new(),
    };
    // Measured on the float graph, after the passes that change weights.
    let layers_after = model_cost::measure(&graph);
    let layers = quantize::apply(&mut graph, options)?;
    if let Some(pruning) = &options.prune {
        prune::lower(&mut graph, pruning, &mut pruned)?;
    }
    let cost_before = model_cost::total(&layers_before, &[]);
    let cost_after = model_cost::total(&layers_after, &pruned);
    lowrank::fuse_pairs(&mut graph, &low_rank_pairs);
    log.dead_nodes += passes::eliminate_dead_code(&mut graph);
    passes::check_operators(&graph, options.require_operators, &mut log, &build)?;

    let mut ops_after = BTreeMap::new();
    for node in graph.bodies.iter().flat_map(|b| &b.nodes) {
        *ops_after.entry(node.op.name().to_string()).or_insert(0) += 1;
    }
    let metadata = Metadata {
        name: options.name.clone().unwrap_or(stats.graph_name),
        producer: format!("pocketnn-convert {}", env!("CARGO_PKG_VERSION")),
        properties: vec![
            ("onnx_opset".to_string(), stats.opset.to_string()),
            ("onnx_producer".to_string(), stats.producer),
        ],
    };
    let (model, tensor_data) = export::export(&graph, metadata);
    let report = ConvertReport {
        opset: stats.opset,
        ops_before: stats.ops_before,
        ops_after,
        folded_nodes: log.folded_nodes,
        folded_values: log.folded_values,
        batch_norms_folded: log.batch_norms_folded,
        activations_fused: log.activations_fused,
        residual_adds_fused: log.residual_adds_fused,
        pads_folded: log.pads_folded,
        removed_nodes: stats.removed_nodes + log.dead_nodes,
        warnings: log.warnings,
        quantization: options.quantize,
        layers,
        pruning: options.prune,
        pruned_layers: pruned,
        low_rank: options.low_rank,
        low_rank_layers,
        cost_before,
        cost_after,
    };
    Ok(Converted {
        model,
        tensor_data,
        report,
    })
}

/// Forgets the inferred shapes (the layers changed size) and infers them
/// again.
fn reinfer_shapes(
    graph: &mut graph::Graph,
    log: &mut passes::PassLog,
    build: passes::BuildOp<'_>,
) -> Result<(), ConvertError> {
    let inputs = graph.inputs.clone();
    for (id, value) in graph.values.iter_mut().enumerate() {
        if value.constant.is_none() && !inputs.contains(&id) {
            value.shape = None;
        }
    }
    for _ in 0..MAX_SHAPE_ROUNDS {
        if passes::infer_shapes(graph, log, build)? == 0 {
            break;
        }
    }
    Ok(())
}

/// Converts the ONNX file `input` and writes the `.pnn` file `output`.
///
/// The file is written to a temporary file in `output`'s directory and
/// renamed over `output` only when complete, so an interrupted or failed
/// conversion never leaves a half-written `.pnn` behind.
pub fn convert_file(
    input: &Path,
    output: &Path,
    options: &ConvertOptions,
) -> Result<ConvertReport, ConvertError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ConvertError::Io { path, source }
    };
    let bytes = std::fs::read(input).map_err(io_error(input))?;
    let converted = convert(&bytes, options)?;
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let file_name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model.pnn".to_string());
    static NEXT_TEMP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT_TEMP.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temp = dir.join(format!(".{file_name}.{}-{n}.tmp", std::process::id()));
    let result = (|| {
        let file = std::fs::File::create(&temp).map_err(io_error(&temp))?;
        let mut out = std::io::BufWriter::new(file);
        converted.write_pnn(&mut out)?;
        let file = out.into_inner().map_err(|e| ConvertError::Io {
            path: temp.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io_error(&temp))?;
        std::fs::rename(&temp, output).map_err(io_error(output))
    })();
    if result.is_err() {
        // Best effort: the temporary file is ours and incomplete.
        let _ = std::fs::remove_file(&temp);
    }
    result.map(|()| converted.report)
}

/// Reads an ONNX `TensorProto` (e.g. an ONNX test case's `input_0.pb`).
pub fn read_tensor_proto(bytes: &[u8]) -> Result<Tensor, ConvertError> {
    let proto = onnx::proto::TensorProto::decode(bytes).map_err(|source| ConvertError::Decode {
        message: "TensorProto",
        source,
    })?;
    import::tensor::tensor_from_proto(&proto, "tensor")
}
