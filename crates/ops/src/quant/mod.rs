//! Operator family `quant` (see `docs/ops/quant.md`): ONNX's linear
//! quantization operators and integer matrix products, over pocketnn's u8
//! and i8 tensors.
//!
//! Conventions shared by the family:
//! * a quantization parameter (scale, zero point) is per tensor (a scalar or
//!   a 1-element tensor) or per axis (a 1-D tensor as long as that axis);
//! * rounding is to nearest, halves to even, like ONNX's reference and
//!   onnxruntime;
//! * the integer products run on the `qgemm` kernels (u8 activations × i8
//!   weights): i8 activations and u8 weights are shifted by 128, with their
//!   zero points, which leaves every product unchanged.

use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::Operator;
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::TensorView;
use pocketnn_tensor::kernels::qgemm::QuantMultiplier;

mod conv;
mod conv_f32;
mod dynamic;
mod linear;
mod matmul;
pub(crate) mod pack_cache;

#[cfg(test)]
mod conv_f32_tests;
#[cfg(test)]
mod depthwise_tests;
#[cfg(test)]
mod dynamic_tests;
#[cfg(test)]
mod tests;

fn boxed<T: Operator + 'static>(op: OpResult<T>) -> OpResult<Box<dyn Operator>> {
    op.map(|o| Box::new(o) as Box<dyn Operator>)
}

/// Builds `op` if it belongs to this family.
pub(crate) fn build(op: OpCode, attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    Some(match op {
        OpCode::QuantizeLinear => boxed(linear::QuantizeLinear::build(attrs)),
        OpCode::DequantizeLinear => boxed(linear::DequantizeLinear::build(attrs)),
        OpCode::DynamicQuantizeLinear => Ok(Box::new(linear::DynamicQuantizeLinear)),
        OpCode::MatMulInteger => Ok(Box::new(matmul::MatMulInteger::default())),
        OpCode::QLinearMatMul => Ok(Box::new(matmul::QLinearMatMul::default())),
        OpCode::ConvInteger => boxed(conv::ConvInteger::build(attrs)),
        OpCode::QLinearConv => boxed(conv::QLinearConv::build(attrs)),
        OpCode::QLinearConvF32 => boxed(conv_f32::QLinearConvF32::build(attrs)),
        OpCode::DynamicQuantMatMul => boxed(dynamic::DynamicQuantMatMul::build(attrs)),
        _ => return None,
    })
}

/// True for a per-tensor parameter: a scalar or a 1-element 1-D tensor.
fn is_per_tensor(shape: &[usize]) -> bool {
    shape.is_empty() || shape == [1]
}

/// Checks that a quantization parameter (input `index`) is per tensor, or
/// (when `axis_len` is given) per axis with that many entries.
fn check_param_shape(shape: &[usize], axis_len: Option<usize>, index: usize) -> OpResult<()> {
    if is_per_tensor(shape) || axis_len.is_some_and(|len| shape == [len]) {
        return Ok(());
    }
    Err(OpError::ShapeMismatch {
        reason: format!(
            "input {index}: shape {shape:?} is neither a scalar nor one value per {}",
            match axis_len {
                Some(len) => format!("slice of the axis ({len})"),
                None => "tensor".to_string(),
            }
        ),
    })
}

/// A float parameter (scale) as f32 values.
fn float_values(view: TensorView<'_>, index: usize) -> OpResult<Vec<f32>> {
    match view.dtype() {
        DType::F32 | DType::F16 => Ok(view.to_f32_vec()?),
        dtype => Err(OpError::UnsupportedDType { index, dtype }),
    }
}

/// Positive, finite scales (anything else makes every output meaningless).
fn check_scales(scales: &[f32], index: usize) -> OpResult<()> {
    match scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        Some(bad) => Err(OpError::InvalidInput {
            index,
            reason: format!("scale {bad} is not finite and positive"),
        }),
        None => Ok(()),
    }
}

