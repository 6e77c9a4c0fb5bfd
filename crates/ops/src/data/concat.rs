//! `Concat` and `Split`: joining and cutting along one axis, as block copies.

use super::common::{check_outputs, infos, optional_known_ints, out_of_bounds, to_dim};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{checked_shape, normalize_axis, required};
use pocketnn_format::OpCode;
use pocketnn_tensor::{TensorView, TensorViewMut};

/// Copies `len` bytes from `src[from..]` to `dst[to..]`, or errors.
fn copy_block(src: &[u8], from: usize, dst: &mut [u8], to: usize, len: usize) -> OpResult<()> {
    let s = from
        .checked_add(len)
        .and_then(|end| src.get(from..end))
        .ok_or_else(out_of_bounds)?;
    let d = to
        .checked_add(len)
        .and_then(|end| dst.get_mut(to..end))
        .ok_or_else(out_of_bounds)?;
    d.copy_from_slice(s);
    Ok(())
}

/// ONNX `Concat`: joins its inputs along `axis`.
#[derive(Debug)]
pub(crate) struct Concat {
    axis: i64,
}

impl Concat {
    /// Reads the required `axis` attribute.
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<Concat> {
        Ok(Concat {
            axis: attrs.int_req("axis")?,
        })
    }

    /// The resolved axis and the output spec.
    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<(usize, OutputSpec)> {
        if inputs.is_empty() {
            return Err(OpError::InputCount {
                expected: "at least 1",
                actual: 0,
            });
        }
        let first = required(inputs, 0)?;
        let rank = first.shape.len();
        let axis = normalize_axis(self.axis, rank)?;
        let mut shape = first.shape.to_vec();
        shape[axis] = 0;
        for index in 0..inputs.len() {
            let input = required(inputs, index)?;
            if input.dtype != first.dtype {
                return Err(OpError::DTypeMismatch {
                    index,
                    expected: first.dtype,
                    actual: input.dtype,
                });
            }
            let fits = input.shape.len() == rank
                && (0..rank).all(|a| a == axis || input.shape[a] == first.shape[a]);
            if !fits {
                return Err(OpError::ShapeMismatch {
                    reason: format!(
                        "input {index} has shape {:?}, input 0 has {:?} (axis {axis} may differ)",
                        input.shape, first.shape
                    ),
                });
            }
            shape[axis] =
                shape[axis]
                    .checked_add(input.shape[axis])
                    .ok_or_else(|| OpError::TooLarge {
                        shape: shape.clone(),
                    })?;
        }
        let shape = checked_shape(shape, first.dtype.size())?;
        Ok((axis, OutputSpec::new(first.dtype, shape)))
    }
}

impl Operator for Concat {
    fn op(&self) -> OpCode {
        OpCode::Concat
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        Ok(vec![self.plan(inputs)?.1])
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let (axis, spec) = self.plan(&infos(inputs))?;
        check_outputs(std::slice::from_ref(&spec), outputs)?;
        let Some(out) = outputs.first_mut() else {
            return Ok(());
        };
        let elem = spec.dtype.size();
        let dst = out.bytes_mut();
        if dst.is_empty() {
            return Ok(());
        }
        // The output is not empty, so every product below is bounded by it.
        let outer: usize = spec.shape[..axis].iter().product();
        let mut at = 0;
        for o in 0..outer {
            for input in inputs.iter().flatten() {
                let block = input.shape()[axis..].iter().product::<usize>() * elem;
                copy_block(input.bytes(), o * block, dst, at, block)?;
                at += block;
            }
        }
        Ok(())
    }
}

/// ONNX `Split`: cuts its input along `axis` into `num_outputs` parts, sized
/// by the optional `split` input or else evenly (ONNX 18: all parts
/// `ceil(dim / n)` long except a shorter last one).
#[derive(Debug)]
pub(crate) struct Split {
    axis: i64,
    num_outputs: usize,
}

impl Split {
    /// Reads `axis` (default 0) and the required `num_outputs`.
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<Split> {
        let n = attrs.int_req("num_outputs")?;
        let num_outputs = usize::try_from(n)
            .ok()
            .filter(|&n| (1..=u16::MAX as usize).contains(&n))
            .ok_or_else(|| attrs.invalid("num_outputs", format!("{n} is not in 1..=65535")))?;
        Ok(Split {
            axis: attrs.int("axis", 0)?,
            num_outputs,
        })
    }

    /// The resolved axis and the length of each part.
    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<(usize, Vec<usize>)> {
        crate::util::check_input_count(inputs, 1, 2, "1 or 2")?;
        let input = required(inputs, 0)?;
        let axis = normalize_axis(self.axis, input.shape.len())?;
        let dim = input.shape[axis];
        let n = self.num_outputs;
        let split = optional_known_ints(inputs, 1)?.filter(|s| !s.is_empty());
        let parts = match split {
            Some(split) => {
                if split.len() != n {
                    return Err(OpError::InvalidInput {
                        index: 1,
                        reason: format!("{} sizes given for {n} outputs", split.len()),
                    });
                }
                let parts = split
                    .iter()
                    .map(|&s| to_dim(s, 1))
                    .collect::<OpResult<Vec<_>>>()?;
                let sum = parts.iter().try_fold(0usize, |a, &p| a.checked_add(p));
                if sum != Some(dim) {
                    return Err(OpError::InvalidInput {
                        index: 1,
                        reason: format!("sizes {split:?} do not add up to {dim}"),
                    });
                }
                parts
            }
            None => {
                let chunk = dim.div_ceil(n);
                let last = (chunk * (n - 1) <= dim)
                    .then(|| dim - chunk * (n - 1))
                    .ok_or_else(|| OpError::ShapeMismatch {
                        reason: format!(
                            "axis {axis} of size {dim} cannot be split into {n} parts of {chunk}"
                        ),
                    })?;
                let mut parts = vec![chunk; n];
                parts[n - 1] = last;
                parts
            }
        };
        Ok((axis, parts))
    }
}

/// The output specs of a split into `parts` along `axis`.
fn part_specs(input: InputInfo<'_>, axis: usize, parts: &[usize]) -> Vec<OutputSpec> {
    parts
        .iter()
        .map(|&p| {
            let mut shape = input.shape.to_vec();
            shape[axis] = p;
            OutputSpec::new(input.dtype, shape)
        })
        .collect()
}

impl Operator for Split {
    fn op(&self) -> OpCode {
        OpCode::Split
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        let (axis, parts) = self.plan(inputs)?;
        let input = required(inputs, 0)?;
        Ok(part_specs(input, axis, &parts))
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let input = required(inputs, 0)?;
        let (axis, parts) = self.plan(&infos(inputs))?;
        check_outputs(&part_specs(input.into(), axis, &parts), outputs)?;
        if input.is_empty() {
            return Ok(());
        }
        let elem = input.dtype().size();
        let shape = input.shape();
        let outer: usize = shape[..axis].iter().product();
        let inner = shape[axis + 1..].iter().product::<usize>() * elem;
        let src_block = shape[axis] * inner;
        let mut start = 0;
        for (out, &part) in outputs.iter_mut().zip(&parts) {
            let block = part * inner;
            let dst = out.bytes_mut();
            for o in 0..outer {
                copy_block(input.bytes(), o * src_block + start, dst, o * block, block)?;
            }
            start += block;
        }
        Ok(())
    }
}
