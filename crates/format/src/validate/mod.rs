//! Semantic checks on a decoded model: metadata order, tensor placement and
//! quantization parameters, and the graph's references and scoping. The
//! reader runs them on every file; the writer runs them before writing.

mod graph;

use crate::{FormatError, GraphDef, Limits, Metadata, TENSOR_ALIGN, TensorEntry, TensorId};

/// Checks everything about a model that does not need the section bytes.
/// `data_len` is the length of the TENSOR_DATA section (0 when absent).
pub(crate) fn model(
    meta: &Metadata,
    graph: &GraphDef,
    tensor_entries: &[TensorEntry],
    data_len: u64,
    limits: &Limits,
) -> Result<(), FormatError> {
    metadata(meta)?;
    tensors(tensor_entries, data_len, limits)?;
    graph::check(graph, tensor_entries.len())
}

/// Property keys must be strictly ascending (so also unique).
fn metadata(meta: &Metadata) -> Result<(), FormatError> {
    for pair in meta.properties.windows(2) {
        if let [(previous, _), (key, _)] = pair {
            match previous.cmp(key) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => {
                    return Err(FormatError::DuplicatePropertyKey { key: key.clone() });
                }
                std::cmp::Ordering::Greater => {
                    return Err(FormatError::UnsortedPropertyKeys { key: key.clone() });
                }
            }
        }
    }
    Ok(())
}

/// The number of bytes a row-major tensor of this dtype size and shape takes.
pub(crate) fn row_major_len(dtype_size: usize, shape: &[u64]) -> Option<u64> {
    shape
        .iter()
        .try_fold(dtype_size as u64, |acc, &dim| acc.checked_mul(dim))
}

fn tensors(tensors: &[TensorEntry], data_len: u64, limits: &Limits) -> Result<(), FormatError> {
    let mut total = 0u64;
    for (index, tensor) in tensors.iter().enumerate() {
        let id = index as TensorId;
        single_tensor(id, tensor, data_len)?;
        total = total.saturating_add(tensor.len);
        if total > limits.max_total_tensor_bytes {
            return Err(FormatError::LimitExceeded {
                what: "total tensor bytes",
                found: total,
                limit: limits.max_total_tensor_bytes,
            });
        }
    }
    // Non-empty tensors must not share bytes.
    let mut by_offset: Vec<(u64, u64, TensorId)> = tensors
        .iter()
        .enumerate()
        .filter(|(_, t)| t.len > 0)
        .map(|(i, t)| (t.offset, t.len, i as TensorId))
        .collect();
    by_offset.sort_unstable();
    for pair in by_offset.windows(2) {
        if let [(offset, len, first), (next_offset, _, second)] = pair {
            // In bounds, so offset + len does not overflow.
            if offset.saturating_add(*len) > *next_offset {
                return Err(FormatError::TensorsOverlap {
                    first: *first,
                    second: *second,
                });
            }
        }
    }
    Ok(())
}

fn single_tensor(id: TensorId, tensor: &TensorEntry, data_len: u64) -> Result<(), FormatError> {
    let name = || tensor.name.clone();
    let expected = row_major_len(tensor.dtype.size(), &tensor.shape).ok_or_else(|| {
        FormatError::ShapeOverflow {
            tensor: id,
            name: name(),
        }
    })?;
    if tensor.len != expected {
        return Err(FormatError::TensorLengthMismatch {
            tensor: id,
            name: name(),
            expected,
            found: tensor.len,
        });
    }
    if !tensor.offset.is_multiple_of(TENSOR_ALIGN as u64) {
        return Err(FormatError::TensorMisaligned {
            tensor: id,
            name: name(),
            offset: tensor.offset,
        });
    }
    let end = tensor.offset.checked_add(tensor.len);
    if end.is_none_or(|end| end > data_len) {
        return Err(FormatError::TensorOutOfBounds {
            tensor: id,
            name: name(),
            offset: tensor.offset,
            len: tensor.len,
            data_len,
        });
    }
    let Some(quant) = &tensor.quant else {
        return Ok(());
    };
    let count = quant.scales.len();
    if count != quant.zero_points.len() || count == 0 {
        return Err(FormatError::QuantCountMismatch {
            tensor: id,
            name: name(),
            scales: count as u64,
            zero_points: quant.zero_points.len() as u64,
        });
    }
    let dim = match quant.axis {
        None => None,
        Some(axis) => {
            let size = usize::try_from(axis)
                .ok()
                .and_then(|axis| tensor.shape.get(axis));
            match size {
                Some(&size) => Some(size),
                None => {
                    return Err(FormatError::QuantAxisOutOfRange {
                        tensor: id,
                        name: name(),
                        axis,
                        rank: tensor.shape.len() as u64,
                    });
                }
            }
        }
    };
    if count != 1 && dim != Some(count as u64) {
        return Err(FormatError::QuantChannelMismatch {
            tensor: id,
            name: name(),
            count: count as u64,
            dim,
        });
    }
    Ok(())
}
