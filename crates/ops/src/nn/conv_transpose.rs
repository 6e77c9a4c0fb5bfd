//! `ConvTranspose`: the gradient of Conv with respect to its input, as a
//! layer. Per group and tile of input positions, a GEMM `W_gᵀ · X_g` gives
//! one column of kernel contributions per input position (in the session
//! scratch), which col2im adds into the output.

use super::common::{
    TILE_BUDGET, check_output_count, checked_mul, f32_info, f32_input, infos_of, optional_f32_info,
    optional_f32_input, output_slice, scratch_f32, shape_error,
};
use super::conv::{MAX_GROUP, start_rows};
use super::im2col::col2im_add;
use super::weight::{weight_info, weight_input};
use super::window::{AutoPad, Axis, Geometry, MAX_SPATIAL_RANK, MAX_WINDOW_VALUE, WindowAttrs};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::gemm::{Accumulate, MatMut, MatRef, gemm_f32};
use pocketnn_tensor::{TensorView, TensorViewMut};

/// Coordinates (`index * stride + tap * dilation - pad`) must stay below this.
const MAX_COORDINATE: i128 = (i64::MAX / 4) as i128;

/// ONNX `ConvTranspose` (opset 21): inputs `X`, `W`, optional `B`.
#[derive(Debug)]
pub(crate) struct ConvTranspose {
    window: WindowAttrs,
    group: usize,
    output_padding: Option<Vec<usize>>,
    output_shape: Option<Vec<usize>>,
}

#[derive(Clone, Copy, Debug)]
struct Plan {
    batch: usize,
    in_channels: usize,
    out_channels: usize,
    group: usize,
    geo: Geometry,
}

fn non_negative_list(attrs: &Attrs<'_>, name: &str, max: i64) -> OpResult<Option<Vec<usize>>> {
    let Some(values) = attrs.ints_opt(name)? else {
        return Ok(None);
    };
    values
        .iter()
        .map(|&v| {
            usize::try_from(v)
                .ok()
                .filter(|_| v <= max)
                .ok_or_else(|| attrs.invalid(name, format!("value {v} is outside 0..={max}")))
        })
        .collect::<OpResult<Vec<usize>>>()
        .map(Some)
}

