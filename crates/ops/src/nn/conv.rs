//! `Conv`: N-d convolution with groups, strides, dilations and padding.
//!
//! Three paths, chosen per call:
//! * pointwise (1×…×1 kernel, stride 1, no padding): one GEMM per group,
//!   straight on the input, no scratch;
//! * depthwise (one input channel per group, 1-D or 2-D): direct loops
//!   ([`super::depthwise`]);
//! * everything else: im2col of an output tile into the session scratch,
//!   then a GEMM per group and tile.
//!
//! Fused form (see `docs/ops/fusion.md`): an optional 4th input `Z` of the
//! output's shape and the `activation` attributes give
//! `Y = act(conv(X, W) + B + Z)`; the GEMM paths apply bias, `Z` and the
//! activation in the GEMM's epilogue, tile by tile.

use super::common::{
    TILE_BUDGET, check_output_count, checked_mul, f32_info, f32_input, infos_of, optional_f32_info,
    optional_f32_input, output_slice, scratch_f32, shape_error,
};
use super::depthwise;
use super::im2col::im2col;
use super::weight::{weight_info, weight_input};
use super::window::{Geometry, WindowAttrs};
use crate::attrs::Attrs;
use crate::error::OpResult;
use crate::fused::activation_from_attributes;
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::activation::Activation;
use pocketnn_tensor::kernels::gemm::{
    Accumulate, Epilogue, GemmB, GemmOptions, MatMut, MatRef, activate, gemm_f32_with,
};
use pocketnn_tensor::{TensorView, TensorViewMut};

/// The largest `group` accepted (bounds the per-group loops, not memory).
pub(crate) const MAX_GROUP: i64 = i32::MAX as i64;

/// ONNX `Conv` (opset 21): inputs `X`, `W`, optional `B`, plus the fused
/// form's optional residual `Z` and activation.
#[derive(Debug)]
pub(crate) struct Conv {
    window: WindowAttrs,
    group: usize,
    activation: Activation,
}

/// Sizes of one Conv call, validated.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConvPlan {
    /// Batch size.
    pub batch: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Groups.
    pub group: usize,
    /// Spatial geometry.
    pub geo: Geometry,
}

impl ConvPlan {
    /// Input channels per group.
    pub fn in_per_group(&self) -> usize {
        self.in_channels / self.group
    }

    /// Output channels per group.
    pub fn out_per_group(&self) -> usize {
        self.out_channels / self.group
    }
}

impl Conv {
    /// Builds the operator from its attributes.
    pub(crate) fn from_attrs(attrs: &Attrs<'_>) -> OpResult<Conv> {
        let group = attrs.int("group", 1)?;
        if !(1..=MAX_GROUP).contains(&group) {
            return Err(attrs.invalid("group", format!("{group} is not in 1..={MAX_GROUP}")));
        }
        Ok(Conv {
            window: WindowAttrs::parse(attrs, false)?,
            group: group as usize,
            activation: activation_from_attributes(attrs)?,
        })
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<ConvPlan> {
        check_input_count(inputs, 2, 4, "2 to 4")?;
        let x = f32_info(inputs, 0)?.shape;
        let w = weight_info(inputs, 1)?.shape;
        let bias = optional_f32_info(inputs, 2)?;
        if x.len() < 3 {
            return Err(shape_error(format!(
                "Conv input X must be N×C×spatial, got shape {x:?}"
            )));
        }
        if w.len() != x.len() {
            return Err(shape_error(format!(
                "Conv weight W has shape {w:?}, expected rank {} like X {x:?}",
                x.len()
            )));
        }
        let kernel = &w[2..];
        if let Some(k) = &self.window.kernel_shape
            && k.as_slice() != kernel
        {
            return Err(shape_error(format!(
                "kernel_shape {k:?} does not match the weight's spatial shape {kernel:?}"
            )));
        }
        let (batch, in_channels, out_channels) = (x[0], x[1], w[0]);
        let group = self.group;
        if in_channels % group != 0 || out_channels % group != 0 {
            return Err(shape_error(format!(
                "group {group} does not divide the {in_channels} input and {out_channels} output channels"
            )));
        }
        if w[1] != in_channels / group {
            return Err(shape_error(format!(
                "weight W {w:?} has {} input channels per group, X has {in_channels} in {group} groups",
                w[1]
            )));
        }
        if let Some(b) = bias
            && b.shape != [out_channels]
        {
            return Err(shape_error(format!(
                "bias B has shape {:?}, expected [{out_channels}]",
                b.shape
            )));
        }
        let geo = self.window.forward(&x[2..], kernel, false)?;
        if let Some(z) = optional_f32_info(inputs, 3)? {
            let mut shape = vec![batch, out_channels];
            shape.extend(geo.axes().iter().map(|a| a.output));
            if z.shape != shape.as_slice() {
                return Err(shape_error(format!(
                    "residual Z has shape {:?}, the output has {shape:?}",
                    z.shape
                )));
            }
        }
        Ok(ConvPlan {
            batch,
            in_channels,
            out_channels,
            group,
            geo,
        })
    }
}

impl Operator for Conv {
    fn op(&self) -> OpCode {
        OpCode::Conv
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        let plan = self.plan(inputs)?;
        let mut shape = vec![plan.batch, plan.out_channels];
        shape.extend(plan.geo.axes().iter().map(|a| a.output));
        Ok(vec![OutputSpec::new(
            DType::F32,
            checked_shape(shape, DType::F32.size())?,
        )])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let infos = infos_of::<4>(inputs, "2 to 4")?;
        let plan = self.plan(&infos[..inputs.len()])?;
        check_output_count(outputs.len(), 1, "Conv")?;
        let x = f32_input(inputs, 0)?;
        // An f16 weight is widened for this call (see `super::weight`).
        let w = weight_input(inputs, 1)?.to_f32(ctx.isa)?;
        let bias = optional_f32_input(inputs, 2)?;
        let residual = optional_f32_input(inputs, 3)?;
        let expected = checked_mul(
            checked_mul(plan.batch, plan.out_channels)?,
            plan.geo.output_size(),
        )?;
        let y = output_slice::<f32>(&mut outputs[0], 0, expected)?;
        if y.is_empty() {
            return Ok(());
        }
        let fused = Fused {
            residual,
            activation: self.activation,
        };
        run_conv(ctx, &plan, x, &w, bias, fused, y)
    }
}

/// The fused part of a Conv: residual `Z` (the output's shape) and activation.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Fused<'a> {
    /// `Z`, added after the bias.
    pub residual: Option<&'a [f32]>,
    /// Applied last.
    pub activation: Activation,
}

