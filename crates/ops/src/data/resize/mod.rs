//! `Resize` (opset 19 form): nearest, linear and cubic interpolation of
//! any subset of axes, one axis at a time (interpolation is separable).

mod coords;
mod kernels;

use self::coords::{AxisGeometry, Coordinates, Interpolation, Rounding, Sampling};
use self::kernels::{Pass, interpolate_axis};
use super::common::{
    Pick, check_outputs, elements, elements_mut, gather_by_maps, infos, known_ints, normalize_axes,
    out_of_bounds, with_element_type,
};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape, known_value, optional, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{TensorView, TensorViewMut, f16, num_elements};

/// `keep_aspect_ratio_policy` (applies when `sizes` is given).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AspectPolicy {
    /// Each axis gets its own scale.
    Stretch,
    /// One scale for all resized axes, the smallest: no axis exceeds `sizes`.
    NotLarger,
    /// One scale, the largest: no axis is below `sizes`.
    NotSmaller,
}

/// ONNX `Resize`: inputs `X, [roi], [scales], [sizes]`.
#[derive(Debug)]
pub(crate) struct Resize {
    sampling: Sampling,
    extrapolation: f32,
    axes: Option<Vec<i64>>,
    policy: AspectPolicy,
}

/// The resolved geometry of one call.
struct ResizePlan {
    spec: OutputSpec,
    /// The resized axes (the `axes` attribute, resolved; all by default).
    axes: Vec<usize>,
    /// The scale of every axis (1 for axes not resized).
    scales: Vec<f64>,
}

