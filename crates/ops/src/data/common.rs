//! Helpers shared by the data-movement operators: reading shape-like inputs,
//! checking outputs, and the two generic copy kernels every op reduces to
//! (a strided copy and a gather through per-axis index maps).
//!
//! Kernels work on elements as opaque byte arrays (`[u8; N]` for the element
//! size `N`), so one implementation serves every dtype.

use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, OutputSpec};
use crate::util::known_value;
use bytemuck::Pod;
use pocketnn_format::DType;
use pocketnn_tensor::{TensorView, TensorViewMut};

/// Runs `$body` with the type alias `$T` bound to `[u8; N]`, `N` being the
/// element size `$size` in bytes (1, 2, 4 or 8: every pocketnn dtype).
macro_rules! with_element_type {
    ($size:expr, $T:ident => $body:expr) => {
        match $size {
            1 => {
                type $T = [u8; 1];
                $body
            }
            2 => {
                type $T = [u8; 2];
                $body
            }
            4 => {
                type $T = [u8; 4];
                $body
            }
            8 => {
                type $T = [u8; 8];
                $body
            }
            other => Err($crate::error::OpError::Unsupported {
                what: format!("elements of {other} bytes"),
            }),
        }
    };
}
pub(crate) use with_element_type;

/// The inputs of `run` as the `InputInfo`s `infer` takes, so both share one
/// planning function.
pub(crate) fn infos<'a>(inputs: &[Option<TensorView<'a>>]) -> Vec<Option<InputInfo<'a>>> {
    inputs.iter().map(|i| i.map(InputInfo::from)).collect()
}

/// Checks the outputs handed to `run` against what `infer` returned: no more
/// outputs than specs (trailing ones may be omitted), same dtypes and shapes.
pub(crate) fn check_outputs(specs: &[OutputSpec], outputs: &[TensorViewMut<'_>]) -> OpResult<()> {
    if outputs.len() > specs.len() {
        return Err(OpError::ShapeMismatch {
            reason: format!(
                "{} outputs given, the operator produces {}",
                outputs.len(),
                specs.len()
            ),
        });
    }
    for (i, (spec, out)) in specs.iter().zip(outputs).enumerate() {
        if out.dtype() != spec.dtype || out.shape() != spec.shape.as_slice() {
            return Err(OpError::ShapeMismatch {
                reason: format!(
                    "output {i} is {} {:?}, expected {} {:?}",
                    out.dtype(),
                    out.shape(),
                    spec.dtype,
                    spec.shape
                ),
            });
        }
    }
    Ok(())
}

/// The values of a shape-like integer input (i32 or i64, rank 0 or 1).
pub(crate) fn int_values(view: TensorView<'_>, index: usize) -> OpResult<Vec<i64>> {
    if !matches!(view.dtype(), DType::I32 | DType::I64) {
        return Err(OpError::UnsupportedDType {
            index,
            dtype: view.dtype(),
        });
    }
    if view.rank() > 1 {
        return Err(OpError::InvalidInput {
            index,
            reason: format!("expected a 1-D tensor, got shape {:?}", view.shape()),
        });
    }
    Ok(view.to_i64_vec()?)
}

/// The values of integer input `index`, which must be present and known.
pub(crate) fn known_ints(inputs: &[Option<InputInfo<'_>>], index: usize) -> OpResult<Vec<i64>> {
    int_values(known_value(inputs, index)?, index)
}

/// The values of optional integer input `index` (`None` when omitted).
pub(crate) fn optional_known_ints(
    inputs: &[Option<InputInfo<'_>>],
    index: usize,
) -> OpResult<Option<Vec<i64>>> {
    match inputs.get(index).copied().flatten() {
        None => Ok(None),
        Some(_) => known_ints(inputs, index).map(Some),
    }
}

/// Resolves a list of possibly negative axes against `rank`, rejecting
/// duplicates. Linear in `rank + axes.len()`.
pub(crate) fn normalize_axes(axes: &[i64], rank: usize) -> OpResult<Vec<usize>> {
    let mut seen = vec![false; rank];
    let mut out = Vec::with_capacity(axes.len().min(rank));
    for &a in axes {
        let axis = crate::util::normalize_axis(a, rank)?;
        if std::mem::replace(&mut seen[axis], true) {
            return Err(OpError::ShapeMismatch {
                reason: format!("axis {a} is given twice"),
            });
        }
        out.push(axis);
    }
    Ok(out)
}

/// A mask of length `rank` with `true` at each of `axes` (already normalized).
pub(crate) fn axis_mask(axes: &[usize], rank: usize) -> Vec<bool> {
    let mut mask = vec![false; rank];
    for &a in axes {
        if let Some(m) = mask.get_mut(a) {
            *m = true;
        }
    }
    mask
}

/// A dimension as `i64` (tensor dimensions always fit: byte sizes are
/// bounded by `isize::MAX`).
pub(crate) fn dim_i64(dim: usize) -> i64 {
    i64::try_from(dim).unwrap_or(i64::MAX)
}

/// A non-negative `i64` from input `index` as a dimension.
pub(crate) fn to_dim(value: i64, index: usize) -> OpResult<usize> {
    if value < 0 {
        return Err(OpError::InvalidInput {
            index,
            reason: format!("dimension {value} is negative"),
        });
    }
    usize::try_from(value).map_err(|_| OpError::TooLarge {
        shape: vec![usize::MAX],
    })
}

/// Row-major strides (in elements) of `shape`. Exact for any shape of a
/// non-empty tensor; for an empty one (whose other dimensions may be huge)
/// the products saturate instead of overflowing, and are never used to read.
pub(crate) fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1].saturating_mul(shape[i + 1]);
    }
    strides
}

