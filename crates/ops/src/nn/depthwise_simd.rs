//! The SIMD fast path of depthwise `Conv`: 2-D, one output channel per
//! input channel (`group == C == M`), square 3×3 or 5×5 filters, the same
//! stride (1 or 2) on both axes, dilation 1, non-negative padding. It runs
//! the `f32-dwconv*` kernels of `pocketnn_tensor::kernels::depthwise` with
//! the bias and a fused activation; every other depthwise shape stays on
//! the direct loops of [`super::depthwise`].
//!
//! `Conv` calls [`run_fast`] first and falls back when it answers `None`.

use super::common::{checked_mul, shape_error};
use super::conv::ConvPlan;
use super::window::Axis;
use crate::error::OpResult;
use pocketnn_tensor::Isa;
use pocketnn_tensor::kernels::activation::Activation;
use pocketnn_tensor::kernels::depthwise::{DepthwiseGeometry, depthwise_f32, is_supported};

#[cfg(test)]
mod tests;

/// The kernel geometry for `plan` when it is a fast-path case.
fn fast_geometry(plan: &ConvPlan) -> Option<DepthwiseGeometry> {
    if plan.group != plan.in_channels || plan.out_channels != plan.in_channels {
        return None;
    }
    let [h, w]: [Axis; 2] = match plan.geo.axes() {
        [h, w] => [*h, *w],
        _ => return None,
    };
    let square = h.kernel == w.kernel && h.stride == w.stride;
    let undilated = h.dilation == 1 && w.dilation == 1;
    if !square || !undilated || !is_supported(w.kernel, w.stride) {
        return None;
    }
    if h.input == 0 || w.input == 0 {
        return None;
    }
    let pad_top = usize::try_from(h.pad_begin).ok()?;
    let pad_left = usize::try_from(w.pad_begin).ok()?;
    Some(DepthwiseGeometry::new(
        w.kernel,
        w.stride,
        (h.input, w.input),
        (h.output, w.output),
        (pad_top, pad_left),
    ))
}

/// Depthwise `Conv` on the SIMD kernels of tier `isa`: `y = activation(conv(x,
/// w) + bias)` for the validated `plan`, `x` being N×C×H×W, `w` C×1×k×k,
/// `bias` C values and `y` N×C×OH×OW.
///
/// Returns `None` (having written nothing) when `plan` is not a fast-path
/// case (see the module docs); then the caller runs its generic path and
/// applies `activation` itself.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_fast(
    isa: Isa,
    plan: &ConvPlan,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    activation: Activation,
    y: &mut [f32],
) -> Option<OpResult<()>> {
    let geometry = fast_geometry(plan)?;
    Some(run_batch(isa, plan, &geometry, x, w, bias, activation, y))
}

/// Runs the kernel once per batch item.
#[allow(clippy::too_many_arguments)]
fn run_batch(
    isa: Isa,
    plan: &ConvPlan,
    geometry: &DepthwiseGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    activation: Activation,
    y: &mut [f32],
) -> OpResult<()> {
    let channels = plan.in_channels;
    let in_item = checked_mul(channels, plan.geo.input_size())?;
    let out_item = checked_mul(channels, plan.geo.output_size())?;
    if x.len() != checked_mul(plan.batch, in_item)? || y.len() != checked_mul(plan.batch, out_item)?
    {
        return Err(shape_error(format!(
            "depthwise Conv: {} input and {} output values do not fit the plan {plan:?}",
            x.len(),
            y.len()
        )));
    }
    if out_item == 0 {
        return Ok(());
    }
    for (x_n, y_n) in x.chunks_exact(in_item).zip(y.chunks_exact_mut(out_item)) {
        depthwise_f32(isa, geometry, x_n, w, bias, activation, y_n)?;
    }
    Ok(())
}
