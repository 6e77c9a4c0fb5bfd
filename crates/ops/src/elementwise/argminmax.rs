//! `ArgMax` and `ArgMin`: the index (i64) of the extreme value along one axis.

use super::numeric::Numeric;
use super::reduce::flag;
use super::{NUMERIC, boxed, check_dtype, first_output, length_mismatch};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape, normalize_axis, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{TensorView, TensorViewMut, f16};

/// Builds `ArgMax` and `ArgMin`.
pub(super) fn build(op: OpCode, attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    let max = match op {
        OpCode::ArgMax => true,
        OpCode::ArgMin => false,
        _ => return None,
    };
    boxed((|| {
        Ok(ArgExtreme {
            op,
            max,
            axis: attrs.int("axis", 0)?,
            keepdims: flag(attrs, "keepdims", true)?,
            select_last_index: flag(attrs, "select_last_index", false)?,
        })
    })())
}

/// `ArgMax` (`max`) or `ArgMin`. NaN counts as the extreme for both, as in
/// numpy: the first NaN (the last with `select_last_index`) wins.
#[derive(Debug)]
pub(super) struct ArgExtreme {
    op: OpCode,
    max: bool,
    axis: i64,
    keepdims: bool,
    select_last_index: bool,
}

impl ArgExtreme {
    /// `(outer, axis length, inner)` of `shape` around the axis.
    fn layout(&self, shape: &[usize]) -> OpResult<(usize, usize, usize)> {
        let axis = normalize_axis(self.axis, shape.len())?;
        let n = shape[axis];
        if n == 0 {
            return Err(OpError::ShapeMismatch {
                reason: format!("{} over an empty axis {axis}", self.op),
            });
        }
        let product = |dims: &[usize]| {
            pocketnn_tensor::num_elements(dims).ok_or_else(|| OpError::TooLarge {
                shape: shape.to_vec(),
            })
        };
        Ok((product(&shape[..axis])?, n, product(&shape[axis + 1..])?))
    }

    fn output_shape(&self, shape: &[usize]) -> OpResult<Vec<usize>> {
        let axis = normalize_axis(self.axis, shape.len())?;
        let mut out = shape.to_vec();
        if self.keepdims {
            out[axis] = 1;
        } else {
            out.remove(axis);
        }
        Ok(out)
    }
}

impl Operator for ArgExtreme {
    fn op(&self) -> OpCode {
        self.op
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 1, 1, "1")?;
        let x = required(inputs, 0)?;
        check_dtype(0, x.dtype, NUMERIC)?;
        self.layout(x.shape)?;
        let shape = checked_shape(self.output_shape(x.shape)?, DType::I64.size())?;
        Ok(vec![OutputSpec::new(DType::I64, shape)])
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let x = required(inputs, 0)?;
        let layout = self.layout(x.shape())?;
        let out = first_output(outputs)?.as_slice_mut::<i64>()?;
        match x.dtype() {
            DType::F32 => self.arg::<f32>(x.as_slice()?, layout, out),
            DType::F16 => self.arg::<f16>(x.as_slice()?, layout, out),
            DType::I8 => self.arg::<i8>(x.as_slice()?, layout, out),
            DType::U8 => self.arg::<u8>(x.as_slice()?, layout, out),
            DType::I32 => self.arg::<i32>(x.as_slice()?, layout, out),
            DType::I64 => self.arg::<i64>(x.as_slice()?, layout, out),
            dtype => Err(OpError::UnsupportedDType { index: 0, dtype }),
        }
    }
}

impl ArgExtreme {
    fn arg<T: Numeric>(
        &self,
        x: &[T],
        (outer, n, inner): (usize, usize, usize),
        out: &mut [i64],
    ) -> OpResult<()> {
        if out.len() != outer * inner || x.len() != outer * n * inner {
            return Err(length_mismatch("output"));
        }
        if out.is_empty() {
            return Ok(());
        }
        let (max, last) = (self.max, self.select_last_index);
        // Whether `candidate` replaces the best value so far.
        let better = |candidate: T, best: T| -> bool {
            if best.is_nan() {
                last && candidate.is_nan()
            } else if candidate.is_nan() {
                true
            } else if max {
                candidate > best || (last && candidate == best)
            } else {
                candidate < best || (last && candidate == best)
            }
        };
        for (block, out_block) in x.chunks_exact(n * inner).zip(out.chunks_exact_mut(inner)) {
            for (i, o) in out_block.iter_mut().enumerate() {
                let mut column = block.iter().skip(i).step_by(inner).copied();
                let Some(mut best) = column.next() else {
                    return Err(length_mismatch("input"));
                };
                let mut best_index = 0usize;
                for (k, v) in column.enumerate() {
                    if better(v, best) {
                        best = v;
                        best_index = k + 1;
                    }
                }
                *o = i64::try_from(best_index).unwrap_or(i64::MAX);
            }
        }
        Ok(())
    }
}
