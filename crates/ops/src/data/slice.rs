//! `Slice`: a strided window of a tensor, with numpy's clamping rules.

use super::common::{
    check_outputs, infos, known_ints, normalize_axes, optional_known_ints, out_of_bounds,
    strided_copy, strides_of, with_element_type,
};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, required};
use pocketnn_format::OpCode;
use pocketnn_tensor::{TensorView, TensorViewMut};

/// ONNX `Slice` (opset 10+ form): inputs `data, starts, ends, [axes],
/// [steps]`; no attributes.
#[derive(Debug)]
pub(crate) struct Slice;

/// Where a slice reads: the output spec, the first element read and the
/// source stride (in elements) of each output axis.
struct SlicePlan {
    spec: OutputSpec,
    base: usize,
    strides: Vec<isize>,
}

/// The first index and the element count of `start:end:step` over `dim`
/// (Python slice semantics, ONNX clamping).
pub(crate) fn slice_range(start: i64, end: i64, step: i64, dim: usize) -> (usize, usize) {
    let d = dim as i128;
    if dim == 0 {
        return (0, 0);
    }
    let (mut s, mut e, step) = (start as i128, end as i128, step as i128);
    if s < 0 {
        s += d;
    }
    if e < 0 {
        e += d;
    }
    let count = if step > 0 {
        s = s.clamp(0, d);
        e = e.clamp(0, d);
        if e > s { (e - s - 1) / step + 1 } else { 0 }
    } else {
        s = s.clamp(0, d - 1);
        e = e.clamp(-1, d - 1);
        if s > e { (s - e - 1) / -step + 1 } else { 0 }
    };
    // Both are within 0..=dim here.
    (s.min(d) as usize, count as usize)
}

impl Slice {
    /// `Slice` has no attributes.
    pub(crate) fn build(_attrs: &Attrs<'_>) -> OpResult<Slice> {
        Ok(Slice)
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<SlicePlan> {
        check_input_count(inputs, 3, 5, "3 to 5")?;
        let data = required(inputs, 0)?;
        let rank = data.shape.len();
        let starts = known_ints(inputs, 1)?;
        let ends = known_ints(inputs, 2)?;
        let n = starts.len();
        if ends.len() != n {
            return Err(OpError::InvalidInput {
                index: 2,
                reason: format!("{} ends for {n} starts", ends.len()),
            });
        }
        let axes = match optional_known_ints(inputs, 3)? {
            Some(axes) if axes.len() != n => {
                return Err(OpError::InvalidInput {
                    index: 3,
                    reason: format!("{} axes for {n} starts", axes.len()),
                });
            }
            Some(axes) => normalize_axes(&axes, rank)?,
            None if n > rank => {
                return Err(OpError::InvalidInput {
                    index: 1,
                    reason: format!("{n} starts for a rank-{rank} input"),
                });
            }
            None => (0..n).collect(),
        };
        let steps = match optional_known_ints(inputs, 4)? {
            Some(steps) if steps.len() != n => {
                return Err(OpError::InvalidInput {
                    index: 4,
                    reason: format!("{} steps for {n} starts", steps.len()),
                });
            }
            Some(steps) => steps,
            None => vec![1; n],
        };
        let mut shape = data.shape.to_vec();
        let mut firsts = vec![0usize; rank];
        let mut steps_by_axis = vec![1i64; rank];
        for i in 0..n {
            let axis = axes[i];
            let step = steps[i];
            if step == 0 {
                return Err(OpError::InvalidInput {
                    index: 4,
                    reason: "a step is 0".to_string(),
                });
            }
            let (first, count) = slice_range(starts[i], ends[i], step, data.shape[axis]);
            shape[axis] = count;
            firsts[axis] = first;
            steps_by_axis[axis] = step;
        }
        let mut base = 0usize;
        let mut strides = vec![0isize; rank];
        if shape.iter().all(|&d| d > 0) {
            // The input is not empty, so its strides are exact, and every
            // offset below lies inside it.
            let data_strides = strides_of(data.shape);
            for axis in 0..rank {
                base += firsts[axis] * data_strides[axis];
                if shape[axis] > 1 {
                    // |step| < dim here, so the product fits the tensor's size.
                    strides[axis] = isize::try_from(steps_by_axis[axis])
                        .ok()
                        .and_then(|s| s.checked_mul(data_strides[axis] as isize))
                        .ok_or_else(out_of_bounds)?;
                }
            }
        }
        Ok(SlicePlan {
            spec: OutputSpec::new(data.dtype, shape),
            base,
            strides,
        })
    }
}

impl Operator for Slice {
    fn op(&self) -> OpCode {
        OpCode::Slice
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        Ok(vec![self.plan(inputs)?.spec])
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let plan = self.plan(&infos(inputs))?;
        check_outputs(std::slice::from_ref(&plan.spec), outputs)?;
        let Some(out) = outputs.first_mut() else {
            return Ok(());
        };
        let data = required(inputs, 0)?;
        let shape = plan.spec.shape.as_slice();
        with_element_type!(data.dtype().size(), T => {
            let src = super::common::elements::<T>(data.bytes())?;
            let dst = super::common::elements_mut::<T>(out.bytes_mut())?;
            strided_copy(src, plan.base, shape, &plan.strides, dst)
        })
    }
}
