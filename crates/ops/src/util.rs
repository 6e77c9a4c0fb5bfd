//! Small helpers shared by operators: input access, axes, broadcasting.

use crate::error::{OpError, OpResult};
use crate::operator::InputInfo;
use pocketnn_tensor::TensorView;

/// Checks that between `min` and `max` inputs were given (`expected` is the
/// human form used in the error, e.g. `"1 to 3"`).
pub fn check_input_count<T>(
    inputs: &[Option<T>],
    min: usize,
    max: usize,
    expected: &'static str,
) -> OpResult<()> {
    if inputs.len() < min || inputs.len() > max {
        return Err(OpError::InputCount {
            expected,
            actual: inputs.len(),
        });
    }
    Ok(())
}

/// Input `index` when it is required.
pub fn required<T: Copy>(inputs: &[Option<T>], index: usize) -> OpResult<T> {
    inputs
        .get(index)
        .copied()
        .flatten()
        .ok_or(OpError::MissingInput { index })
}

/// Input `index` when it is optional (absent or beyond the list = `None`).
pub fn optional<T: Copy>(inputs: &[Option<T>], index: usize) -> Option<T> {
    inputs.get(index).copied().flatten()
}

/// The value of input `index` during inference, or `NeedsValue`.
pub fn known_value<'a>(inputs: &[Option<InputInfo<'a>>], index: usize) -> OpResult<TensorView<'a>> {
    required(inputs, index)?
        .value
        .ok_or(OpError::NeedsValue { index })
}

/// Resolves a possibly negative `axis` against `rank` (valid: `-rank..rank`).
pub fn normalize_axis(axis: i64, rank: usize) -> OpResult<usize> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(OpError::ShapeMismatch {
            reason: format!("axis {axis} is out of range for rank {rank}"),
        });
    }
    Ok(if axis < 0 { axis + r } else { axis } as usize)
}

/// The multidirectional (numpy) broadcast of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> OpResult<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(OpError::ShapeMismatch {
                    reason: format!("cannot broadcast {a:?} with {b:?}"),
                });
            }
        };
    }
    Ok(out)
}

/// Strides (in elements) for reading a tensor of `shape` as if it had the
/// broadcast shape `out`: axes that are broadcast get stride 0. `shape` must
/// broadcast to `out` (as [`broadcast_shapes`] checked).
pub fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let own = pocketnn_tensor::strides(shape);
    let offset = out.len() - shape.len();
    (0..out.len())
        .map(|i| {
            if i < offset || shape[i - offset] == 1 {
                0
            } else {
                own[i - offset]
            }
        })
        .collect()
}

/// Calls `f(output_index, input_offsets)` for every element of a tensor of
/// shape `out`, where input `k` is read with `strides[k]` (from
/// [`broadcast_strides`]). Offsets are advanced incrementally (no division).
pub fn for_each_broadcast<const N: usize>(
    out: &[usize],
    strides: [&[usize]; N],
    mut f: impl FnMut(usize, [usize; N]),
) {
    let total: usize = out.iter().product();
    if total == 0 {
        return;
    }
    let rank = out.len();
    let mut index = vec![0usize; rank];
    let mut offsets = [0usize; N];
    for i in 0..total {
        f(i, offsets);
        // advance the multi-index
        let mut axis = rank;
        while axis > 0 {
            axis -= 1;
            index[axis] += 1;
            for k in 0..N {
                offsets[k] += strides[k][axis];
            }
            if index[axis] < out[axis] {
                break;
            }
            for k in 0..N {
                offsets[k] -= strides[k][axis] * out[axis];
            }
            index[axis] = 0;
        }
    }
}

/// Checks that a shape's element count and byte size fit in memory.
pub fn checked_shape(shape: Vec<usize>, elem_size: usize) -> OpResult<Vec<usize>> {
    match pocketnn_tensor::num_elements(&shape).and_then(|n| n.checked_mul(elem_size)) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(shape),
        _ => Err(OpError::TooLarge { shape }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(
            broadcast_shapes(&[2, 1, 4], &[3, 1]).unwrap(),
            vec![2, 3, 4]
        );
        assert_eq!(broadcast_shapes(&[], &[5]).unwrap(), vec![5]);
        assert!(broadcast_shapes(&[2, 3], &[4, 3]).is_err());
        assert_eq!(broadcast_strides(&[3, 1], &[2, 3, 4]), vec![0, 1, 0]);
    }

    #[test]
    fn broadcast_iteration_visits_offsets_in_order() {
        let out = [2, 3];
        let a = broadcast_strides(&[2, 1], &out);
        let b = broadcast_strides(&[3], &out);
        let mut seen = vec![];
        for_each_broadcast(&out, [&a, &b], |i, [oa, ob]| seen.push((i, oa, ob)));
        assert_eq!(
            seen,
            vec![
                (0, 0, 0),
                (1, 0, 1),
                (2, 0, 2),
                (3, 1, 0),
                (4, 1, 1),
                (5, 1, 2)
            ]
        );
    }

    #[test]
    fn axes_normalize_and_reject_out_of_range() {
        assert_eq!(normalize_axis(-1, 3).unwrap(), 2);
        assert_eq!(normalize_axis(0, 1).unwrap(), 0);
        assert!(normalize_axis(3, 3).is_err());
        assert!(normalize_axis(-4, 3).is_err());
    }
}
