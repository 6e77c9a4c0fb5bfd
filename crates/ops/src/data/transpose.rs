//! `Transpose`: permutes axes as a strided copy.

use super::common::{
    check_outputs, elements, elements_mut, infos, strided_copy, with_element_type,
};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, required};
use pocketnn_format::OpCode;
use pocketnn_tensor::{TensorView, TensorViewMut};

/// Copies `src` (shape `shape`, row-major) into `dst` with its axes
/// permuted: output axis `i` is input axis `perm[i]`.
pub(crate) fn permute_copy(
    src: TensorView<'_>,
    shape: &[usize],
    perm: &[usize],
    dst: &mut TensorViewMut<'_>,
) -> OpResult<()> {
    if src.is_empty() {
        // Nothing to read; the output is empty too (checked by the caller).
        return Ok(());
    }
    let strides = super::common::strides_of(shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let out_strides: Vec<isize> = perm.iter().map(|&p| strides[p] as isize).collect();
    with_element_type!(src.dtype().size(), T => {
        let from = elements::<T>(src.bytes())?;
        let to = elements_mut::<T>(dst.bytes_mut())?;
        strided_copy(from, 0, &out_shape, &out_strides, to)
    })
}

/// ONNX `Transpose`: output axis `i` is input axis `perm[i]`; without `perm`
/// the axes are reversed.
#[derive(Debug)]
pub(crate) struct Transpose {
    perm: Option<Vec<usize>>,
}

impl Transpose {
    /// Reads and validates `perm` (a permutation of `0..n`), if given.
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<Transpose> {
        let Some(perm) = attrs.ints_opt("perm")? else {
            return Ok(Transpose { perm: None });
        };
        let n = perm.len();
        let mut seen = vec![false; n];
        for &p in perm {
            let ok = usize::try_from(p)
                .ok()
                .and_then(|i| seen.get_mut(i))
                .is_some_and(|s| !std::mem::replace(s, true));
            if !ok {
                return Err(
                    attrs.invalid("perm", format!("{perm:?} is not a permutation of 0..{n}"))
                );
            }
        }
        Ok(Transpose {
            perm: Some(perm.iter().map(|&p| p as usize).collect()),
        })
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<(Vec<usize>, OutputSpec)> {
        check_input_count(inputs, 1, 1, "1")?;
        let data = required(inputs, 0)?;
        let rank = data.shape.len();
        let perm = match &self.perm {
            Some(p) if p.len() != rank => {
                return Err(OpError::ShapeMismatch {
                    reason: format!("perm {p:?} does not fit a rank-{rank} input"),
                });
            }
            Some(p) => p.clone(),
            None => (0..rank).rev().collect(),
        };
        let shape = perm.iter().map(|&p| data.shape[p]).collect();
        Ok((perm, OutputSpec::new(data.dtype, shape)))
    }
}

impl Operator for Transpose {
    fn op(&self) -> OpCode {
        OpCode::Transpose
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
        let (perm, spec) = self.plan(&infos(inputs))?;
        check_outputs(std::slice::from_ref(&spec), outputs)?;
        let Some(out) = outputs.first_mut() else {
            return Ok(());
        };
        let data = required(inputs, 0)?;
        permute_copy(data, data.shape(), &perm, out)
    }
}
