//! Resize's kernels: an f32 pass that interpolates along one axis, and the
//! dtype-generic nearest gather (which is [`gather_by_maps`]).
//!
//! [`gather_by_maps`]: crate::data::common::gather_by_maps

use super::coords::Taps;
use crate::data::common::out_of_bounds;
use crate::error::OpResult;

/// The layout of one interpolation pass: `src` is `[outer, input, inner]`,
/// `dst` is `[outer, output, inner]` with `output = taps.outside.len()`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pass {
    /// Product of the dimensions before the axis.
    pub outer: usize,
    /// Input length of the axis.
    pub input: usize,
    /// Product of the dimensions after the axis.
    pub inner: usize,
}

/// Interpolates `src` along one axis into `dst`: each output row is the
/// weighted sum of the input rows named by `taps`, or `fill` where the tap
/// is outside the input (`tf_crop_and_resize`).
pub(crate) fn interpolate_axis(
    src: &[f32],
    pass: Pass,
    taps: &Taps,
    fill: f32,
    dst: &mut [f32],
) -> OpResult<()> {
    let Pass {
        outer,
        input,
        inner,
    } = pass;
    let output = taps.outside.len();
    let src_len = outer.checked_mul(input).and_then(|n| n.checked_mul(inner));
    let dst_len = outer.checked_mul(output).and_then(|n| n.checked_mul(inner));
    let taps_ok = taps.indices.len() == output * taps.count
        && taps.weights.len() == taps.indices.len()
        && taps.indices.iter().all(|&i| i < input);
    if src_len != Some(src.len()) || dst_len != Some(dst.len()) || !taps_ok {
        return Err(out_of_bounds());
    }
    if dst.is_empty() {
        return Ok(());
    }
    // Every row index below is < outer * input (checked above).
    for (o, dst_block) in dst.chunks_exact_mut(output * inner).enumerate() {
        let src_block = &src[o * input * inner..(o + 1) * input * inner];
        for (j, row) in dst_block.chunks_exact_mut(inner).enumerate() {
            if taps.outside[j] {
                row.fill(fill);
                continue;
            }
            row.fill(0.0);
            let span = j * taps.count..(j + 1) * taps.count;
            for (&i, &w) in taps.indices[span.clone()].iter().zip(&taps.weights[span]) {
                let from = &src_block[i * inner..(i + 1) * inner];
                for (d, &s) in row.iter_mut().zip(from) {
                    *d += w * s;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_by_hand() {
        // [outer 1, input 2, inner 2] -> 3 rows: row0, mean, extrapolated
        let src = [1.0, 2.0, 3.0, 4.0];
        let taps = Taps {
            count: 2,
            indices: vec![0, 1, 0, 1, 0, 0],
            weights: vec![1.0, 0.0, 0.5, 0.5, 0.0, 0.0],
            outside: vec![false, false, true],
        };
        let mut dst = [0.0; 6];
        let pass = Pass {
            outer: 1,
            input: 2,
            inner: 2,
        };
        interpolate_axis(&src, pass, &taps, -1.0, &mut dst).unwrap();
        assert_eq!(dst, [1.0, 2.0, 2.0, 3.0, -1.0, -1.0]);
        assert!(interpolate_axis(&src[..3], pass, &taps, 0.0, &mut dst).is_err());
    }
}