impl Fused<'_> {
    /// Applies the residual and activation to an output already holding
    /// `conv + bias` (the paths that do not end in a GEMM).
    fn apply_after(&self, y: &mut [f32]) {
        if let Some(z) = self.residual {
            y.iter_mut().zip(z).for_each(|(v, &r)| *v += r);
        }
        activate(self.activation, y);
    }
}

/// Fills row `r` (of length `row_len`) of `y` with `bias[r]` when there is
/// a bias, else leaves `y`; returns how the GEMM must then write it.
pub(crate) fn start_rows(y: &mut [f32], row_len: usize, bias: Option<&[f32]>) -> Accumulate {
    match bias {
        Some(bias) => {
            for (row, &b) in y.chunks_exact_mut(row_len.max(1)).zip(bias) {
                row.fill(b);
            }
            Accumulate::Yes
        }
        None => Accumulate::No,
    }
}

/// Computes `y` (N×M×out) from `x`, `w`, `bias` (and the fused residual
/// and activation) with a validated plan.
pub(crate) fn run_conv(
    ctx: &mut RunContext<'_>,
    plan: &ConvPlan,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    fused: Fused<'_>,
    y: &mut [f32],
) -> OpResult<()> {
    let geo = &plan.geo;
    let (cg, mg) = (plan.in_per_group(), plan.out_per_group());
    let k = checked_mul(cg, geo.kernel_size())?;
    if k == 0 {
        // No input channels: every batch item's output is the bias.
        let item = plan.out_channels * geo.output_size();
        for y_n in y.chunks_exact_mut(item) {
            if let Accumulate::No = start_rows(y_n, geo.output_size(), bias) {
                y_n.fill(0.0);
            }
        }
        fused.apply_after(y);
        return Ok(());
    }
    let pointwise = geo
        .axes()
        .iter()
        .all(|a| a.kernel == 1 && a.stride == 1 && a.pad_begin == 0 && a.pad_end == 0);
    if pointwise {
        return run_pointwise(ctx, plan, x, w, bias, fused, y);
    }
    // SIMD depthwise 3x3/5x5 (None when the shape is not one it covers);
    // the activation runs in its kernel unless a residual must come first.
    let in_kernel = match fused.residual {
        None => fused.activation,
        Some(_) => Activation::None,
    };
    if let Some(done) = super::depthwise_simd::run_fast(ctx.isa, plan, x, w, bias, in_kernel, y) {
        done?;
        if fused.residual.is_some() {
            fused.apply_after(y);
        }
        return Ok(());
    }
    if cg == 1
        && let Some(axes) = geo.as_2d()
    {
        depthwise::run(plan, &axes, x, w, bias, y);
        fused.apply_after(y);
        return Ok(());
    }
    let (s_in, s_out) = (geo.input_size(), geo.output_size());
    let tile = (TILE_BUDGET / k).min(s_out).max(1);
    let threads = ctx.threads;
    let columns = scratch_f32(ctx.scratch, checked_mul(k, tile)?)?;
    for n in 0..plan.batch {
        for g in 0..plan.group {
            let x_g = &x[(n * plan.in_channels + g * cg) * s_in..][..cg * s_in];
            let w_g = MatRef::row_major(&w[g * mg * k..][..mg * k], mg, k)?;
            let out_offset = (n * plan.out_channels + g * mg) * s_out;
            let y_g = &mut y[out_offset..][..mg * s_out];
            let z_g = fused.residual.map(|z| &z[out_offset..][..mg * s_out]);
            let b_g = bias.map(|b| &b[g * mg..][..mg]);
            let mut first = 0;
            while first < s_out {
                let count = tile.min(s_out - first);
                let cols = &mut columns[..k * count];
                im2col_parallel(threads, geo, x_g, cg, first, count, cols)?;
                let b = MatRef::row_major(cols, k, count)?;
                let c = MatMut::new(&mut y_g[first..], mg, count, s_out)?;
                let options = gemm_options(threads, b_g, z_g, first, (mg, count, s_out), fused)?;
                gemm_f32_with(ctx.isa, w_g, GemmB::Strided(b), c, &options)?;
                first += count;
            }
        }
    }
    Ok(())
}

