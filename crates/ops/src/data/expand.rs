//! `Expand` and `Tile`: repeating data, as strided copies with zero strides.

use super::common::{
    check_outputs, elements, elements_mut, infos, known_ints, strided_copy, strides_of, to_dim,
    with_element_type,
};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{broadcast_shapes, check_input_count, checked_shape, required};
use pocketnn_format::OpCode;
use pocketnn_tensor::{TensorView, TensorViewMut};

/// Copies `data` read through `strides` (in elements, over `shape`) into the
/// single output, unless it is empty.
fn copy_strided(
    data: TensorView<'_>,
    shape: &[usize],
    strides: &[isize],
    out: &mut TensorViewMut<'_>,
) -> OpResult<()> {
    with_element_type!(data.dtype().size(), T => {
        let src = elements::<T>(data.bytes())?;
        let dst = elements_mut::<T>(out.bytes_mut())?;
        strided_copy(src, 0, shape, strides, dst)
    })
}

/// ONNX `Expand`: broadcasts the input against the `shape` input (both ways,
/// as numpy does: the output has the larger dimension of each pair).
#[derive(Debug)]
pub(crate) struct Expand;

impl Expand {
    /// `Expand` has no attributes.
    pub(crate) fn build(_attrs: &Attrs<'_>) -> OpResult<Expand> {
        Ok(Expand)
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<OutputSpec> {
        check_input_count(inputs, 2, 2, "2")?;
        let data = required(inputs, 0)?;
        let target = known_ints(inputs, 1)?
            .into_iter()
            .map(|d| to_dim(d, 1))
            .collect::<OpResult<Vec<_>>>()?;
        let shape = broadcast_shapes(data.shape, &target)?;
        Ok(OutputSpec::new(
            data.dtype,
            checked_shape(shape, data.dtype.size())?,
        ))
    }
}

impl Operator for Expand {
    fn op(&self) -> OpCode {
        OpCode::Expand
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        Ok(vec![self.plan(inputs)?])
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let spec = self.plan(&infos(inputs))?;
        check_outputs(std::slice::from_ref(&spec), outputs)?;
        let Some(out) = outputs.first_mut() else {
            return Ok(());
        };
        if out.is_empty() {
            return Ok(());
        }
        // A non-empty output means a non-empty input: its strides are exact.
        let data = required(inputs, 0)?;
        let own = strides_of(data.shape());
        let lead = spec.shape.len() - data.shape().len();
        let strides: Vec<isize> = (0..spec.shape.len())
            .map(|a| match a.checked_sub(lead) {
                Some(i) if data.shape()[i] != 1 => own[i] as isize,
                _ => 0,
            })
            .collect();
        copy_strided(data, &spec.shape, &strides, out)
    }
}

/// ONNX `Tile`: repeats the input `repeats[i]` times along each axis `i`.
#[derive(Debug)]
pub(crate) struct Tile;

impl Tile {
    /// `Tile` has no attributes.
    pub(crate) fn build(_attrs: &Attrs<'_>) -> OpResult<Tile> {
        Ok(Tile)
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<(Vec<usize>, OutputSpec)> {
        check_input_count(inputs, 2, 2, "2")?;
        let data = required(inputs, 0)?;
        let repeats = known_ints(inputs, 1)?
            .into_iter()
            .map(|d| to_dim(d, 1))
            .collect::<OpResult<Vec<_>>>()?;
        if repeats.len() != data.shape.len() {
            return Err(OpError::InvalidInput {
                index: 1,
                reason: format!(
                    "{} repeats for a rank-{} input",
                    repeats.len(),
                    data.shape.len()
                ),
            });
        }
        let shape = data
            .shape
            .iter()
            .zip(&repeats)
            .map(|(&d, &r)| d.checked_mul(r))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| OpError::TooLarge {
                shape: data.shape.to_vec(),
            })?;
        let shape = checked_shape(shape, data.dtype.size())?;
        Ok((repeats, OutputSpec::new(data.dtype, shape)))
    }
}

impl Operator for Tile {
    fn op(&self) -> OpCode {
        OpCode::Tile
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
        let (repeats, spec) = self.plan(&infos(inputs))?;
        check_outputs(std::slice::from_ref(&spec), outputs)?;
        let Some(out) = outputs.first_mut() else {
            return Ok(());
        };
        if out.is_empty() {
            return Ok(());
        }
        // Read the output as [r0, d0, r1, d1, ...]: the repeat axes have
        // stride 0, the data axes the input's strides.
        let data = required(inputs, 0)?;
        let own = strides_of(data.shape());
        let mut shape = Vec::with_capacity(2 * repeats.len());
        let mut strides = Vec::with_capacity(2 * repeats.len());
        for (a, &r) in repeats.iter().enumerate() {
            shape.extend([r, data.shape()[a]]);
            strides.extend([0, own[a] as isize]);
        }
        copy_strided(data, &shape, &strides, out)
    }
}
