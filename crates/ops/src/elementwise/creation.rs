//! Tensor creation and metadata: `Shape`, `Size`, `ConstantOfShape`,
//! `Range`, `EyeLike`.

use super::cast::dtype_attribute;
use super::numeric::Numeric;
use super::{boxed, check_dtype, check_same_dtype, first_output, length_mismatch};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape, known_value, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{TensorView, TensorViewMut, f16};

/// The largest output `Range` may produce, in elements (2^28: 1 GiB of
/// f32). Real models build index vectors far below this; a larger count
/// comes from a corrupt or hostile file and is an error.
pub(super) const RANGE_MAX_ELEMENTS: usize = 1 << 28;

/// Builds the creation and metadata operators.
pub(super) fn build(op: OpCode, attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    match op {
        OpCode::Shape => boxed((|| {
            Ok(Shape {
                start: attrs.int("start", 0)?,
                end: attrs.int_opt("end")?,
            })
        })()),
        OpCode::Size => boxed(Ok(Size)),
        OpCode::ConstantOfShape => boxed(ConstantOfShape::new(attrs)),
        OpCode::Range => boxed(Ok(Range)),
        OpCode::EyeLike => boxed((|| {
            let dtype = match attrs.get("dtype") {
                None => None,
                Some(_) => Some(dtype_attribute(attrs, "dtype")?),
            };
            Ok(EyeLike {
                k: attrs.int("k", 0)?,
                dtype,
            })
        })()),
        _ => None,
    }
}

/// `Shape(data)`: the dimensions `start..end` of the input as a 1-D i64
/// tensor. Negative bounds count from the end; both are clamped to
/// `[0, rank]` (opset 15); `start >= end` gives an empty vector.
#[derive(Debug)]
pub(super) struct Shape {
    start: i64,
    end: Option<i64>,
}

impl Shape {
    fn range(&self, rank: usize) -> std::ops::Range<usize> {
        let rank_i = i64::try_from(rank).unwrap_or(i64::MAX);
        let clamp = |v: i64| -> usize {
            let v = if v < 0 { v.saturating_add(rank_i) } else { v };
            usize::try_from(v.clamp(0, rank_i)).unwrap_or(0)
        };
        let start = clamp(self.start);
        let end = clamp(self.end.unwrap_or(rank_i));
        start..end.max(start)
    }
}

impl Operator for Shape {
    fn op(&self) -> OpCode {
        OpCode::Shape
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 1, 1, "1")?;
        let x = required(inputs, 0)?;
        Ok(vec![OutputSpec::new(
            DType::I64,
            vec![self.range(x.shape.len()).len()],
        )])
    }

    fn reads_input_value(&self, _index: usize) -> bool {
        false
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let x = required(inputs, 0)?;
        let dims = x.shape().get(self.range(x.rank())).unwrap_or(&[]);
        let out = first_output(outputs)?.as_slice_mut::<i64>()?;
        if out.len() != dims.len() {
            return Err(length_mismatch("output"));
        }
        for (o, &d) in out.iter_mut().zip(dims) {
            *o = i64::try_from(d).unwrap_or(i64::MAX);
        }
        Ok(())
    }
}

/// `Size(data)`: the element count as an i64 scalar.
#[derive(Debug)]
pub(super) struct Size;

impl Operator for Size {
    fn op(&self) -> OpCode {
        OpCode::Size
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 1, 1, "1")?;
        required(inputs, 0)?;
        Ok(vec![OutputSpec::new(DType::I64, Vec::new())])
    }

    fn reads_input_value(&self, _index: usize) -> bool {
        false
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let x = required(inputs, 0)?;
        let count = pocketnn_tensor::num_elements(x.shape()).ok_or_else(|| OpError::TooLarge {
            shape: x.shape().to_vec(),
        })?;
        let out = first_output(outputs)?.as_slice_mut::<i64>()?;
        let [o] = out else {
            return Err(length_mismatch("output"));
        };
        *o = i64::try_from(count).unwrap_or(i64::MAX);
        Ok(())
    }
}

