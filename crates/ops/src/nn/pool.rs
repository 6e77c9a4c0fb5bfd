//! `MaxPool` and `AveragePool` over N-d windows.
//!
//! For each output position, the taps of the window that fall inside the
//! input are an axis-aligned box (a range of taps per axis), so the loops
//! visit exactly those, with no per-tap bounds checks. 1-D and 2-D pools
//! run the plain loops of [`super::pool_2d`]; this file holds the N-d ones.

use super::common::{
    check_output_count, checked_mul, f32_info, f32_input, infos_of, output_slice, shape_error,
};
use super::pool_2d;
use super::window::{Geometry, MAX_SPATIAL_RANK, WindowAttrs, scaled, valid_range};
use crate::attrs::Attrs;
use crate::error::OpResult;
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{TensorView, TensorViewMut};

/// Which reduction a pool applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Maximum; `column_major` selects `storage_order` 1 for the indices.
    Max { column_major: bool },
    /// Mean; `include_pad` counts padding elements (not the ceil-mode
    /// overhang past the end padding) in the divisor.
    Average { include_pad: bool },
}

/// ONNX `MaxPool` and `AveragePool` (opset 21): input `X`.
#[derive(Debug)]
pub(crate) struct Pool {
    kind: Kind,
    window: WindowAttrs,
    ceil_mode: bool,
}

#[derive(Clone, Copy, Debug)]
struct Plan {
    planes: usize,
    geo: Geometry,
}

fn flag(attrs: &Attrs<'_>, name: &str) -> OpResult<bool> {
    match attrs.int(name, 0)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(attrs.invalid(name, format!("{other} is neither 0 nor 1"))),
    }
}

/// Taps per axis that land inside the input, for one output position.
#[derive(Clone, Copy, Debug)]
struct Window {
    /// Input coordinate of tap 0, per axis.
    start: [i64; MAX_SPATIAL_RANK],
    /// Valid taps `lo..hi`, per axis.
    taps: [(usize, usize); MAX_SPATIAL_RANK],
}

impl Pool {
    /// Builds `MaxPool` from its attributes.
    pub(crate) fn max_from_attrs(attrs: &Attrs<'_>) -> OpResult<Pool> {
        let column_major = flag(attrs, "storage_order")?;
        Pool::new(attrs, Kind::Max { column_major })
    }

    /// Builds `AveragePool` from its attributes.
    pub(crate) fn average_from_attrs(attrs: &Attrs<'_>) -> OpResult<Pool> {
        let include_pad = flag(attrs, "count_include_pad")?;
        Pool::new(attrs, Kind::Average { include_pad })
    }

    fn new(attrs: &Attrs<'_>, kind: Kind) -> OpResult<Pool> {
        let window = WindowAttrs::parse(attrs, true)?;
        // As onnxruntime: a pad must be smaller than the kernel, so no
        // window lies entirely in padding.
        if let (Some(kernel), Some(pads)) = (&window.kernel_shape, window.explicit_pads()) {
            let rank = kernel.len();
            for (i, &k) in kernel.iter().enumerate() {
                let (begin, end) = (pads[i], pads[i + rank]);
                if begin >= k as i64 || end >= k as i64 {
                    return Err(attrs.invalid(
                        "pads",
                        format!(
                            "pads {begin}, {end} of axis {i} are not smaller than the kernel {k}"
                        ),
                    ));
                }
            }
        }
        Ok(Pool {
            kind,
            window,
            ceil_mode: flag(attrs, "ceil_mode")?,
        })
    }

    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Max { .. } => "MaxPool",
            Kind::Average { .. } => "AveragePool",
        }
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Plan> {
        check_input_count(inputs, 1, 1, "1")?;
        let x = self.input_info(inputs)?.shape;
        if x.len() < 3 {
            return Err(shape_error(format!(
                "{} input X must be N×C×spatial, got shape {x:?}",
                self.name()
            )));
        }
        if x[2..].contains(&0) {
            return Err(shape_error(format!(
                "{} over an empty spatial axis: X is {x:?}",
                self.name()
            )));
        }
        let kernel = self.window.kernel_shape.as_deref().unwrap_or(&[]);
        let geo = self.window.forward(&x[2..], kernel, self.ceil_mode)?;
        Ok(Plan {
            planes: checked_mul(x[0], x[1])?,
            geo,
        })
    }
}