/// True for an input given with at least one element (an empty `scales` or
/// `sizes` tensor counts as absent, as older exporters write them).
fn given(inputs: &[Option<InputInfo<'_>>], index: usize) -> bool {
    optional(inputs, index).is_some_and(|i| num_elements(i.shape) != Some(0))
}

/// Mirrors Python's `math.isclose(scale, 1.0)`.
fn is_close_to_one(scale: f64) -> bool {
    (scale - 1.0).abs() <= 1e-9 * scale.abs().max(1.0)
}

impl Resize {
    /// Reads and validates the attributes (see `docs/ops/data.md`).
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<Resize> {
        match attrs.int("antialias", 0)? {
            0 => {}
            1 => {
                return Err(OpError::Unsupported {
                    what: "Resize with antialias=1".to_string(),
                });
            }
            v => return Err(attrs.invalid("antialias", format!("{v} is not 0 or 1"))),
        }
        let coordinates_name = attrs.string("coordinate_transformation_mode", "half_pixel")?;
        let coordinates = Coordinates::from_name(coordinates_name).ok_or_else(|| {
            attrs.invalid(
                "coordinate_transformation_mode",
                format!("unknown mode `{coordinates_name}`"),
            )
        })?;
        let rounding_name = attrs.string("nearest_mode", "round_prefer_floor")?;
        let rounding = Rounding::from_name(rounding_name).ok_or_else(|| {
            attrs.invalid("nearest_mode", format!("unknown mode `{rounding_name}`"))
        })?;
        let interpolation = match attrs.string("mode", "nearest")? {
            "nearest" => Interpolation::Nearest(rounding),
            "linear" => Interpolation::Linear,
            "cubic" => Interpolation::Cubic {
                a: f64::from(attrs.float("cubic_coeff_a", -0.75)?),
            },
            other => return Err(attrs.invalid("mode", format!("unknown mode `{other}`"))),
        };
        let exclude_outside = match attrs.int("exclude_outside", 0)? {
            0 => false,
            1 => true,
            v => return Err(attrs.invalid("exclude_outside", format!("{v} is not 0 or 1"))),
        };
        let policy = match attrs.string("keep_aspect_ratio_policy", "stretch")? {
            "stretch" => AspectPolicy::Stretch,
            "not_larger" => AspectPolicy::NotLarger,
            "not_smaller" => AspectPolicy::NotSmaller,
            other => {
                return Err(attrs.invalid(
                    "keep_aspect_ratio_policy",
                    format!("unknown policy `{other}`"),
                ));
            }
        };
        Ok(Resize {
            sampling: Sampling {
                coordinates,
                interpolation,
                exclude_outside,
            },
            extrapolation: attrs.float("extrapolation_value", 0.0)?,
            axes: attrs.ints_opt("axes")?.map(<[i64]>::to_vec),
            policy,
        })
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<ResizePlan> {
        check_input_count(inputs, 1, 4, "1 to 4")?;
        let x = required(inputs, 0)?;
        let rank = x.shape.len();
        if !matches!(self.sampling.interpolation, Interpolation::Nearest(_))
            && x.dtype != DType::F32
        {
            return Err(OpError::UnsupportedDType {
                index: 0,
                dtype: x.dtype,
            });
        }
        let axes = match &self.axes {
            Some(axes) => normalize_axes(axes, rank)?,
            None => (0..rank).collect(),
        };
        let mut shape = x.shape.to_vec();
        let mut scales = vec![1.0f64; rank];
        match (given(inputs, 2), given(inputs, 3)) {
            (true, true) => {
                return Err(OpError::InvalidInput {
                    index: 3,
                    reason: "scales and sizes are both given".to_string(),
                });
            }
            (false, false) => {
                return Err(OpError::InvalidInput {
                    index: 2,
                    reason: "one of scales and sizes is required".to_string(),
                });
            }
            (true, false) => {
                let value = known_value(inputs, 2)?;
                if !matches!(value.dtype(), DType::F32 | DType::F16) {
                    return Err(OpError::UnsupportedDType {
                        index: 2,
                        dtype: value.dtype(),
                    });
                }
                let given = value.to_f32_vec()?;
                if given.len() != axes.len() {
                    return Err(OpError::InvalidInput {
                        index: 2,
                        reason: format!("{} scales for {} axes", given.len(), axes.len()),
                    });
                }
                for (&axis, &s) in axes.iter().zip(&given) {
                    if !(s.is_finite() && s > 0.0) {
                        return Err(OpError::InvalidInput {
                            index: 2,
                            reason: format!("scale {s} is not a positive number"),
                        });
                    }
                    let scale = f64::from(s);
                    let out = (scale * x.shape[axis] as f64).floor();
                    if out >= 9.0e18 {
                        return Err(OpError::TooLarge { shape });
                    }
                    shape[axis] = out as usize;
                    scales[axis] = scale;
                }
            }
            (false, true) => {
                let sizes = known_ints(inputs, 3)?;
                if sizes.len() != axes.len() {
                    return Err(OpError::InvalidInput {
                        index: 3,
                        reason: format!("{} sizes for {} axes", sizes.len(), axes.len()),
                    });
                }
                for (&axis, &size) in axes.iter().zip(&sizes) {
                    let size = super::common::to_dim(size, 3)?;
                    if x.shape[axis] == 0 && size > 0 {
                        return Err(OpError::InvalidInput {
                            index: 3,
                            reason: format!("cannot resize axis {axis} of size 0 to {size}"),
                        });
                    }
                    shape[axis] = size;
                    scales[axis] = size as f64 / x.shape[axis] as f64;
                }
                self.keep_aspect_ratio(x.shape, &axes, &mut shape, &mut scales)?;
            }
        }
        let shape = checked_shape(shape, x.dtype.size())?;
        Ok(ResizePlan {
            spec: OutputSpec::new(x.dtype, shape),
            axes,
            scales,
        })
    }

    /// Applies `keep_aspect_ratio_policy` to sizes-derived scales.
    fn keep_aspect_ratio(
        &self,
        input: &[usize],
        axes: &[usize],
        shape: &mut [usize],
        scales: &mut [f64],
    ) -> OpResult<()> {
        let nonempty = axes.iter().filter(|&&a| input[a] > 0).map(|&a| scales[a]);
        let scale = match self.policy {
            AspectPolicy::Stretch => return Ok(()),
            AspectPolicy::NotLarger => nonempty.fold(f64::INFINITY, f64::min),
            AspectPolicy::NotSmaller => nonempty.fold(0.0, f64::max),
        };
        for &a in axes.iter().filter(|&&a| input[a] > 0) {
            let out = scale * input[a] as f64 + 0.5;
            if out.is_nan() || out >= 9.0e18 {
                return Err(OpError::TooLarge {
                    shape: shape.to_vec(),
                });
            }
            shape[a] = out as usize;
            scales[a] = scale;
        }
        Ok(())
    }

    /// The geometry of every axis, with the region of interest read from
    /// input 1 when the coordinate mode uses it.
    fn geometry(
        &self,
        plan: &ResizePlan,
        inputs: &[Option<TensorView<'_>>],
    ) -> OpResult<Vec<AxisGeometry>> {
        let x = required(inputs, 0)?;
        let mut geometry: Vec<AxisGeometry> = (0..x.rank())
            .map(|a| AxisGeometry {
                input: x.shape()[a],
                output: plan.spec.shape[a],
                scale: plan.scales[a],
                roi: (0.0, 1.0),
            })
            .collect();
        if self.sampling.coordinates == Coordinates::TfCropAndResize {
            let roi = optional(inputs, 1)
                .filter(|r| !r.is_empty())
                .ok_or(OpError::MissingInput { index: 1 })?;
            if !matches!(roi.dtype(), DType::F32 | DType::F16) {
                return Err(OpError::UnsupportedDType {
                    index: 1,
                    dtype: roi.dtype(),
                });
            }
            let roi = roi.to_f32_vec()?;
            let n = plan.axes.len();
            if roi.len() != 2 * n {
                return Err(OpError::InvalidInput {
                    index: 1,
                    reason: format!("{} roi values for {n} axes", roi.len()),
                });
            }
            for (i, &a) in plan.axes.iter().enumerate() {
                geometry[a].roi = (roi[i], roi[n + i]);
            }
        }
        Ok(geometry)
    }

    /// True when resizing axis `g` would copy it unchanged (the reference
    /// implementation skips such axes).
    fn is_identity(&self, g: &AxisGeometry) -> bool {
        is_close_to_one(g.scale)
            && g.output == g.input
            && (self.sampling.coordinates != Coordinates::TfCropAndResize || g.roi == (0.0, 1.0))
    }

    /// Nearest mode, any dtype: one index map per axis.
    fn run_nearest(
        &self,
        x: TensorView<'_>,
        geometry: &[AxisGeometry],
        out: &mut TensorViewMut<'_>,
    ) -> OpResult<()> {
        let maps: Vec<Vec<Pick>> = geometry
            .iter()
            .map(|g| {
                if self.is_identity(g) {
                    (0..g.input).map(Pick::Index).collect()
                } else {
                    coords::nearest_map(&self.sampling, g)
                }
            })
            .collect();
        let e = self.extrapolation;
        let mut fills = [0u8; 16];
        let size = x.dtype().size();
        let extrapolation = &mut fills[8..8 + size];
        match x.dtype() {
            DType::F32 => extrapolation.copy_from_slice(&e.to_le_bytes()),
            DType::F16 => extrapolation.copy_from_slice(&f16::from_f32(e).to_le_bytes()),
            DType::I8 => extrapolation.copy_from_slice(&(e as i8).to_le_bytes()),
            DType::U8 => extrapolation.copy_from_slice(&(e as u8).to_le_bytes()),
            DType::Bool => extrapolation.copy_from_slice(&[u8::from(e != 0.0)]),
            DType::I32 => extrapolation.copy_from_slice(&(e as i32).to_le_bytes()),
            DType::I64 => extrapolation.copy_from_slice(&(e as i64).to_le_bytes()),
        }
        with_element_type!(size, T => {
            let src = elements::<T>(x.bytes())?;
            let dst = elements_mut::<T>(out.bytes_mut())?;
            let zero = elements::<T>(&fills[..size])?;
            let extrapolated = elements::<T>(&fills[8..8 + size])?;
            let table = [zero[0], extrapolated[0]];
            gather_by_maps(src, x.shape(), &maps, &table, dst)
        })
    }

    /// Linear and cubic modes, f32: one interpolation pass per resized
    /// axis, downsizing axes first so no intermediate exceeds the larger of
    /// input and output.
    fn run_interpolation(
        &self,
        ctx: &mut RunContext<'_>,
        x: TensorView<'_>,
        geometry: &[AxisGeometry],
        out: &mut TensorViewMut<'_>,
    ) -> OpResult<()> {
        let src = x.as_slice::<f32>()?;
        let dst = out.as_slice_mut::<f32>()?;
        let mut order: Vec<usize> = (0..geometry.len())
            .filter(|&a| !self.is_identity(&geometry[a]))
            .collect();
        order.sort_by(|&a, &b| {
            let ratio = |g: &AxisGeometry| g.output as f64 / g.input as f64;
            ratio(&geometry[a]).total_cmp(&ratio(&geometry[b]))
        });
        if order.is_empty() {
            if dst.len() != src.len() {
                return Err(out_of_bounds());
            }
            dst.copy_from_slice(src);
            return Ok(());
        }
        // Shapes after each pass; intermediates live in the session scratch.
        let mut shape = x.shape().to_vec();
        let mut largest = 0usize;
        for &axis in &order[..order.len() - 1] {
            shape[axis] = geometry[axis].output;
            let n = num_elements(&shape).ok_or_else(|| OpError::TooLarge {
                shape: shape.clone(),
            })?;
            largest = largest.max(n);
        }
        let bytes = largest
            .checked_mul(2 * std::mem::size_of::<f32>())
            .ok_or_else(|| OpError::TooLarge {
                shape: shape.clone(),
            })?;
        ctx.scratch.resize(bytes);
        let scratch = bytemuck::try_cast_slice_mut::<u8, f32>(ctx.scratch.as_bytes_mut())
            .map_err(|_| out_of_bounds())?;
        let (mut current, mut next) = scratch.split_at_mut(largest);
        let mut shape = x.shape().to_vec();
        let mut current_len = 0;
        for (k, &axis) in order.iter().enumerate() {
            let g = &geometry[axis];
            let pass = Pass {
                outer: shape[..axis].iter().product(),
                input: g.input,
                inner: shape[axis + 1..].iter().product(),
            };
            shape[axis] = g.output;
            let out_len = pass.outer * g.output * pass.inner;
            let taps = coords::interpolation_taps(&self.sampling, g);
            let from: &[f32] = if k == 0 { src } else { &current[..current_len] };
            if k + 1 == order.len() {
                interpolate_axis(from, pass, &taps, self.extrapolation, dst)?;
            } else {
                let to = next.get_mut(..out_len).ok_or_else(out_of_bounds)?;
                interpolate_axis(from, pass, &taps, self.extrapolation, to)?;
                std::mem::swap(&mut current, &mut next);
                current_len = out_len;
            }
        }
        Ok(())
    }
}

impl Operator for Resize {
    fn op(&self) -> OpCode {
        OpCode::Resize
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        Ok(vec![self.plan(inputs)?.spec])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let plan = self.plan(&infos(inputs))?;
        check_outputs(std::slice::from_ref(&plan.spec), outputs)?;
        let Some(out) = outputs.first_mut() else {
            return Ok(());
        };
        if out.is_empty() {
            return Ok(());
        }
        // A non-empty output means every input axis is non-empty (an empty
        // one can only be resized to 0), so all products below are bounded.
        let x = required(inputs, 0)?;
        let geometry = self.geometry(&plan, inputs)?;
        match self.sampling.interpolation {
            Interpolation::Nearest(_) => self.run_nearest(x, &geometry, out),
            _ => self.run_interpolation(ctx, x, &geometry, out),
        }
    }
}