impl ConvTranspose {
    /// Builds the operator from its attributes.
    pub(crate) fn from_attrs(attrs: &Attrs<'_>) -> OpResult<ConvTranspose> {
        let group = attrs.int("group", 1)?;
        if !(1..=MAX_GROUP).contains(&group) {
            return Err(attrs.invalid("group", format!("{group} is not in 1..={MAX_GROUP}")));
        }
        let op = ConvTranspose {
            window: WindowAttrs::parse(attrs, false)?,
            group: group as usize,
            output_padding: non_negative_list(attrs, "output_padding", MAX_WINDOW_VALUE)?,
            output_shape: non_negative_list(attrs, "output_shape", i64::MAX)?,
        };
        for (name, list) in [
            ("output_padding", &op.output_padding),
            ("output_shape", &op.output_shape),
        ] {
            if let Some(list) = list
                && (list.is_empty() || list.len() > MAX_SPATIAL_RANK + 2)
            {
                return Err(attrs.invalid(name, format!("has {} values", list.len())));
            }
        }
        Ok(op)
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Plan> {
        check_input_count(inputs, 2, 3, "2 or 3")?;
        let x = f32_info(inputs, 0)?.shape;
        let w = weight_info(inputs, 1)?.shape;
        let bias = optional_f32_info(inputs, 2)?;
        if x.len() < 3 || w.len() != x.len() {
            return Err(shape_error(format!(
                "ConvTranspose needs X as N×C×spatial and W of the same rank, got {x:?} and {w:?}"
            )));
        }
        let spatial = x.len() - 2;
        self.window.check_rank(spatial)?;
        let kernel = &w[2..];
        if let Some(k) = &self.window.kernel_shape
            && k.as_slice() != kernel
        {
            return Err(shape_error(format!(
                "kernel_shape {k:?} does not match the weight's spatial shape {kernel:?}"
            )));
        }
        let (batch, in_channels) = (x[0], x[1]);
        let group = self.group;
        if in_channels % group != 0 || w[0] != in_channels {
            return Err(shape_error(format!(
                "weight W {w:?} must have X's {in_channels} channels first, divisible by group {group}"
            )));
        }
        let out_channels = checked_mul(w[1], group)?;
        if let Some(b) = bias
            && b.shape != [out_channels]
        {
            return Err(shape_error(format!(
                "bias B has shape {:?}, expected [{out_channels}]",
                b.shape
            )));
        }
        let output_shape = match &self.output_shape {
            Some(s) if s.len() == spatial => Some(s.as_slice()),
            Some(s) if s.len() == spatial + 2 => Some(&s[2..]),
            Some(s) => {
                return Err(shape_error(format!(
                    "output_shape {s:?} does not fit {spatial} spatial axes"
                )));
            }
            None => None,
        };
        if let Some(p) = &self.output_padding
            && p.len() != spatial
        {
            return Err(shape_error(format!(
                "output_padding {p:?} does not fit {spatial} spatial axes"
            )));
        }
        let mut axes = [Axis::default(); MAX_SPATIAL_RANK];
        for (i, axis) in axes.iter_mut().take(spatial).enumerate() {
            *axis = self.axis(i, spatial, x[2 + i], kernel[i], output_shape)?;
        }
        Ok(Plan {
            batch,
            in_channels,
            out_channels,
            group,
            geo: Geometry::new(&axes[..spatial])?,
        })
    }

    fn axis(
        &self,
        i: usize,
        rank: usize,
        size: usize,
        taps: usize,
        output_shape: Option<&[usize]>,
    ) -> OpResult<Axis> {
        if size == 0 || taps == 0 {
            return Err(shape_error(format!(
                "spatial axis {i}: ConvTranspose needs a non-empty input and kernel"
            )));
        }
        let (stride, dilation) = (self.window.stride(i), self.window.dilation(i));
        let extra = self.output_padding.as_ref().map_or(0, |p| p[i]);
        if extra >= stride.max(dilation) {
            return Err(OpError::InvalidAttribute {
                name: "output_padding".into(),
                reason: format!(
                    "{extra} on axis {i} is not below its stride {stride} or dilation {dilation}"
                ),
            });
        }
        let dilated = (taps as i128 - 1) * dilation as i128 + 1;
        let natural = stride as i128 * (size as i128 - 1) + extra as i128 + dilated;
        let split = |total: i128| {
            // Floor division, as in the ONNX reference implementation: when
            // output_shape asks for more than the natural size (a negative
            // total), the extra row goes at the end.
            let half = total.div_euclid(2);
            if self.window.auto_pad == AutoPad::SameUpper {
                (half, total - half)
            } else {
                (total - half, half)
            }
        };
        let (output, (pad_begin, pad_end)) = if let Some(shape) = output_shape {
            let output = shape[i] as i128;
            (output, split(natural - output))
        } else if self.window.auto_pad.is_same() {
            let output = size as i128 * stride as i128;
            (output, split((natural - output).max(0)))
        } else {
            let (begin, end) = if self.window.auto_pad == AutoPad::Valid {
                (0, 0)
            } else {
                self.window.pads(i, rank)
            };
            let output = natural - begin as i128 - end as i128;
            if output < 0 {
                return Err(shape_error(format!(
                    "spatial axis {i}: pads {begin}+{end} exceed the output size {natural}"
                )));
            }
            (output, (begin as i128, end as i128))
        };
        let too_large = || OpError::TooLarge {
            shape: vec![output.clamp(0, usize::MAX as i128) as usize],
        };
        if natural > MAX_COORDINATE || pad_begin.abs() > MAX_COORDINATE || output > MAX_COORDINATE {
            return Err(too_large());
        }
        Ok(Axis {
            input: size,
            output: usize::try_from(output).map_err(|_| too_large())?,
            kernel: taps,
            stride,
            dilation,
            pad_begin: pad_begin as i64,
            pad_end: pad_end as i64,
        })
    }
}

impl Operator for ConvTranspose {
    fn op(&self) -> OpCode {
        OpCode::ConvTranspose
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
        let infos = infos_of::<3>(inputs, "2 or 3")?;
        let plan = self.plan(&infos[..inputs.len()])?;
        check_output_count(outputs.len(), 1, "ConvTranspose")?;
        let x = f32_input(inputs, 0)?;
        // An f16 weight is widened for this call (see `super::weight`).
        let w = weight_input(inputs, 1)?.to_f32(ctx.isa)?;
        let w: &[f32] = &w;
        let bias = optional_f32_input(inputs, 2)?;
        let geo = &plan.geo;
        let (s_in, s_out) = (geo.input_size(), geo.output_size());
        let expected = checked_mul(checked_mul(plan.batch, plan.out_channels)?, s_out)?;
        let y = output_slice::<f32>(&mut outputs[0], 0, expected)?;
        if y.is_empty() {
            return Ok(());
        }
        let cg = plan.in_channels / plan.group;
        let mg = plan.out_channels / plan.group;
        let rows = checked_mul(mg, geo.kernel_size())?;
        let tile = (TILE_BUDGET / rows.max(1)).min(s_in).max(1);
        let columns = scratch_f32(ctx.scratch, checked_mul(rows, tile)?)?;
        for n in 0..plan.batch {
            for g in 0..plan.group {
                let y_g = &mut y[(n * plan.out_channels + g * mg) * s_out..][..mg * s_out];
                if let Accumulate::No = start_rows(y_g, s_out, bias.map(|b| &b[g * mg..][..mg])) {
                    y_g.fill(0.0);
                }
                if cg == 0 || rows == 0 {
                    continue;
                }
                let x_g = &x[(n * plan.in_channels + g * cg) * s_in..][..cg * s_in];
                let w_g = MatRef::row_major(&w[g * cg * rows..][..cg * rows], cg, rows)?.t();
                let mut first = 0;
                while first < s_in {
                    let count = tile.min(s_in - first);
                    let x_tile = MatRef::new(&x_g[first..], cg, count, s_in, 1)?;
                    let cols = &mut columns[..rows * count];
                    let c = MatMut::row_major(cols, rows, count)?;
                    gemm_f32(ctx.isa, w_g, x_tile, c, Accumulate::No)?;
                    col2im_add(geo, cols, mg, first, count, y_g);
                    first += count;
                }
            }
        }
        Ok(())
    }
}
