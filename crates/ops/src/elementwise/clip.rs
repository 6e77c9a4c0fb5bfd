//! `Clip(input, min?, max?)`: clamps to bounds given as optional
//! one-element inputs of the input's dtype.

use super::broadcast::map_chunks;
use super::numeric::Numeric;
use super::{boxed, check_dtype, check_same_dtype, first_output};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, optional, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::activation::{self, Activation};
use pocketnn_tensor::{Isa, TensorView, TensorViewMut, f16};

/// Dtypes `Clip` runs on.
const CLIP_DTYPES: &[DType] = super::NUMERIC;

/// Builds `Clip` (it has no attributes at opset 21).
pub(super) fn build(op: OpCode, _attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    if op != OpCode::Clip {
        return None;
    }
    boxed(Ok(Clip))
}

/// `Clip`: `min(max(x, lo), hi)`. An omitted bound is unbounded; when
/// `lo > hi` every element becomes `hi` (as ONNX specifies); NaN stays NaN.
#[derive(Debug)]
pub(super) struct Clip;

impl Operator for Clip {
    fn op(&self) -> OpCode {
        OpCode::Clip
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 1, 3, "1 to 3")?;
        let x = required(inputs, 0)?;
        check_dtype(0, x.dtype, CLIP_DTYPES)?;
        for index in 1..3 {
            if let Some(bound) = optional(inputs, index) {
                check_same_dtype(index, bound.dtype, x.dtype)?;
                check_single(index, bound.shape)?;
            }
        }
        Ok(vec![OutputSpec::new(x.dtype, x.shape.to_vec())])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let x = required(inputs, 0)?;
        let (lo, hi) = (optional(inputs, 1), optional(inputs, 2));
        let out = first_output(outputs)?;
        let threads = ctx.threads;
        match x.dtype() {
            DType::F32 => clip_f32(ctx.isa, threads, x, lo, hi, out),
            DType::F16 => clip::<f16>(threads, x, lo, hi, out),
            DType::I8 => clip::<i8>(threads, x, lo, hi, out),
            DType::U8 => clip::<u8>(threads, x, lo, hi, out),
            DType::I32 => clip::<i32>(threads, x, lo, hi, out),
            DType::I64 => clip::<i64>(threads, x, lo, hi, out),
            dtype => Err(OpError::UnsupportedDType { index: 0, dtype }),
        }
    }
}

/// A bound must hold exactly one element (ONNX says a scalar; a `[1]`
/// tensor is accepted too).
fn check_single(index: usize, shape: &[usize]) -> OpResult<()> {
    if pocketnn_tensor::num_elements(shape) == Some(1) {
        Ok(())
    } else {
        Err(OpError::ShapeMismatch {
            reason: format!(
                "Clip bound (input {index}) must have one element, got shape {shape:?}"
            ),
        })
    }
}

/// The bound of input `index`, or `default` when omitted.
fn bound<T: Numeric>(view: Option<TensorView<'_>>, index: usize, default: T) -> OpResult<T> {
    match view {
        None => Ok(default),
        Some(v) => {
            check_single(index, v.shape())?;
            v.as_slice::<T>()?
                .first()
                .copied()
                .ok_or(OpError::MissingInput { index })
        }
    }
}

/// f32 `Clip` on the `f32-vclip` kernel of tier `isa` (same semantics as
/// [`clip`]: `x < lo ? lo : x`, then `> hi ? hi`, so NaN and NaN bounds
/// pass `x` through).
fn clip_f32(
    isa: Isa,
    threads: usize,
    x: TensorView<'_>,
    lo: Option<TensorView<'_>>,
    hi: Option<TensorView<'_>>,
    out: &mut TensorViewMut<'_>,
) -> OpResult<()> {
    let min = bound(lo, 1, f32::LOWEST)?;
    let max = bound(hi, 2, f32::HIGHEST)?;
    let clip = Activation::Clip { min, max };
    map_chunks(
        threads,
        x.as_slice::<f32>()?,
        out.as_slice_mut::<f32>()?,
        |x, y| {
            if activation::apply_to(isa, clip, x, y).is_err() {
                // A tier this CPU lacks: the scalar loop.
                for (o, &v) in y.iter_mut().zip(x) {
                    *o = clip.apply_reference(v);
                }
            }
        },
    )
}

fn clip<T: Numeric>(
    threads: usize,
    x: TensorView<'_>,
    lo: Option<TensorView<'_>>,
    hi: Option<TensorView<'_>>,
    out: &mut TensorViewMut<'_>,
) -> OpResult<()> {
    let lo = bound(lo, 1, T::LOWEST)?;
    let hi = bound(hi, 2, T::HIGHEST)?;
    map_chunks(
        threads,
        x.as_slice::<T>()?,
        out.as_slice_mut::<T>()?,
        |x, y| {
            for (o, &v) in y.iter_mut().zip(x) {
                let v = if v < lo { lo } else { v };
                *o = if v > hi { hi } else { v };
            }
        },
    )
}