impl Operator for Pool {
    fn op(&self) -> OpCode {
        match self.kind {
            Kind::Max { .. } => OpCode::MaxPool,
            Kind::Average { .. } => OpCode::AveragePool,
        }
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        let plan = self.plan(inputs)?;
        let x = self.input_info(inputs)?;
        let mut shape = vec![x.shape[0], x.shape[1]];
        shape.extend(plan.geo.axes().iter().map(|a| a.output));
        let shape = checked_shape(shape, DType::I64.size())?;
        let mut specs = vec![OutputSpec::new(x.dtype, shape.clone())];
        if let Kind::Max { .. } = self.kind {
            specs.push(OutputSpec::new(DType::I64, shape));
        }
        Ok(specs)
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let infos = infos_of::<1>(inputs, "1")?;
        let plan = self.plan(&infos[..inputs.len()])?;
        let max_outputs = if let Kind::Max { .. } = self.kind {
            2
        } else {
            1
        };
        check_output_count(outputs.len(), max_outputs, self.name())?;
        let expected = checked_mul(plan.planes, plan.geo.output_size())?;
        let (first, rest) = outputs.split_at_mut(1);
        let view = required(inputs, 0)?;
        if let (Kind::Max { column_major }, Some(axes), DType::U8 | DType::I8) =
            (self.kind, plan.geo.as_2d(), view.dtype())
        {
            // Quantized 2-D max pooling on the bytes as they are.
            let indices = match rest.first_mut() {
                Some(out) => Some(output_slice::<i64>(out, 1, expected)?),
                None => None,
            };
            let planes = plan.planes;
            if view.dtype() == DType::U8 {
                let y = output_slice::<u8>(&mut first[0], 0, expected)?;
                pool_2d::max_pool(
                    planes,
                    &axes,
                    view.as_slice::<u8>()?,
                    y,
                    indices,
                    column_major,
                );
            } else {
                let y = output_slice::<i8>(&mut first[0], 0, expected)?;
                pool_2d::max_pool(
                    planes,
                    &axes,
                    view.as_slice::<i8>()?,
                    y,
                    indices,
                    column_major,
                );
            }
            return Ok(());
        }
        // u8/i8 in N-D (MaxPool only): pooled as exact f32 values, written back.
        let x_widened;
        let mut y_widened = Vec::new();
        let (x, y) = if view.dtype() == DType::F32 {
            (
                f32_input(inputs, 0)?,
                output_slice::<f32>(&mut first[0], 0, expected)?,
            )
        } else {
            x_widened = view.to_f32_vec()?;
            y_widened.resize(expected, 0f32);
            (x_widened.as_slice(), y_widened.as_mut_slice())
        };
        let indices = match rest.first_mut() {
            Some(out) => Some(output_slice::<i64>(out, 1, expected)?),
            None => None,
        };
        match (self.kind, plan.geo.as_2d()) {
            (Kind::Max { column_major }, Some(axes)) => {
                pool_2d::max_pool(plan.planes, &axes, x, y, indices, column_major)
            }
            (Kind::Average { include_pad }, Some(axes)) => {
                pool_2d::average_pool(plan.planes, &axes, x, y, include_pad)
            }
            (Kind::Max { column_major }, None) => max_pool(&plan, x, y, indices, column_major),
            (Kind::Average { include_pad }, None) => average_pool(&plan, x, y, include_pad),
        }
        let narrowed = first[0].bytes_mut();
        match view.dtype() {
            DType::U8 => narrow(&y_widened, narrowed, |v| v as u8),
            DType::I8 => narrow(&y_widened, narrowed, |v| (v as i8) as u8),
            _ => {}
        }
        Ok(())
    }
}

/// Writes the pooled integer values `y` as one byte each.
fn narrow(y: &[f32], out: &mut [u8], to_byte: impl Fn(f32) -> u8) {
    for (o, &v) in out.iter_mut().zip(y) {
        *o = to_byte(v);
    }
}

impl Pool {
    /// The input X: f32, or u8/i8 for MaxPool (a max of integers is one of
    /// them, computed exactly in f32).
    fn input_info<'a>(&self, inputs: &[Option<InputInfo<'a>>]) -> OpResult<InputInfo<'a>> {
        let x = required(inputs, 0)?;
        match (x.dtype, self.kind) {
            (DType::U8 | DType::I8, Kind::Max { .. }) => Ok(x),
            _ => f32_info(inputs, 0),
        }
    }
}