/// The fill value of `ConstantOfShape`, already in the output's dtype.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fill {
    Float(f32),
    Int(i64),
}

/// `ConstantOfShape(shape)`: a tensor of the given shape (a 1-D i64 input)
/// filled with one value. pocketnn attributes: `dtype` (code, default f32),
/// and at most one of `value_float` (float dtypes only) and `value_int`
/// (any dtype; must fit it), default 0.
#[derive(Debug)]
pub(super) struct ConstantOfShape {
    dtype: DType,
    fill: Fill,
}

impl ConstantOfShape {
    fn new(attrs: &Attrs<'_>) -> OpResult<Self> {
        let dtype = match attrs.get("dtype") {
            None => DType::F32,
            Some(_) => dtype_attribute(attrs, "dtype")?,
        };
        let fill = match (attrs.float_opt("value_float")?, attrs.int_opt("value_int")?) {
            (Some(_), Some(_)) => {
                return Err(attrs.invalid("value_float", "give value_float or value_int, not both"));
            }
            (Some(v), None) => {
                if !matches!(dtype, DType::F32 | DType::F16) {
                    return Err(attrs.invalid(
                        "value_float",
                        format!("a float value for a {dtype} tensor; use value_int"),
                    ));
                }
                Fill::Float(v)
            }
            (None, Some(v)) => {
                let fits = match dtype {
                    DType::Bool => (0..=1).contains(&v),
                    DType::U8 => u8::try_from(v).is_ok(),
                    DType::I8 => i8::try_from(v).is_ok(),
                    DType::I32 => i32::try_from(v).is_ok(),
                    DType::I64 | DType::F32 | DType::F16 => true,
                };
                if !fits {
                    return Err(attrs.invalid("value_int", format!("{v} does not fit {dtype}")));
                }
                Fill::Int(v)
            }
            (None, None) => Fill::Int(0),
        };
        Ok(ConstantOfShape { dtype, fill })
    }
}

impl Operator for ConstantOfShape {
    fn op(&self) -> OpCode {
        OpCode::ConstantOfShape
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 1, 1, "1")?;
        let input = required(inputs, 0)?;
        check_dtype(0, input.dtype, &[DType::I64])?;
        if input.shape.len() != 1 {
            return Err(OpError::ShapeMismatch {
                reason: format!("the shape input must be 1-D, got shape {:?}", input.shape),
            });
        }
        let dims = known_value(inputs, 0)?.as_slice::<i64>()?;
        let shape = dims
            .iter()
            .map(|&d| {
                usize::try_from(d).map_err(|_| OpError::InvalidInput {
                    index: 0,
                    reason: format!("negative dimension {d}"),
                })
            })
            .collect::<OpResult<Vec<usize>>>()?;
        Ok(vec![OutputSpec::new(
            self.dtype,
            checked_shape(shape, self.dtype.size())?,
        )])
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        _inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let out = first_output(outputs)?;
        check_same_dtype(0, out.dtype(), self.dtype)?;
        match (self.dtype, self.fill) {
            (DType::F32, Fill::Float(v)) => out.as_slice_mut::<f32>()?.fill(v),
            (DType::F16, Fill::Float(v)) => out.as_slice_mut::<f16>()?.fill(f16::from_f32(v)),
            (DType::F32, Fill::Int(v)) => out.as_slice_mut::<f32>()?.fill(f32::from_i64(v)),
            (DType::F16, Fill::Int(v)) => out.as_slice_mut::<f16>()?.fill(f16::from_i64(v)),
            (DType::I8, Fill::Int(v)) => out.as_slice_mut::<i8>()?.fill(i8::from_i64(v)),
            (DType::U8 | DType::Bool, Fill::Int(v)) => {
                out.as_slice_mut::<u8>()?.fill(u8::from_i64(v))
            }
            (DType::I32, Fill::Int(v)) => out.as_slice_mut::<i32>()?.fill(i32::from_i64(v)),
            (DType::I64, Fill::Int(v)) => out.as_slice_mut::<i64>()?.fill(v),
            (dtype, Fill::Float(_)) => {
                return Err(OpError::Unsupported {
                    what: format!("a float fill value for {dtype}"),
                });
            }
        }
        Ok(())
    }
}

