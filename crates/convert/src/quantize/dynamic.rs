//! `--quantize int8-dynamic`.

use super::{LayerReport, Quantization, not_implemented};
use crate::graph::Graph;
use crate::{ConvertError, ConvertOptions};

/// Quantizes `graph` in place; one report line per layer with weights.
pub(super) fn apply(
    _graph: &mut Graph,
    _options: &ConvertOptions,
) -> Result<Vec<LayerReport>, ConvertError> {
    Err(not_implemented(Quantization::Int8Dynamic))
}
