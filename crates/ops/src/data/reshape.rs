//! `Reshape`, `Flatten`, `Squeeze` and `Unsqueeze`: a new shape over the
//! same row-major data. `run` copies the bytes unchanged.

use super::common::{
    axis_mask, check_outputs, infos, known_ints, normalize_axes, optional_known_ints, to_dim,
};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, required};
use pocketnn_format::OpCode;
use pocketnn_tensor::{TensorView, TensorViewMut, num_elements};

/// Copies the data input unchanged into the (already checked) output.
fn copy_data(
    spec: OutputSpec,
    inputs: &[Option<TensorView<'_>>],
    outputs: &mut [TensorViewMut<'_>],
) -> OpResult<()> {
    check_outputs(std::slice::from_ref(&spec), outputs)?;
    let data = required(inputs, 0)?;
    if let Some(out) = outputs.first_mut() {
        let dst = out.bytes_mut();
        if dst.len() != data.bytes().len() {
            return Err(super::common::out_of_bounds());
        }
        dst.copy_from_slice(data.bytes());
    }
    Ok(())
}

/// Implements `Operator` for a reshaping op whose `plan` gives the output spec.
macro_rules! reshaping_operator {
    ($ty:ident) => {
        impl Operator for $ty {
            fn op(&self) -> OpCode {
                OpCode::$ty
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
                copy_data(self.plan(&infos(inputs))?, inputs, outputs)
            }
        }
    };
}

/// ONNX `Reshape`: input `shape` gives the new shape, where `-1` (at most
/// once) is inferred and `0` copies the input's dimension unless
/// `allowzero` is 1.
#[derive(Debug)]
pub(crate) struct Reshape {
    allow_zero: bool,
}

impl Reshape {
    /// Reads `allowzero` (0 or 1, default 0).
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<Reshape> {
        let allow_zero = match attrs.int("allowzero", 0)? {
            0 => false,
            1 => true,
            v => return Err(attrs.invalid("allowzero", format!("{v} is not 0 or 1"))),
        };
        Ok(Reshape { allow_zero })
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<OutputSpec> {
        check_input_count(inputs, 2, 2, "2")?;
        let data = required(inputs, 0)?;
        let requested = known_ints(inputs, 1)?;
        let invalid = |reason: String| OpError::InvalidInput { index: 1, reason };
        let mut shape = Vec::with_capacity(requested.len());
        let mut inferred = None;
        for (i, &v) in requested.iter().enumerate() {
            let dim = match v {
                -1 if inferred.is_some() => {
                    return Err(invalid(format!("{requested:?} has more than one -1")));
                }
                -1 => {
                    inferred = Some(i);
                    1
                }
                0 if !self.allow_zero => *data.shape.get(i).ok_or_else(|| {
                    invalid(format!(
                        "{requested:?}: 0 at position {i} copies no dimension of a rank-{} input",
                        data.shape.len()
                    ))
                })?,
                v if v < 0 => return Err(invalid(format!("{requested:?} has {v}"))),
                v => to_dim(v, 1)?,
            };
            shape.push(dim);
        }
        let total = num_elements(data.shape).unwrap_or(usize::MAX);
        let known = num_elements(&shape).ok_or_else(|| OpError::TooLarge {
            shape: shape.clone(),
        })?;
        match inferred {
            Some(i) => {
                if known == 0 || !total.is_multiple_of(known) {
                    return Err(invalid(format!(
                        "the -1 in {requested:?} cannot be resolved for input shape {:?}",
                        data.shape
                    )));
                }
                shape[i] = total / known;
            }
            None if known != total => {
                return Err(OpError::ShapeMismatch {
                    reason: format!("cannot reshape {:?} to {shape:?}", data.shape),
                });
            }
            None => {}
        }
        Ok(OutputSpec::new(data.dtype, shape))
    }
}

reshaping_operator!(Reshape);

/// ONNX `Flatten`: `[d0 .. d(axis-1)]` and `[d(axis) ..]` each collapsed
/// into one dimension.
#[derive(Debug)]
pub(crate) struct Flatten {
    axis: i64,
}

impl Flatten {
    /// Reads `axis` (default 1; `-rank..=rank`, checked against the input).
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<Flatten> {
        Ok(Flatten {
            axis: attrs.int("axis", 1)?,
        })
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<OutputSpec> {
        check_input_count(inputs, 1, 1, "1")?;
        let data = required(inputs, 0)?;
        let rank = data.shape.len() as i64;
        if self.axis < -rank || self.axis > rank {
            return Err(OpError::ShapeMismatch {
                reason: format!("axis {} is out of range for rank {rank}", self.axis),
            });
        }
        let axis = if self.axis < 0 {
            self.axis + rank
        } else {
            self.axis
        } as usize;
        let outer = num_elements(&data.shape[..axis]);
        let inner = num_elements(&data.shape[axis..]);
        match (outer, inner) {
            (Some(outer), Some(inner)) => Ok(OutputSpec::new(data.dtype, vec![outer, inner])),
            _ => Err(OpError::TooLarge {
                shape: data.shape.to_vec(),
            }),
        }
    }
}

reshaping_operator!(Flatten);

/// ONNX `Squeeze`: removes the size-1 axes listed by the optional `axes`
/// input, or every size-1 axis when it is absent (or empty).
#[derive(Debug)]
pub(crate) struct Squeeze;

impl Squeeze {
    /// `Squeeze` has no attributes (axes are an input since opset 13).
    pub(crate) fn build(_attrs: &Attrs<'_>) -> OpResult<Squeeze> {
        Ok(Squeeze)
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<OutputSpec> {
        check_input_count(inputs, 1, 2, "1 or 2")?;
        let data = required(inputs, 0)?;
        let axes = optional_known_ints(inputs, 1)?.filter(|a| !a.is_empty());
        let shape = match axes {
            None => data.shape.iter().copied().filter(|&d| d != 1).collect(),
            Some(axes) => {
                let axes = axis_mask(&normalize_axes(&axes, data.shape.len())?, data.shape.len());
                if let Some(a) = (0..axes.len()).find(|&a| axes[a] && data.shape[a] != 1) {
                    return Err(OpError::ShapeMismatch {
                        reason: format!(
                            "axis {a} of shape {:?} is not of size 1 and cannot be squeezed",
                            data.shape
                        ),
                    });
                }
                data.shape
                    .iter()
                    .enumerate()
                    .filter(|&(a, _)| !axes[a])
                    .map(|(_, &d)| d)
                    .collect()
            }
        };
        Ok(OutputSpec::new(data.dtype, shape))
    }
}

reshaping_operator!(Squeeze);

/// ONNX `Unsqueeze`: inserts size-1 axes at the positions (in the output)
/// listed by the `axes` input.
#[derive(Debug)]
pub(crate) struct Unsqueeze;

impl Unsqueeze {
    /// `Unsqueeze` has no attributes (axes are an input since opset 13).
    pub(crate) fn build(_attrs: &Attrs<'_>) -> OpResult<Unsqueeze> {
        Ok(Unsqueeze)
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<OutputSpec> {
        check_input_count(inputs, 2, 2, "2")?;
        let data = required(inputs, 0)?;
        let axes = known_ints(inputs, 1)?;
        let rank = data
            .shape
            .len()
            .checked_add(axes.len())
            .ok_or_else(|| OpError::TooLarge {
                shape: data.shape.to_vec(),
            })?;
        let axes = axis_mask(&normalize_axes(&axes, rank)?, rank);
        let mut dims = data.shape.iter();
        let shape = (0..rank)
            .map(|a| {
                if axes[a] {
                    1
                } else {
                    dims.next().copied().unwrap_or(1)
                }
            })
            .collect();
        Ok(OutputSpec::new(data.dtype, shape))
    }
}

reshaping_operator!(Unsqueeze);