/// `Range(start, limit, delta)`: `start + i·delta` for
/// `i < max(ceil((limit - start) / delta), 0)`; one-element inputs of one
/// dtype (f32, i32, i64). `delta = 0`, non-finite values and counts above
/// [`RANGE_MAX_ELEMENTS`] are errors.
#[derive(Debug)]
pub(super) struct Range;

const RANGE_DTYPES: &[DType] = &[DType::F32, DType::I32, DType::I64];

/// The value of one `Range` input.
fn scalar<T: Numeric>(view: TensorView<'_>, index: usize) -> OpResult<T> {
    match view.as_slice::<T>()? {
        [v] => Ok(*v),
        _ => Err(OpError::ShapeMismatch {
            reason: format!(
                "Range input {index} must have one element, got shape {:?}",
                view.shape()
            ),
        }),
    }
}

/// The element count of a `Range`.
fn range_count(views: [TensorView<'_>; 3]) -> OpResult<usize> {
    let [start, limit, delta] = views;
    let count: f64 = match start.dtype() {
        DType::F32 => {
            let (s, l, d) = (
                scalar::<f32>(start, 0)?,
                scalar::<f32>(limit, 1)?,
                scalar::<f32>(delta, 2)?,
            );
            if !(s.is_finite() && l.is_finite() && d.is_finite()) {
                return Err(OpError::InvalidInput {
                    index: 0,
                    reason: "Range bounds must be finite".to_string(),
                });
            }
            (f64::from(l - s) / f64::from(d)).ceil()
        }
        DType::I32 | DType::I64 => {
            let v = |view, i| -> OpResult<i128> {
                Ok(match start.dtype() {
                    DType::I32 => i128::from(scalar::<i32>(view, i)?),
                    _ => i128::from(scalar::<i64>(view, i)?),
                })
            };
            let (s, l, d) = (v(start, 0)?, v(limit, 1)?, v(delta, 2)?);
            if d == 0 {
                f64::NAN // reported as a zero delta below
            } else {
                let diff = l - s;
                // ceil(diff / d) for integers, in i128 so nothing overflows.
                let q = diff / d;
                let ceil = if diff % d != 0 && ((diff > 0) == (d > 0)) {
                    q + 1
                } else {
                    q
                };
                ceil as f64
            }
        }
        dtype => return Err(OpError::UnsupportedDType { index: 0, dtype }),
    };
    if count.is_nan() || count.is_infinite() {
        return Err(OpError::InvalidInput {
            index: 2,
            reason: "Range delta must not be zero".to_string(),
        });
    }
    if count > RANGE_MAX_ELEMENTS as f64 {
        return Err(OpError::InvalidInput {
            index: 1,
            reason: format!("Range would have {count} elements (limit {RANGE_MAX_ELEMENTS})"),
        });
    }
    Ok(if count > 0.0 { count as usize } else { 0 })
}

impl Operator for Range {
    fn op(&self) -> OpCode {
        OpCode::Range
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 3, 3, "3")?;
        let start = required(inputs, 0)?;
        check_dtype(0, start.dtype, RANGE_DTYPES)?;
        for index in 1..3 {
            check_same_dtype(index, required(inputs, index)?.dtype, start.dtype)?;
        }
        let views = [
            known_value(inputs, 0)?,
            known_value(inputs, 1)?,
            known_value(inputs, 2)?,
        ];
        Ok(vec![OutputSpec::new(
            start.dtype,
            vec![range_count(views)?],
        )])
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let views = [
            required(inputs, 0)?,
            required(inputs, 1)?,
            required(inputs, 2)?,
        ];
        let count = range_count(views)?;
        let out = first_output(outputs)?;
        if out.len() != count {
            return Err(length_mismatch("output"));
        }
        let [start, _, delta] = views;
        match start.dtype() {
            DType::F32 => fill_range(
                out.as_slice_mut::<f32>()?,
                scalar(start, 0)?,
                scalar(delta, 2)?,
            ),
            DType::I32 => fill_range(
                out.as_slice_mut::<i32>()?,
                scalar(start, 0)?,
                scalar(delta, 2)?,
            ),
            DType::I64 => fill_range(
                out.as_slice_mut::<i64>()?,
                scalar(start, 0)?,
                scalar(delta, 2)?,
            ),
            dtype => return Err(OpError::UnsupportedDType { index: 0, dtype }),
        }
        Ok(())
    }
}

