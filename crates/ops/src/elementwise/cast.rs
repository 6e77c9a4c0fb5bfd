//! `Cast(input)` to the dtype of attribute `to`, between every pair of
//! pocketnn's dtypes.
//!
//! Conversions (none panics):
//! * float → integer truncates toward zero and saturates at the target's
//!   limits; NaN becomes 0;
//! * integer → integer keeps the low bits (two's complement wrap, as C and
//!   numpy do);
//! * integer or float → float rounds to nearest (beyond f16's range: ±inf);
//! * anything → bool is `value != 0` (NaN is true); bool → anything is 0 or 1.

use super::broadcast::map_chunks;
use super::numeric::{Numeric, convert};
use super::{boxed, first_output, length_mismatch};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{TensorView, TensorViewMut, f16};

/// Builds `Cast`; `to` must name one of pocketnn's dtypes.
pub(super) fn build(op: OpCode, attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    if op != OpCode::Cast {
        return None;
    }
    boxed((|| {
        // `saturate` (opset 19+) only concerns float8 types, which pocketnn
        // does not have; it is accepted and has no effect.
        attrs.int("saturate", 1)?;
        Ok(Cast {
            to: dtype_attribute(attrs, "to")?,
        })
    })())
}

/// Reads a required dtype-code attribute (ONNX `TensorProto.DataType`
/// numbering, as [`DType::from_code`]).
pub(super) fn dtype_attribute(attrs: &Attrs<'_>, name: &str) -> OpResult<DType> {
    let code = attrs.int_req(name)?;
    u8::try_from(code)
        .ok()
        .and_then(DType::from_code)
        .ok_or_else(|| attrs.invalid(name, format!("{code} is not a dtype pocketnn supports")))
}

/// `Cast` to a fixed dtype.
#[derive(Debug)]
pub(super) struct Cast {
    to: DType,
}

impl Operator for Cast {
    fn op(&self) -> OpCode {
        OpCode::Cast
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 1, 1, "1")?;
        let x = required(inputs, 0)?;
        let shape = crate::util::checked_shape(x.shape.to_vec(), self.to.size())?;
        Ok(vec![OutputSpec::new(self.to, shape)])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let x = required(inputs, 0)?;
        let out = first_output(outputs)?;
        if out.dtype() != self.to {
            return Err(OpError::DTypeMismatch {
                index: 0,
                expected: self.to,
                actual: out.dtype(),
            });
        }
        let threads = ctx.threads;
        match x.dtype() {
            DType::F32 => cast_from::<f32>(threads, x.as_slice()?, out),
            DType::F16 => cast_from::<f16>(threads, x.as_slice()?, out),
            DType::I8 => cast_from::<i8>(threads, x.as_slice()?, out),
            DType::U8 => cast_from::<u8>(threads, x.as_slice()?, out),
            DType::I32 => cast_from::<i32>(threads, x.as_slice()?, out),
            DType::I64 => cast_from::<i64>(threads, x.as_slice()?, out),
            // Any nonzero byte is true.
            DType::Bool => cast_from_bool(threads, x.as_slice()?, out),
        }
    }
}

/// Casts `x` (of a numeric type) to the output's dtype.
fn cast_from<S: Numeric>(threads: usize, x: &[S], out: &mut TensorViewMut<'_>) -> OpResult<()> {
    match out.dtype() {
        DType::F32 => cast_to::<S, f32>(threads, x, out.as_slice_mut()?),
        DType::F16 => cast_to::<S, f16>(threads, x, out.as_slice_mut()?),
        DType::I8 => cast_to::<S, i8>(threads, x, out.as_slice_mut()?),
        DType::U8 => cast_to::<S, u8>(threads, x, out.as_slice_mut()?),
        DType::I32 => cast_to::<S, i32>(threads, x, out.as_slice_mut()?),
        DType::I64 => cast_to::<S, i64>(threads, x, out.as_slice_mut()?),
        DType::Bool => {
            let out = out.as_slice_mut::<u8>()?;
            map_chunks(threads, x, out, |x, y| {
                for (o, &v) in y.iter_mut().zip(x) {
                    *o = u8::from(v != S::ZERO);
                }
            })
        }
    }
}

fn cast_to<S: Numeric, D: Numeric>(threads: usize, x: &[S], out: &mut [D]) -> OpResult<()> {
    if S::DTYPE == D::DTYPE {
        // Same type: a plain copy.
        let (x, out): (&[u8], &mut [u8]) = (bytemuck::cast_slice(x), bytemuck::cast_slice_mut(out));
        if x.len() != out.len() {
            return Err(length_mismatch("output"));
        }
        out.copy_from_slice(x);
        return Ok(());
    }
    map_chunks(threads, x, out, |x, y| {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = convert::<S, D>(v);
        }
    })
}

/// Bool (0 or nonzero) to a numeric dtype: 0 or 1.
fn cast_from_bool(threads: usize, x: &[u8], out: &mut TensorViewMut<'_>) -> OpResult<()> {
    fn ones<D: Numeric>(threads: usize, x: &[u8], out: &mut [D]) -> OpResult<()> {
        map_chunks(threads, x, out, |x, y| {
            for (o, &v) in y.iter_mut().zip(x) {
                *o = if v != 0 { D::ONE } else { D::ZERO };
            }
        })
    }
    match out.dtype() {
        DType::F32 => ones::<f32>(threads, x, out.as_slice_mut()?),
        DType::F16 => ones::<f16>(threads, x, out.as_slice_mut()?),
        DType::I8 => ones::<i8>(threads, x, out.as_slice_mut()?),
        DType::U8 | DType::Bool => ones::<u8>(threads, x, out.as_slice_mut()?),
        DType::I32 => ones::<i32>(threads, x, out.as_slice_mut()?),
        DType::I64 => ones::<i64>(threads, x, out.as_slice_mut()?),
    }
}
