//! `Softmax` and `LogSoftmax`, numerically stable (the maximum is
//! subtracted before `exp`).
//!
//! Opset 13 semantics by default: normalised along `axis` alone. pocketnn's
//! attribute `coerce_2d = 1` selects the opset < 13 semantics instead: the
//! input is viewed as `[prod(dims[..axis]), prod(dims[axis..])]` and each
//! row of that matrix is normalised as a whole.

use super::reduce::flag;
use super::{FLOATS, boxed, check_dtype, first_output, length_mismatch, scratch_slice};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, normalize_axis, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::softmax::softmax_rows_f32;
use pocketnn_tensor::{Isa, TensorView, TensorViewMut, f16};

/// Builds `Softmax` and `LogSoftmax`.
pub(super) fn build(op: OpCode, attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    let log = match op {
        OpCode::Softmax => false,
        OpCode::LogSoftmax => true,
        _ => return None,
    };
    boxed((|| {
        let coerce_2d = flag(attrs, "coerce_2d", false)?;
        Ok(Softmax {
            op,
            log,
            coerce_2d,
            axis: attrs.int("axis", if coerce_2d { 1 } else { -1 })?,
        })
    })())
}

/// `Softmax` (or `LogSoftmax` when `log`).
#[derive(Debug)]
pub(super) struct Softmax {
    op: OpCode,
    log: bool,
    coerce_2d: bool,
    axis: i64,
}

impl Softmax {
    /// `(outer, n, inner)`: the input is `outer` blocks of `n` rows of
    /// `inner` elements, normalised over the `n` rows of each block.
    fn layout(&self, shape: &[usize]) -> OpResult<(usize, usize, usize)> {
        let axis = normalize_axis(self.axis, shape.len())?;
        let product = |dims: &[usize]| {
            pocketnn_tensor::num_elements(dims).ok_or_else(|| OpError::TooLarge {
                shape: shape.to_vec(),
            })
        };
        let outer = product(&shape[..axis])?;
        if self.coerce_2d {
            Ok((outer, product(&shape[axis..])?, 1))
        } else {
            Ok((outer, shape[axis], product(&shape[axis + 1..])?))
        }
    }
}

impl Operator for Softmax {
    fn op(&self) -> OpCode {
        self.op
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 1, 1, "1")?;
        let x = required(inputs, 0)?;
        check_dtype(0, x.dtype, FLOATS)?;
        self.layout(x.shape)?;
        Ok(vec![OutputSpec::new(x.dtype, x.shape.to_vec())])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let x = required(inputs, 0)?;
        let layout = self.layout(x.shape())?;
        let out = first_output(outputs)?;
        match x.dtype() {
            DType::F32 => {
                let (x, y) = (x.as_slice::<f32>()?, out.as_slice_mut::<f32>()?);
                let columns = scratch_slice::<f64>(ctx.scratch, 2 * layout.2)?;
                softmax_f32(ctx.isa, x, y, layout, self.log, columns)
            }
            DType::F16 => {
                // Scratch: `len` f64 holding the input and output widened to
                // f32, then the column accumulators.
                let (x, y) = (x.as_slice::<f16>()?, out.as_slice_mut::<f16>()?);
                let len = x.len();
                let size = len
                    .checked_add(2 * layout.2)
                    .ok_or(OpError::TooLarge { shape: vec![len] })?;
                let scratch = scratch_slice::<f64>(ctx.scratch, size)?;
                let (wide, columns) = scratch.split_at_mut(len);
                let (wide_x, wide_y) = bytemuck::cast_slice_mut::<f64, f32>(wide).split_at_mut(len);
                for (w, v) in wide_x.iter_mut().zip(x) {
                    *w = v.to_f32();
                }
                softmax_f32(ctx.isa, wide_x, wide_y, layout, self.log, columns)?;
                if y.len() != len {
                    return Err(length_mismatch("output"));
                }
                for (o, &w) in y.iter_mut().zip(wide_y.iter()) {
                    *o = f16::from_f32(w);
                }
                Ok(())
            }
            dtype => Err(OpError::UnsupportedDType { index: 0, dtype }),
        }
    }
}

/// The f32 kernel. `columns` holds `2 * inner` f64 of scratch.
///
/// Sums are accumulated in f64: the log of a sum close to 1 (one dominant
/// element) then keeps full f32 accuracy in `LogSoftmax`. Along the last
/// axis (`inner == 1`) the rows run the SIMD kernels of tier `isa`
/// (`pocketnn_tensor::kernels::softmax`).
fn softmax_f32(
    isa: Isa,
    x: &[f32],
    y: &mut [f32],
    (outer, n, inner): (usize, usize, usize),
    log: bool,
    columns: &mut [f64],
) -> OpResult<()> {
    let block = n * inner;
    if x.len() != y.len() || x.len() != outer * block || columns.len() < 2 * inner {
        return Err(length_mismatch("output"));
    }
    if x.is_empty() {
        return Ok(());
    }
    if inner == 1 {
        if softmax_rows_f32(isa, x, y, n, log).is_ok() {
            return Ok(());
        }
        // A tier this CPU lacks: the scalar rows.
        for (x, y) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
            softmax_row(x, y, log);
        }
        return Ok(());
    }
    // Normalise down the columns of each [n, inner] block, keeping a running
    // maximum and sum per column so the rows are read contiguously.
    let (max, sum) = columns.split_at_mut(inner);
    for (x, y) in x.chunks_exact(block).zip(y.chunks_exact_mut(block)) {
        max.fill(f64::NEG_INFINITY);
        sum.fill(0.0);
        for row in x.chunks_exact(inner) {
            for (m, &v) in max.iter_mut().zip(row) {
                *m = m.max(f64::from(v));
            }
        }
        for (x_row, y_row) in x.chunks_exact(inner).zip(y.chunks_exact_mut(inner)) {
            for (((o, &v), &m), s) in y_row
                .iter_mut()
                .zip(x_row)
                .zip(max.iter())
                .zip(sum.iter_mut())
            {
                let shifted = v - m as f32;
                let e = shifted.exp();
                *s += f64::from(e);
                *o = if log { shifted } else { e };
            }
        }
        for y_row in y.chunks_exact_mut(inner) {
            for (o, &s) in y_row.iter_mut().zip(sum.iter()) {
                *o = if log {
                    *o - s.ln() as f32
                } else {
                    (f64::from(*o) / s) as f32
                };
            }
        }
    }
    Ok(())
}

/// Softmax of one contiguous row.
fn softmax_row(x: &[f32], y: &mut [f32], log: bool) {
    let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut lanes = [0.0f64; 4];
    let mut tail = 0.0f64;
    let mut chunks = x.chunks_exact(4);
    let mut out_chunks = y.chunks_exact_mut(4);
    for (chunk, out) in (&mut chunks).zip(&mut out_chunks) {
        for ((lane, o), &v) in lanes.iter_mut().zip(out.iter_mut()).zip(chunk) {
            let e = (v - max).exp();
            *lane += f64::from(e);
            *o = if log { v - max } else { e };
        }
    }
    for (o, &v) in out_chunks
        .into_remainder()
        .iter_mut()
        .zip(chunks.remainder())
    {
        let e = (v - max).exp();
        tail += f64::from(e);
        *o = if log { v - max } else { e };
    }
    let sum = lanes.iter().sum::<f64>() + tail;
    if log {
        let log_sum = sum.ln() as f32;
        for o in y.iter_mut() {
            *o -= log_sum;
        }
    } else {
        let inverse = 1.0 / sum;
        for o in y.iter_mut() {
            *o = (f64::from(*o) * inverse) as f32;
        }
    }
}
