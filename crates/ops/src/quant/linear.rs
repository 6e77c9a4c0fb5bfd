//! `QuantizeLinear`, `DequantizeLinear` and `DynamicQuantizeLinear`.

use super::{
    check_param_shape, check_scales, float_values, int_values, is_per_tensor, per, quantized_range,
};
use crate::attrs::Attrs;
use crate::data::common::{check_outputs, infos};
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, normalize_axis, optional, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::quantize::quantize_u8;
use pocketnn_tensor::{TensorView, TensorViewMut, f16};

/// Which parameter applies to flat element `i`: `(i / inner) % count`.
#[derive(Clone, Copy, Debug)]
struct Channels {
    inner: usize,
    count: usize,
}

impl Channels {
    /// Parameters of shape `param_shape` for a tensor of shape `shape`,
    /// varying along `axis` when per axis.
    fn new(shape: &[usize], param_shape: &[usize], axis: i64) -> OpResult<Channels> {
        if is_per_tensor(param_shape) {
            return Ok(Channels { inner: 1, count: 1 });
        }
        let axis = normalize_axis(axis, shape.len())?;
        Ok(Channels {
            inner: shape[axis + 1..].iter().product::<usize>().max(1),
            count: shape[axis],
        })
    }

    #[inline]
    fn of(self, i: usize) -> usize {
        if self.count == 1 {
            0
        } else {
            (i / self.inner) % self.count
        }
    }
}

/// Checks scale (input 1) and optional zero point (input 2) against the
/// data's shape and `axis`.
fn check_params(inputs: &[Option<InputInfo<'_>>], axis: i64) -> OpResult<()> {
    let x = required(inputs, 0)?;
    let scale = required(inputs, 1)?;
    let axis_len = if is_per_tensor(scale.shape) {
        None
    } else {
        Some(x.shape[normalize_axis(axis, x.shape.len())?])
    };
    check_param_shape(scale.shape, axis_len, 1)?;
    // A scalar and a 1-element tensor are both per tensor (onnxruntime's
    // quantizer writes such pairs).
    if let Some(zero) = optional(inputs, 2)
        && zero.shape != scale.shape
        && !(is_per_tensor(zero.shape) && is_per_tensor(scale.shape))
    {
        return Err(OpError::ShapeMismatch {
            reason: format!(
                "zero point shape {:?} differs from scale shape {:?}",
                zero.shape, scale.shape
            ),
        });
    }
    Ok(())
}

/// Refuses blocked quantization (`block_size` > 0), which pocketnn lacks.
fn check_no_blocks(attrs: &Attrs<'_>) -> OpResult<()> {
    match attrs.int("block_size", 0)? {
        0 => Ok(()),
        size => Err(OpError::Unsupported {
            what: format!("blocked quantization (block_size = {size})"),
        }),
    }
}

/// ONNX `QuantizeLinear`: `y = saturate(round(x / scale) + zero_point)`.
#[derive(Debug)]
pub(crate) struct QuantizeLinear {
    axis: i64,
    /// `output_dtype`, when given (u8 or i8).
    output_dtype: Option<DType>,
}

impl QuantizeLinear {
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<QuantizeLinear> {
        check_no_blocks(attrs)?;
        // `saturate` only concerns float8 outputs, which pocketnn lacks.
        attrs.int("saturate", 1)?;
        // `precision` (opset 23): the division's type; pocketnn divides in f32.
        match attrs.int("precision", 0)? {
            0 | 1 => {}
            other => {
                return Err(OpError::Unsupported {
                    what: format!("QuantizeLinear with precision type {other} (only float)"),
                });
            }
        }
        let output_dtype = match attrs.int("output_dtype", 0)? {
            0 => None,
            code => Some(
                u8::try_from(code)
                    .ok()
                    .and_then(DType::from_code)
                    .filter(|d| quantized_range(*d).is_some())
                    .ok_or_else(|| {
                        attrs.invalid("output_dtype", format!("{code} is not u8 or i8"))
                    })?,
            ),
        };
        Ok(QuantizeLinear {
            axis: attrs.int("axis", 1)?,
            output_dtype,
        })
    }
}

impl Operator for QuantizeLinear {
    fn op(&self) -> OpCode {
        OpCode::QuantizeLinear
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 2, 3, "2 or 3")?;
        let x = required(inputs, 0)?;
        if !matches!(x.dtype, DType::F32 | DType::F16 | DType::I32) {
            return Err(OpError::UnsupportedDType {
                index: 0,
                dtype: x.dtype,
            });
        }
        check_params(inputs, self.axis)?;
        let dtype = match (optional(inputs, 2), self.output_dtype) {
            (Some(zero), Some(wanted)) if zero.dtype != wanted => {
                return Err(OpError::DTypeMismatch {
                    index: 2,
                    expected: wanted,
                    actual: zero.dtype,
                });
            }
            (Some(zero), _) => zero.dtype,
            (None, wanted) => wanted.unwrap_or(DType::U8),
        };
        if quantized_range(dtype).is_none() {
            return Err(OpError::UnsupportedDType { index: 2, dtype });
        }
        Ok(vec![OutputSpec::new(dtype, x.shape.to_vec())])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let specs = self.infer(&infos(inputs))?;
        check_outputs(&specs, outputs)?;
        let Some(out) = outputs.first_mut() else {
            return Ok(());
        };
        let x = required(inputs, 0)?;
        let scale = required(inputs, 1)?;
        let scales = float_values(scale, 1)?;
        check_scales(&scales, 1)?;
        let zeros = match optional(inputs, 2) {
            Some(zero) => int_values(zero, 2)?,
            None => vec![0],
        };
        let channels = Channels::new(x.shape(), scale.shape(), self.axis)?;
        let (low, high) = quantized_range(out.dtype()).unwrap_or((0, 255));
        let quantize = |i: usize, v: f32| {
            let c = channels.of(i);
            // Division, not a reciprocal product, as ONNX specifies.
            let q = (v / per(&scales, c)).round_ties_even() as i32;
            q.saturating_add(per(&zeros, c)).clamp(low, high)
        };
        if let ([scale], [zero], DType::F32) = (scales.as_slice(), zeros.as_slice(), x.dtype()) {
            // Per tensor from f32: the vector kernel (i8 as u8 shifted by 128).
            let signed = out.dtype() == DType::I8;
            let shift = if signed { 128 } else { 0 };
            let bytes = out.bytes_mut();
            quantize_u8(
                ctx.isa,
                x.as_slice::<f32>()?,
                *scale,
                zero + shift,
                ((low + shift) as u8, (high + shift) as u8),
                bytes,
            )?;
            if signed {
                bytes.iter_mut().for_each(|v| *v ^= 0x80);
            }
            return Ok(());
        }
        let values = x.to_f32_vec()?;
        match out.dtype() {
            DType::U8 => {
                for (i, (o, &v)) in out
                    .as_slice_mut::<u8>()?
                    .iter_mut()
                    .zip(&values)
                    .enumerate()
                {
                    *o = quantize(i, v) as u8;
                }
            }
            _ => {
                for (i, (o, &v)) in out
                    .as_slice_mut::<i8>()?
                    .iter_mut()
                    .zip(&values)
                    .enumerate()
                {
                    *o = quantize(i, v) as i8;
                }
            }
        }
        Ok(())
    }
}