/// An error for a copy whose computed source range does not fit the input:
/// it means an operator computed an inconsistent plan, which must not panic.
pub(crate) fn out_of_bounds() -> OpError {
    OpError::ShapeMismatch {
        reason: "internal: computed read is outside the input".to_string(),
    }
}

/// The elements of `bytes` as `[u8; N]` arrays.
pub(crate) fn elements<T: Pod>(bytes: &[u8]) -> OpResult<&[T]> {
    bytemuck::try_cast_slice(bytes).map_err(|_| out_of_bounds())
}

/// The elements of `bytes` as mutable `[u8; N]` arrays.
pub(crate) fn elements_mut<T: Pod>(bytes: &mut [u8]) -> OpResult<&mut [T]> {
    bytemuck::try_cast_slice_mut(bytes).map_err(|_| out_of_bounds())
}

/// Merges the axes of a strided read into as few as possible: size-1 axes
/// are dropped and neighbours that are contiguous in the source merged.
/// Returns `(dim, stride)` pairs, outermost first.
fn coalesce(shape: &[usize], strides: &[isize]) -> Vec<(usize, isize)> {
    let mut out: Vec<(usize, isize)> = Vec::with_capacity(shape.len());
    for (&dim, &stride) in shape.iter().zip(strides) {
        if dim == 1 {
            continue;
        }
        if let Some(last) = out.last_mut() {
            let merged = isize::try_from(dim)
                .ok()
                .and_then(|d| stride.checked_mul(d))
                .is_some_and(|span| span == last.1);
            if merged && let Some(d) = last.0.checked_mul(dim) {
                *last = (d, stride);
                continue;
            }
        }
        out.push((dim, stride));
    }
    out
}