/// An integer zero point or quantized tensor's values as i32.
fn int_values(view: TensorView<'_>, index: usize) -> OpResult<Vec<i32>> {
    Ok(match view.dtype() {
        DType::U8 => view
            .as_slice::<u8>()?
            .iter()
            .map(|&v| i32::from(v))
            .collect(),
        DType::I8 => view
            .as_slice::<i8>()?
            .iter()
            .map(|&v| i32::from(v))
            .collect(),
        DType::I32 => view.as_slice::<i32>()?.to_vec(),
        dtype => return Err(OpError::UnsupportedDType { index, dtype }),
    })
}

/// Scales of input `index`: finite and positive, per tensor or (when
/// `per` is a positive length) one per slice.
pub(crate) fn scales(
    inputs: &[Option<TensorView<'_>>],
    index: usize,
    per: Option<usize>,
) -> OpResult<Vec<f32>> {
    let view = crate::util::required(inputs, index)?;
    check_param_shape(view.shape(), per.filter(|&n| n > 0), index)?;
    let values = float_values(view, index)?;
    check_scales(&values, index)?;
    Ok(values)
}

/// Zero points of input `index` (`[0]` when absent): per tensor or (when
/// `per` is a positive length) one per slice.
pub(crate) fn zero_points(
    view: Option<TensorView<'_>>,
    per: Option<usize>,
    index: usize,
) -> OpResult<Vec<i32>> {
    match view {
        None => Ok(vec![0]),
        Some(z) => {
            check_param_shape(z.shape(), per.filter(|&n| n > 0), index)?;
            int_values(z, index)
        }
    }
}

/// How a QLinear product's i32 accumulators become its output (inputs 1
/// activation scale, 4 weight scales, 6 output scale and 7 output zero
/// point, the layout QLinearConv and QLinearMatMul share).
pub(crate) struct OutputQuantization {
    /// `x_scale · w_scale[j] / y_scale`, one per weight scale (one for a
    /// per-tensor weight scale, one per output channel otherwise).
    pub multipliers: Vec<QuantMultiplier>,
    /// The output zero point, as a u8 (an i8 output is shifted by 128).
    pub zero: u8,
    /// The output dtype's range, shifted like `zero`.
    pub range: (u8, u8),
}

/// Reads and checks the output quantization of a QLinear product with
/// `channels` output channels writing `out_dtype`.
pub(crate) fn output_quantization(
    inputs: &[Option<TensorView<'_>>],
    channels: usize,
    out_dtype: DType,
) -> OpResult<OutputQuantization> {
    let (x_scale, w_scale, y_scale) = (
        scales(inputs, 1, None)?,
        scales(inputs, 4, Some(channels))?,
        scales(inputs, 6, None)?,
    );
    let y_zero = zero_points(crate::util::optional(inputs, 7), None, 7)?;
    let multipliers = w_scale
        .iter()
        .map(|&w| {
            QuantMultiplier::new(f64::from(x_scale[0]) * f64::from(w) / f64::from(y_scale[0]))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let shift = if out_dtype == DType::I8 { 128 } else { 0 };
    let (low, high) = quantized_range(out_dtype).unwrap_or((0, 255));
    Ok(OutputQuantization {
        multipliers,
        zero: (per(&y_zero, 0) + shift).clamp(0, 255) as u8,
        range: ((low + shift) as u8, (high + shift) as u8),
    })
}

/// The range of a quantized dtype.
fn quantized_range(dtype: DType) -> Option<(i32, i32)> {
    match dtype {
        DType::U8 => Some((0, 255)),
        DType::I8 => Some((-128, 127)),
        _ => None,
    }
}

/// Entry `i` of a per-tensor (one value) or per-axis list.
#[inline]
fn per<T: Copy>(values: &[T], i: usize) -> T {
    if values.len() == 1 {
        values[0]
    } else {
        values[i]
    }
}