/// ONNX `DequantizeLinear`: `y = (x - zero_point) · scale`, in the scale's
/// float type.
#[derive(Debug)]
pub(crate) struct DequantizeLinear {
    axis: i64,
    /// `output_dtype` (opset 23), when given: it must be the scale's type.
    output_dtype: Option<DType>,
}

impl DequantizeLinear {
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<DequantizeLinear> {
        check_no_blocks(attrs)?;
        let output_dtype = match attrs.int("output_dtype", 0)? {
            0 => None,
            code => Some(
                u8::try_from(code)
                    .ok()
                    .and_then(DType::from_code)
                    .filter(|d| matches!(d, DType::F32 | DType::F16))
                    .ok_or_else(|| {
                        attrs.invalid("output_dtype", format!("{code} is not f32 or f16"))
                    })?,
            ),
        };
        Ok(DequantizeLinear {
            axis: attrs.int("axis", 1)?,
            output_dtype,
        })
    }
}

impl Operator for DequantizeLinear {
    fn op(&self) -> OpCode {
        OpCode::DequantizeLinear
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 2, 3, "2 or 3")?;
        let x = required(inputs, 0)?;
        if !matches!(x.dtype, DType::U8 | DType::I8 | DType::I32) {
            return Err(OpError::UnsupportedDType {
                index: 0,
                dtype: x.dtype,
            });
        }
        let scale = required(inputs, 1)?;
        if !matches!(scale.dtype, DType::F32 | DType::F16) {
            return Err(OpError::UnsupportedDType {
                index: 1,
                dtype: scale.dtype,
            });
        }
        if let Some(zero) = optional(inputs, 2)
            && zero.dtype != x.dtype
        {
            return Err(OpError::DTypeMismatch {
                index: 2,
                expected: x.dtype,
                actual: zero.dtype,
            });
        }
        if let Some(wanted) = self.output_dtype
            && wanted != scale.dtype
        {
            return Err(OpError::Unsupported {
                what: format!("DequantizeLinear to {wanted} with {} scales", scale.dtype),
            });
        }
        check_params(inputs, self.axis)?;
        Ok(vec![OutputSpec::new(scale.dtype, x.shape.to_vec())])
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let specs = self.infer(&infos(inputs))?;
        check_outputs(&specs, outputs)?;
        let Some(out) = outputs.first_mut() else {
            return Ok(());
        };
        let x = required(inputs, 0)?;
        let scale = required(inputs, 1)?;
        let scales = float_values(scale, 1)?;
        let zeros = match optional(inputs, 2) {
            Some(zero) => int_values(zero, 2)?,
            None => vec![0],
        };
        let channels = Channels::new(x.shape(), scale.shape(), self.axis)?;
        let values = int_values(x, 0)?;
        let dequantize = |i: usize, q: i32| {
            let c = channels.of(i);
            (q as f32 - per(&zeros, c) as f32) * per(&scales, c)
        };
        match out.dtype() {
            DType::F16 => {
                for (i, (o, &q)) in out
                    .as_slice_mut::<f16>()?
                    .iter_mut()
                    .zip(&values)
                    .enumerate()
                {
                    *o = f16::from_f32(dequantize(i, q));
                }
            }
            _ => {
                for (i, (o, &q)) in out
                    .as_slice_mut::<f32>()?
                    .iter_mut()
                    .zip(&values)
                    .enumerate()
                {
                    *o = dequantize(i, q);
                }
            }
        }
        Ok(())
    }
}

