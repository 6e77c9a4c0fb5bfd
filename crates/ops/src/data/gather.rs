//! `Gather` and `GatherElements`: reads selected by an index tensor.

use super::common::{
    check_outputs, dim_i64, elements, elements_mut, infos, out_of_bounds, with_element_type,
};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape, normalize_axis, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{TensorView, TensorViewMut};

/// Checks that input `index` holds integer indices (i32 or i64).
fn check_index_dtype(info: InputInfo<'_>, index: usize) -> OpResult<()> {
    if matches!(info.dtype, DType::I32 | DType::I64) {
        Ok(())
    } else {
        Err(OpError::UnsupportedDType {
            index,
            dtype: info.dtype,
        })
    }
}

/// Resolves index `i` (negative counts from the end) against `dim`.
fn resolve_index(i: i64, dim: usize) -> OpResult<usize> {
    let d = dim_i64(dim);
    let r = if i < 0 { i + d } else { i };
    if r < 0 || r >= d {
        return Err(OpError::InvalidInput {
            index: 1,
            reason: format!("index {i} is out of range for an axis of size {dim}"),
        });
    }
    Ok(r as usize)
}

/// ONNX `Gather`: `out[a.., i.., b..] = data[a.., indices[i..], b..]` along
/// `axis`.
#[derive(Debug)]
pub(crate) struct Gather {
    axis: i64,
}

impl Gather {
    /// Reads `axis` (default 0).
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<Gather> {
        Ok(Gather {
            axis: attrs.int("axis", 0)?,
        })
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<(usize, OutputSpec)> {
        check_input_count(inputs, 2, 2, "2")?;
        let data = required(inputs, 0)?;
        let indices = required(inputs, 1)?;
        check_index_dtype(indices, 1)?;
        let axis = normalize_axis(self.axis, data.shape.len())?;
        let mut shape = data.shape[..axis].to_vec();
        shape.extend_from_slice(indices.shape);
        shape.extend_from_slice(&data.shape[axis + 1..]);
        let shape = checked_shape(shape, data.dtype.size())?;
        Ok((axis, OutputSpec::new(data.dtype, shape)))
    }
}

impl Operator for Gather {
    fn op(&self) -> OpCode {
        OpCode::Gather
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
        let data = required(inputs, 0)?;
        let shape = data.shape();
        let dim = shape[axis];
        let indices = required(inputs, 1)?
            .to_i64_vec()?
            .into_iter()
            .map(|i| resolve_index(i, dim))
            .collect::<OpResult<Vec<usize>>>()?;
        let src = data.bytes();
        let dst = out.bytes_mut();
        if dst.is_empty() {
            return Ok(());
        }
        // A non-empty output with valid indices means a non-empty input:
        // the products below are bounded by its size.
        let block = shape[axis + 1..].iter().product::<usize>() * data.dtype().size();
        let outer: usize = shape[..axis].iter().product();
        let mut chunks = dst.chunks_exact_mut(block);
        for o in 0..outer {
            for &i in &indices {
                let from = (o * dim + i) * block;
                let s = src.get(from..from + block).ok_or_else(out_of_bounds)?;
                chunks.next().ok_or_else(out_of_bounds)?.copy_from_slice(s);
            }
        }
        Ok(())
    }
}

/// ONNX `GatherElements`: `out[i, j, k] = data[indices[i, j, k], j, k]` for
/// `axis` 0 (and likewise for other axes); the output has the indices' shape.
#[derive(Debug)]
pub(crate) struct GatherElements {
    axis: i64,
}

impl GatherElements {
    /// Reads `axis` (default 0).
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<GatherElements> {
        Ok(GatherElements {
            axis: attrs.int("axis", 0)?,
        })
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<(usize, OutputSpec)> {
        check_input_count(inputs, 2, 2, "2")?;
        let data = required(inputs, 0)?;
        let indices = required(inputs, 1)?;
        check_index_dtype(indices, 1)?;
        let rank = data.shape.len();
        let axis = normalize_axis(self.axis, rank)?;
        let fits = indices.shape.len() == rank
            && (0..rank).all(|a| a == axis || indices.shape[a] <= data.shape[a]);
        if !fits {
            return Err(OpError::ShapeMismatch {
                reason: format!(
                    "indices of shape {:?} do not fit data of shape {:?} off axis {axis}",
                    indices.shape, data.shape
                ),
            });
        }
        Ok((axis, OutputSpec::new(data.dtype, indices.shape.to_vec())))
    }
}

impl Operator for GatherElements {
    fn op(&self) -> OpCode {
        OpCode::GatherElements
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
        let data = required(inputs, 0)?;
        let indices = required(inputs, 1)?.to_i64_vec()?;
        let shape = spec.shape.as_slice();
        let strides = super::common::strides_of(data.shape());
        let dim = data.shape()[axis];
        with_element_type!(data.dtype().size(), T => {
            let src = elements::<T>(data.bytes())?;
            let dst = elements_mut::<T>(out.bytes_mut())?;
            // Odometer over the output, tracking the source offset without
            // the gathered axis.
            let mut index = vec![0usize; shape.len()];
            let mut offset = 0usize;
            for (x, &i) in dst.iter_mut().zip(&indices) {
                let at = offset + resolve_index(i, dim)? * strides[axis];
                *x = *src.get(at).ok_or_else(out_of_bounds)?;
                for a in (0..shape.len()).rev() {
                    let step = if a == axis { 0 } else { strides[a] };
                    if index[a] + 1 < shape[a] {
                        index[a] += 1;
                        offset += step;
                        break;
                    }
                    offset -= step * (shape[a] - 1);
                    index[a] = 0;
                }
            }
            Ok(())
        })
    }
}
