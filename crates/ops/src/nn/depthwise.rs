//! Direct 2-D (and 1-D) convolution for one input channel per group:
//! depthwise convolution, with any channel multiplier.
//!
//! Per kernel tap, the output rows and columns whose tap lands inside the
//! input accumulate a scaled, strided input row — no im2col, no scratch,
//! bounds computed once per tap, unit-stride inner loops the compiler
//! vectorises.

use super::conv::ConvPlan;
use super::window::{Axis, scaled, valid_range};

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
                // Tap by tap: each adds a scaled, shifted copy of the input
                // to the output rows and columns it reaches.
                for kh in 0..h.kernel {
                    let offset_h = scaled(kh, h.dilation) - h.pad_begin;
                    let (oh_lo, oh_hi) = valid_range(0, h.output, h.stride, offset_h, h.input);
                    for kw in 0..wd.kernel {
                        let weight = w_oc[kh * wd.kernel + kw];
                        let offset_w = scaled(kw, wd.dilation) - wd.pad_begin;
                        let (lo, hi) = valid_range(0, wd.output, wd.stride, offset_w, wd.input);
                        if hi <= lo {
                            continue;
                        }
                        let first_iw = (scaled(lo, wd.stride) + offset_w) as usize;
                        for oh in oh_lo..oh_hi {
                            let ih = (scaled(oh, h.stride) + offset_h) as usize;
                            let x_row = &x_c[ih * wd.input + first_iw..(ih + 1) * wd.input];
                            let y_row = &mut y_oc[oh * wd.output + lo..oh * wd.output + hi];
                            accumulate_row(y_row, x_row, weight, wd.stride);
                        }
                    }
                }
            }
        }
    }
}

/// Lanes of the unit-stride loop of [`accumulate_row`].
const LANES: usize = 8;

/// `y_row[j] += weight * x_row[j * stride]`; `x_row` reaches far enough.
#[inline]
fn accumulate_row(y_row: &mut [f32], x_row: &[f32], weight: f32, stride: usize) {
    if stride == 1 {
        let x_row = &x_row[..y_row.len()];
        // Fixed-width blocks: where this crate is optimised for size
        // (profile release-mobile) the loop vectoriser adds no remainder
        // loop, so a plain loop stays scalar; these blocks vectorise on
        // x86_64 there, but on aarch64 they stay scalar too (objdump).
        let (y_blocks, y_tail) = y_row.as_chunks_mut::<LANES>();
        let (x_blocks, x_tail) = x_row.as_chunks::<LANES>();
        for (o, v) in y_blocks.iter_mut().zip(x_blocks) {
            for (o, &v) in o.iter_mut().zip(v) {
                *o += weight * v;
            }
        }
        for (o, &v) in y_tail.iter_mut().zip(x_tail) {
            *o += weight * v;
        }
    } else {
        for (o, &v) in y_row.iter_mut().zip(x_row.iter().step_by(stride)) {
            *o += weight * v;
        }
    }
}