/// Copies a strided view of `src` into the contiguous `dst`: element
/// `(i0, i1, ...)` of the output (of shape `shape`) reads
/// `src[base + i0 * strides[0] + i1 * strides[1] + ...]`. Strides are in
/// elements and may be zero (broadcast) or negative (reversed slices).
///
/// The whole read range is checked before copying; an inconsistent plan is
/// an error, never a panic.
pub(crate) fn strided_copy<T: Copy>(
    src: &[T],
    base: usize,
    shape: &[usize],
    strides: &[isize],
    dst: &mut [T],
) -> OpResult<()> {
    let total = pocketnn_tensor::num_elements(shape).ok_or_else(out_of_bounds)?;
    if total != dst.len() || shape.len() != strides.len() {
        return Err(out_of_bounds());
    }
    if total == 0 {
        return Ok(());
    }
    let axes = coalesce(shape, strides);
    // Check the lowest and highest offset read (i128: no overflow possible).
    let mut low = base as i128;
    let mut high = base as i128;
    for &(dim, stride) in &axes {
        let span = (dim as i128 - 1) * stride as i128;
        if span < 0 {
            low += span;
        } else {
            high += span;
        }
    }
    if low < 0 || high >= src.len() as i128 {
        return Err(out_of_bounds());
    }
    // From here every offset computed below lies in [low, high]: indexing
    // cannot fail.
    let Some((&(inner_dim, inner_stride), outer)) = axes.split_last() else {
        dst[0] = src[base];
        return Ok(());
    };
    if inner_stride != 0 && inner_stride != 1 && inner_dim >= TILE {
        // A transpose-like copy: if the source's contiguous axis is another
        // output axis, read and write in tiles so both stay in cache.
        if let Some(k) = outer.iter().position(|&(d, s)| s == 1 && d >= TILE) {
            blocked_copy(src, base, &axes, k, dst);
            return Ok(());
        }
    }
    let mut index = vec![0usize; outer.len()];
    let mut offset = base as isize;
    for row in dst.chunks_exact_mut(inner_dim) {
        let start = offset as usize;
        match inner_stride {
            1 => row.copy_from_slice(&src[start..start + inner_dim]),
            0 => row.fill(src[start]),
            _ => {
                for (k, x) in row.iter_mut().enumerate() {
                    *x = src[(offset + k as isize * inner_stride) as usize];
                }
            }
        }
        for axis in (0..outer.len()).rev() {
            let (dim, stride) = outer[axis];
            if index[axis] + 1 < dim {
                index[axis] += 1;
                offset += stride;
                break;
            }
            offset -= stride * (dim as isize - 1);
            index[axis] = 0;
        }
    }
    Ok(())
}

/// Side of the square tiles of [`blocked_copy`], in elements.
const TILE: usize = 16;

/// The tiled form of [`strided_copy`] for coalesced `axes` whose axis `k`
/// has source stride 1 and whose last axis does not: the copy runs over
/// `TILE × TILE` tiles of (axis `k`, last axis) so that the source rows
/// read by one tile stay in cache while the destination is written row by
/// row. The caller has checked that every read lies inside `src`.
fn blocked_copy<T: Copy>(src: &[T], base: usize, axes: &[(usize, isize)], k: usize, dst: &mut [T]) {
    let n = axes.len();
    let (inner_dim, inner_stride) = axes[n - 1];
    let k_dim = axes[k].0;
    // Destination strides of the coalesced shape (row-major, bounded by dst).
    let mut dst_strides = vec![1usize; n];
    for i in (0..n - 1).rev() {
        dst_strides[i] = dst_strides[i + 1] * axes[i + 1].0;
    }
    let k_step = dst_strides[k];
    let rest: Vec<usize> = (0..n - 1).filter(|&i| i != k).collect();
    let mut index = vec![0usize; rest.len()];
    let (mut src_at, mut dst_at) = (base as isize, 0usize);
    for _ in 0..dst.len() / (k_dim * inner_dim) {
        for a0 in (0..k_dim).step_by(TILE) {
            for b0 in (0..inner_dim).step_by(TILE) {
                for a in a0..(a0 + TILE).min(k_dim) {
                    let row = dst_at + a * k_step;
                    let from = src_at + a as isize;
                    for b in b0..(b0 + TILE).min(inner_dim) {
                        dst[row + b] = src[(from + b as isize * inner_stride) as usize];
                    }
                }
            }
        }
        for r in (0..rest.len()).rev() {
            let (dim, stride) = axes[rest[r]];
            if index[r] + 1 < dim {
                index[r] += 1;
                src_at += stride;
                dst_at += dst_strides[rest[r]];
                break;
            }
            src_at -= stride * (dim as isize - 1);
            dst_at -= dst_strides[rest[r]] * (dim - 1);
            index[r] = 0;
        }
    }
}

/// Where one output coordinate along an axis reads from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pick {
    /// This index of the input axis.
    Index(usize),
    /// Not from the input: the element is `fills[k]` (a padding constant,
    /// an extrapolation value ...).
    Fill(usize),
}

