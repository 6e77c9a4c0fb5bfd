//! Direct 2-D (and 1-D) convolution for one input channel per group:
//! depthwise convolution, with any channel multiplier.
//!
//! Each output row accumulates, per kernel tap, a scaled and strided input
//! row over the range of output columns whose tap lands inside the input —
//! no im2col, no scratch, and unit-stride inner loops the compiler
//! vectorises.

use super::conv::ConvPlan;
use super::window::{Axis, valid_range};

/// `y = conv(x, w) + bias` for a plan with one input channel per group;
/// `axes` is the plan's geometry as (height, width).
pub(crate) fn run(
    plan: &ConvPlan,
    axes: &[Axis; 2],
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let [h, wd] = axes;
    let multiplier = plan.out_per_group();
    let (in_plane, out_plane) = (h.input * wd.input, h.output * wd.output);
    let taps = h.kernel * wd.kernel;
    for n in 0..plan.batch {
        for c in 0..plan.in_channels {
            let x_c = &x[(n * plan.in_channels + c) * in_plane..][..in_plane];
            for m in 0..multiplier {
                let oc = c * multiplier + m;
                let w_oc = &w[oc * taps..][..taps];
                let y_oc = &mut y[(n * plan.out_channels + oc) * out_plane..][..out_plane];
                y_oc.fill(bias.map_or(0.0, |b| b[oc]));
                for (oh, y_row) in y_oc.chunks_exact_mut(wd.output).enumerate() {
                    for kh in 0..h.kernel {
                        let ih = (oh * h.stride + kh * h.dilation) as i64 - h.pad_begin;
                        if ih < 0 || ih >= h.input as i64 {
                            continue;
                        }
                        let x_row = &x_c[ih as usize * wd.input..][..wd.input];
                        for kw in 0..wd.kernel {
                            let weight = w_oc[kh * wd.kernel + kw];
                            let offset = (kw * wd.dilation) as i64 - wd.pad_begin;
                            accumulate_row(y_row, x_row, weight, wd.stride, offset);
                        }
                    }
                }
            }
        }
    }
}

/// `y_row[o] += weight * x_row[o * stride + offset]` wherever the input
/// index is inside `x_row`.
fn accumulate_row(y_row: &mut [f32], x_row: &[f32], weight: f32, stride: usize, offset: i64) {
    let (lo, hi) = valid_range(0, y_row.len(), stride, offset, x_row.len());
    if hi <= lo {
        return;
    }
    let begin = ((lo * stride) as i64 + offset) as usize;
    let out = &mut y_row[lo..hi];
    if stride == 1 {
        for (o, &v) in out.iter_mut().zip(&x_row[begin..begin + (hi - lo)]) {
            *o += weight * v;
        }
    } else {
        for (o, &v) in out.iter_mut().zip(x_row[begin..].iter().step_by(stride)) {
            *o += weight * v;
        }
    }
}