/// `out[i] = start + i·delta` (computed per element, so float ranges do not
/// accumulate rounding; integer values stay between start and limit).
fn fill_range<T: Numeric>(out: &mut [T], start: T, delta: T) {
    for (i, o) in out.iter_mut().enumerate() {
        let i = T::from_i64(i64::try_from(i).unwrap_or(i64::MAX));
        *o = start.add(i.mul(delta));
    }
}

/// `EyeLike(input)`: a 2-D tensor of the input's shape with ones on diagonal
/// `k` (above the main one for `k > 0`) and zeros elsewhere; dtype from
/// attribute `dtype`, else the input's.
#[derive(Debug)]
pub(super) struct EyeLike {
    k: i64,
    dtype: Option<DType>,
}

impl Operator for EyeLike {
    fn op(&self) -> OpCode {
        OpCode::EyeLike
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 1, 1, "1")?;
        let x = required(inputs, 0)?;
        if x.shape.len() != 2 {
            return Err(OpError::ShapeMismatch {
                reason: format!("EyeLike needs a 2-D input, got shape {:?}", x.shape),
            });
        }
        let dtype = self.dtype.unwrap_or(x.dtype);
        Ok(vec![OutputSpec::new(
            dtype,
            checked_shape(x.shape.to_vec(), dtype.size())?,
        )])
    }

    fn reads_input_value(&self, _index: usize) -> bool {
        false
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let x = required(inputs, 0)?;
        let &[rows, columns] = x.shape() else {
            return Err(OpError::ShapeMismatch {
                reason: format!("EyeLike needs a 2-D input, got shape {:?}", x.shape()),
            });
        };
        let out = first_output(outputs)?;
        let k = self.k;
        match out.dtype() {
            DType::F32 => eye(out.as_slice_mut::<f32>()?, rows, columns, k),
            DType::F16 => eye(out.as_slice_mut::<f16>()?, rows, columns, k),
            DType::I8 => eye(out.as_slice_mut::<i8>()?, rows, columns, k),
            DType::U8 | DType::Bool => eye(out.as_slice_mut::<u8>()?, rows, columns, k),
            DType::I32 => eye(out.as_slice_mut::<i32>()?, rows, columns, k),
            DType::I64 => eye(out.as_slice_mut::<i64>()?, rows, columns, k),
        }
    }
}

fn eye<T: Numeric>(out: &mut [T], rows: usize, columns: usize, k: i64) -> OpResult<()> {
    if Some(out.len()) != rows.checked_mul(columns) {
        return Err(length_mismatch("output"));
    }
    out.fill(T::ZERO);
    if columns == 0 {
        return Ok(());
    }
    for (r, row) in out.chunks_exact_mut(columns).enumerate() {
        // The column of the diagonal in row r is r + k, if it exists.
        let c = i64::try_from(r).ok().and_then(|r| r.checked_add(k));
        if let Some(o) = c
            .and_then(|c| usize::try_from(c).ok())
            .and_then(|c| row.get_mut(c))
        {
            *o = T::ONE;
        }
    }
    Ok(())
}
