//! Quantization passes: `--quantize int8` (static, calibrated),
//! `--quantize int8-dynamic` and `--quantize fp16`.
//!
//! Each mode lives in its own file and rewrites the converter's graph after
//! the other passes ran; every layer it touches (or decides to leave float)
//! gets a [`LayerReport`] line in the conversion report.

mod dynamic;
mod fp16;
mod static_int8;

pub use static_int8::{Calibration, CalibrationMethod, DEFAULT_MIN_SQNR_DB};

use crate::graph::Graph;
use crate::{ConvertError, ConvertOptions};
use std::fmt;
use std::str::FromStr;

/// How `pocketnn convert` quantizes a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Quantization {
    /// int8 weights (symmetric, per output channel) and int8 activations
    /// (asymmetric, per tensor) with ranges measured on calibration data.
    Int8,
    /// int8 weights; activations quantized per row at run time, so no
    /// calibration data is needed.
    Int8Dynamic,
    /// Weights stored as IEEE half floats, computed in f32.
    Fp16,
}

impl Quantization {
    /// The name used on the command line (`int8`, `int8-dynamic`, `fp16`).
    pub fn name(self) -> &'static str {
        match self {
            Quantization::Int8 => "int8",
            Quantization::Int8Dynamic => "int8-dynamic",
            Quantization::Fp16 => "fp16",
        }
    }
}

impl fmt::Display for Quantization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Quantization {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "int8" => Ok(Quantization::Int8),
            "int8-dynamic" => Ok(Quantization::Int8Dynamic),
            "fp16" => Ok(Quantization::Fp16),
            other => Err(format!(
                "unknown quantization `{other}` (expected int8, int8-dynamic or fp16)"
            )),
        }
    }
}

/// What quantization did to one layer (a node with weights).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LayerReport {
    /// The node's name.
    pub name: String,
    /// Its operator before quantization (`Conv`, `Gemm`, `MatMul` ...).
    pub op: String,
    /// Bytes of its constant inputs (weights, bias) before.
    pub bytes_before: u64,
    /// Bytes of its constant inputs after (equal when it stayed float).
    pub bytes_after: u64,
    /// Signal-to-quantization-noise ratio of its output on the calibration
    /// data, in dB, when calibration data was given.
    pub sqnr_db: Option<f64>,
    /// Why the layer stayed float (`--keep-float`, error too large ...);
    /// `None` when it was quantized.
    pub kept_float: Option<String>,
}

/// Runs the quantization `options.quantize` asks for (nothing when `None`).
pub(crate) fn apply(
    graph: &mut Graph,
    options: &ConvertOptions,
) -> Result<Vec<LayerReport>, ConvertError> {
    match options.quantize {
        None => Ok(Vec::new()),
        Some(Quantization::Int8) => static_int8::apply(graph, options),
        Some(Quantization::Int8Dynamic) => dynamic::apply(graph, options),
        Some(Quantization::Fp16) => fp16::apply(graph, options),
    }
}