/// ONNX `DynamicQuantizeLinear`: u8 quantization of an f32 tensor over the
/// range `[min(0, min x), max(0, max x)]`; outputs `y`, `y_scale` and
/// `y_zero_point`. An all-zero (or empty) input gets scale 0, zero point 0.
#[derive(Debug)]
pub(crate) struct DynamicQuantizeLinear;

impl Operator for DynamicQuantizeLinear {
    fn op(&self) -> OpCode {
        OpCode::DynamicQuantizeLinear
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 1, 1, "1")?;
        let x = required(inputs, 0)?;
        if x.dtype != DType::F32 {
            return Err(OpError::UnsupportedDType {
                index: 0,
                dtype: x.dtype,
            });
        }
        Ok(vec![
            OutputSpec::new(DType::U8, x.shape.to_vec()),
            OutputSpec::new(DType::F32, vec![]),
            OutputSpec::new(DType::U8, vec![]),
        ])
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let specs = self.infer(&infos(inputs))?;
        check_outputs(&specs, outputs)?;
        let x = required(inputs, 0)?.as_slice::<f32>()?;
        let (scale, zero) = dynamic_range(x);
        let mut outputs = outputs.iter_mut();
        if let Some(y) = outputs.next() {
            for (o, &v) in y.as_slice_mut::<u8>()?.iter_mut().zip(x) {
                *o = if scale > 0.0 {
                    ((v / scale).round_ties_even() as i32)
                        .saturating_add(i32::from(zero))
                        .clamp(0, 255) as u8
                } else {
                    zero
                };
            }
        }
        if let Some(y_scale) = outputs.next() {
            y_scale.as_slice_mut::<f32>()?.fill(scale);
        }
        if let Some(y_zero) = outputs.next() {
            y_zero.as_slice_mut::<u8>()?.fill(zero);
        }
        Ok(())
    }
}

/// Scale and zero point of `DynamicQuantizeLinear`, computed in f32 as ONNX
/// specifies (NaNs in the input are ignored by the range).
pub(crate) fn dynamic_range(x: &[f32]) -> (f32, u8) {
    let (low, high) = x
        .iter()
        .filter(|v| !v.is_nan())
        .fold((0.0f32, 0.0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let scale = (high - low) / 255.0;
    if !(scale > 0.0 && scale.is_finite()) {
        return (0.0, 0);
    }
    let zero = (0.0 - low / scale).round_ties_even().clamp(0.0, 255.0) as u8;
    (scale, zero)
}