/// The GEMM options for the output columns `first .. first + cols` of one
/// group (`rows` channels, `row_len` values per channel): bias per row,
/// residual at the same place in `Z`, activation, threads.
fn gemm_options<'a>(
    threads: usize,
    bias: Option<&'a [f32]>,
    residual: Option<&'a [f32]>,
    first: usize,
    (rows, cols, row_len): (usize, usize, usize),
    fused: Fused<'_>,
) -> OpResult<GemmOptions<'a>> {
    let bias = bias
        .map(|b| Epilogue::row_bias(b, rows, cols))
        .transpose()?;
    let residual = residual
        .map(|z| MatRef::new(&z[first..], rows, cols, row_len, 1))
        .transpose()?;
    Ok(GemmOptions {
        accumulate: Accumulate::No,
        epilogue: Epilogue {
            bias,
            residual,
            activation: fused.activation,
            ..Epilogue::default()
        },
        threads,
    })
}

/// [`im2col`] split by input channels over `threads` threads (each channel's
/// rows of the column matrix are one contiguous run).
fn im2col_parallel(
    threads: usize,
    geo: &Geometry,
    x_g: &[f32],
    channels: usize,
    first: usize,
    count: usize,
    cols: &mut [f32],
) -> OpResult<()> {
    let per_channel = geo.kernel_size() * count;
    // Small tiles are not worth a fork.
    if threads <= 1 || channels < 2 || cols.len() < (1 << 15) {
        im2col(geo, x_g, (channels, 0.0), first, count, cols);
        return Ok(());
    }
    let chunk = channels.div_ceil(threads);
    let s_in = geo.input_size();
    crate::parallel::for_each_chunk_mut(cols, chunk * per_channel, &|i, part| {
        let c0 = i * chunk;
        let n = part.len() / per_channel.max(1);
        im2col(
            geo,
            &x_g[c0 * s_in..][..n * s_in],
            (n, 0.0),
            first,
            count,
            part,
        );
        Ok(())
    })
}

/// 1×…×1 kernel, stride 1, no padding: `Y_g = W_g · X_g` per batch and group.
fn run_pointwise(
    ctx: &RunContext<'_>,
    plan: &ConvPlan,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    fused: Fused<'_>,
    y: &mut [f32],
) -> OpResult<()> {
    let (cg, mg) = (plan.in_per_group(), plan.out_per_group());
    let s = plan.geo.output_size();
    for n in 0..plan.batch {
        for g in 0..plan.group {
            let x_g =
                MatRef::row_major(&x[(n * plan.in_channels + g * cg) * s..][..cg * s], cg, s)?;
            let w_g = MatRef::row_major(&w[g * mg * cg..][..mg * cg], mg, cg)?;
            let out_offset = (n * plan.out_channels + g * mg) * s;
            let y_g = &mut y[out_offset..][..mg * s];
            let z_g = fused.residual.map(|z| &z[out_offset..][..mg * s]);
            let b_g = bias.map(|b| &b[g * mg..][..mg]);
            let options = gemm_options(ctx.threads, b_g, z_g, 0, (mg, s, s), fused)?;
            gemm_f32_with(
                ctx.isa,
                w_g,
                GemmB::Strided(x_g),
                MatMut::row_major(y_g, mg, s)?,
                &options,
            )?;
        }
    }
    Ok(())
}