/// Gathers `src` (of shape `src_shape`) through one index map per axis:
/// output element `(i0, i1, ...)` reads `src[maps[0][i0], maps[1][i1], ...]`.
/// When some maps pick a fill, the one of the innermost such axis wins.
pub(crate) fn gather_by_maps<T: Copy>(
    src: &[T],
    src_shape: &[usize],
    maps: &[Vec<Pick>],
    fills: &[T],
    dst: &mut [T],
) -> OpResult<()> {
    if maps.len() != src_shape.len() {
        return Err(out_of_bounds());
    }
    let total = maps
        .iter()
        .try_fold(1usize, |acc, m| acc.checked_mul(m.len()))
        .ok_or_else(out_of_bounds)?;
    if total != dst.len() {
        return Err(out_of_bounds());
    }
    if total == 0 {
        return Ok(());
    }
    for (map, &dim) in maps.iter().zip(src_shape) {
        for pick in map {
            let ok = match *pick {
                Pick::Index(i) => i < dim,
                Pick::Fill(k) => k < fills.len(),
            };
            if !ok {
                return Err(out_of_bounds());
            }
        }
    }
    if pocketnn_tensor::num_elements(src_shape) != Some(src.len()) {
        return Err(out_of_bounds());
    }
    // Every index is below its dimension, so every offset is inside `src`
    // (for an empty `src` every element is a fill and no offset is used).
    let strides = strides_of(src_shape);
    let Some((inner_map, outer_maps)) = maps.split_last() else {
        dst[0] = src[0];
        return Ok(());
    };
    let inner_stride = strides[strides.len() - 1];
    let mut index = vec![0usize; outer_maps.len()];
    for row in dst.chunks_exact_mut(inner_map.len()) {
        let mut offset = 0usize;
        let mut fill = None;
        for (axis, map) in outer_maps.iter().enumerate() {
            match map[index[axis]] {
                Pick::Index(i) => offset = offset.saturating_add(i.saturating_mul(strides[axis])),
                Pick::Fill(k) => fill = Some(k),
            }
        }
        for (x, pick) in row.iter_mut().zip(inner_map) {
            *x = match (*pick, fill) {
                (Pick::Fill(k), _) | (Pick::Index(_), Some(k)) => fills[k],
                (Pick::Index(i), None) => src[offset + i * inner_stride],
            };
        }
        for axis in (0..outer_maps.len()).rev() {
            index[axis] += 1;
            if index[axis] < outer_maps[axis].len() {
                break;
            }
            index[axis] = 0;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_copy_transposes_and_reverses() {
        let src: Vec<u16> = (0..6).collect();
        let mut dst = vec![0u16; 6];
        // transpose of a 2x3 matrix
        strided_copy(&src, 0, &[3, 2], &[1, 3], &mut dst).unwrap();
        assert_eq!(dst, [0, 3, 1, 4, 2, 5]);
        // reversed rows
        strided_copy(&src, 3, &[2, 3], &[-3, 1], &mut dst).unwrap();
        assert_eq!(dst, [3, 4, 5, 0, 1, 2]);
        // broadcast of the first row
        strided_copy(&src, 0, &[2, 3], &[0, 1], &mut dst).unwrap();
        assert_eq!(dst, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn strided_copy_rejects_reads_outside_the_source() {
        let src = [0u8; 4];
        let mut dst = [0u8; 4];
        assert!(strided_copy(&src, 1, &[4], &[1], &mut dst).is_err());
        assert!(strided_copy(&src, 0, &[4], &[-1], &mut dst).is_err());
        assert!(strided_copy(&src, 0, &[2, 2], &[2], &mut dst).is_err());
    }

    #[test]
    fn gather_by_maps_lets_the_innermost_fill_win() {
        let src = [1u8, 2, 3, 4];
        let maps = vec![
            vec![Pick::Fill(0), Pick::Index(1)],
            vec![Pick::Index(0), Pick::Fill(1), Pick::Index(1)],
        ];
        let mut dst = [0u8; 6];
        gather_by_maps(&src, &[2, 2], &maps, &[7, 9], &mut dst).unwrap();
        assert_eq!(dst, [7, 9, 7, 3, 9, 4]);
        let bad = vec![vec![Pick::Index(2)], vec![Pick::Index(0)]];
        assert!(gather_by_maps(&src, &[2, 2], &bad, &[], &mut dst[..1]).is_err());
    }
}