/// Calls `visit(plane, output_index, window)` for every output element, in
/// output order.
fn for_each_window(plan: &Plan, mut visit: impl FnMut(usize, usize, &Window)) {
    let axes = plan.geo.axes();
    let rank = axes.len();
    let mut window = Window {
        start: [0; MAX_SPATIAL_RANK],
        taps: [(0, 0); MAX_SPATIAL_RANK],
    };
    let mut position = [0usize; MAX_SPATIAL_RANK];
    let out_size = plan.geo.output_size();
    for plane in 0..plan.planes {
        position[..rank].fill(0);
        for out_index in 0..out_size {
            for (d, a) in axes.iter().enumerate() {
                let start = scaled(position[d], a.stride) - a.pad_begin;
                window.start[d] = start;
                window.taps[d] = valid_range(0, a.kernel, a.dilation, start, a.input);
            }
            visit(plane, plane * out_size + out_index, &window);
            for d in (0..rank).rev() {
                position[d] += 1;
                if position[d] < axes[d].output {
                    break;
                }
                position[d] = 0;
            }
        }
    }
}

/// Calls `visit(offset)` for the plane offset of every valid tap of
/// `window`, axes in row-major order.
fn for_each_tap(geo: &Geometry, window: &Window, mut visit: impl FnMut(usize)) {
    let axes = geo.axes();
    let rank = axes.len();
    if window.taps[..rank].iter().any(|&(lo, hi)| lo >= hi) {
        return;
    }
    let mut tap = [0usize; MAX_SPATIAL_RANK];
    for (t, &(lo, _)) in tap.iter_mut().zip(&window.taps[..rank]) {
        *t = lo;
    }
    let last = rank - 1;
    let (lo_last, hi_last) = window.taps[last];
    let a_last = axes[last];
    loop {
        // Offset of the line along the last axis.
        let mut line = 0usize;
        for d in 0..last {
            let coord = window.start[d] + scaled(tap[d], axes[d].dilation);
            line = line * axes[d].input + coord as usize;
        }
        let line = line * a_last.input;
        for k in lo_last..hi_last {
            let coord = window.start[last] + scaled(k, a_last.dilation);
            visit(line + coord as usize);
        }
        // Advance the outer taps.
        let mut d = last;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            tap[d] += 1;
            if tap[d] < window.taps[d].1 {
                break;
            }
            tap[d] = window.taps[d].0;
        }
    }
}

fn max_pool(
    plan: &Plan,
    x: &[f32],
    y: &mut [f32],
    mut indices: Option<&mut [i64]>,
    column_major: bool,
) {
    let geo = &plan.geo;
    let in_size = geo.input_size();
    for_each_window(plan, |plane, out, window| {
        let x_plane = &x[plane * in_size..][..in_size];
        let mut best = f32::NEG_INFINITY;
        let mut best_at = None;
        for_each_tap(geo, window, |offset| {
            let v = x_plane[offset];
            if v > best || (best_at.is_none() && !v.is_nan()) {
                best = v;
                best_at = Some(offset);
            }
        });
        y[out] = best;
        if let Some(indices) = indices.as_deref_mut() {
            indices[out] = match best_at {
                Some(offset) => {
                    let spatial = if column_major {
                        to_column_major(geo, offset)
                    } else {
                        offset
                    };
                    (plane * in_size + spatial) as i64
                }
                None => -1,
            };
        }
    });
}

/// The column-major offset of the element at row-major `offset`.
fn to_column_major(geo: &Geometry, offset: usize) -> usize {
    let axes = geo.axes();
    let (mut rest, mut result) = (offset, 0);
    // Row-major: the last axis varies fastest. Column-major: the first does.
    let mut stride = geo.input_size();
    for a in axes.iter().rev() {
        let coord = rest % a.input;
        rest /= a.input;
        stride /= a.input;
        result += coord * stride;
    }
    result
}

fn average_pool(plan: &Plan, x: &[f32], y: &mut [f32], include_pad: bool) {
    let geo = &plan.geo;
    let axes = geo.axes();
    let in_size = geo.input_size();
    for_each_window(plan, |plane, out, window| {
        let x_plane = &x[plane * in_size..][..in_size];
        let mut sum = 0.0f32;
        for_each_tap(geo, window, |offset| sum += x_plane[offset]);
        let mut count = 1usize;
        for (d, a) in axes.iter().enumerate() {
            let taps = if include_pad {
                // Taps inside the padded input (not past the end padding).
                let padded = a.input as i64 + a.pad_begin + a.pad_end;
                let (lo, hi) = valid_range(
                    0,
                    a.kernel,
                    a.dilation,
                    window.start[d] + a.pad_begin,
                    padded as usize,
                );
                hi - lo
            } else {
                window.taps[d].1 - window.taps[d].0
            };
            count *= taps;
        }
        y[out] = sum / count as f32;
    });
}
