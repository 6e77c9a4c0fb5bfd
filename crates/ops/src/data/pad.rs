//! `Pad`: grows (or, with negative pads, crops) each axis, filling the new
//! border with a constant or with values taken from the input.

use super::common::{
    Pick, check_outputs, elements, elements_mut, gather_by_maps, infos, known_ints, normalize_axes,
    optional_known_ints, out_of_bounds, with_element_type,
};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape, optional, required};
use pocketnn_format::OpCode;
use pocketnn_tensor::{TensorView, TensorViewMut};

/// How the border is filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PadMode {
    /// With `constant_value`.
    Constant,
    /// With the mirror image of the input, excluding the edge element.
    Reflect,
    /// With the edge element.
    Edge,
    /// With the input repeated periodically.
    Wrap,
}

/// ONNX `Pad` (opset 19+ form): inputs `data, pads, [constant_value],
/// [axes]`, attribute `mode`.
#[derive(Debug)]
pub(crate) struct Pad {
    mode: PadMode,
}

/// The pads of one axis: elements added before and after (negative: removed).
#[derive(Clone, Copy, Debug, Default)]
struct AxisPads {
    begin: i64,
    end: i64,
}

/// Index map of one output axis of length `out` for an input axis of
/// length `dim` (see `docs/ops/data.md`: negative pads crop first, then the
/// positive pads are filled from the cropped input).
fn axis_map(mode: PadMode, dim: usize, pads: AxisPads, out: usize) -> OpResult<Vec<Pick>> {
    let d = dim as i128;
    let (begin, end) = (pads.begin as i128, pads.end as i128);
    if mode == PadMode::Constant {
        return Ok((0..out)
            .map(|j| {
                let i = j as i128 - begin;
                if (0..d).contains(&i) {
                    Pick::Index(i as usize)
                } else {
                    Pick::Fill(0)
                }
            })
            .collect());
    }
    let low = (-begin).max(0);
    let kept = d - low - (-end).max(0);
    if kept <= 0 {
        return Err(OpError::InvalidInput {
            index: 1,
            reason: format!(
                "pads ({begin}, {end}) leave nothing of an axis of size {dim} to pad from in {mode:?} mode"
            ),
        });
    }
    let shift = begin.max(0);
    Ok((0..out)
        .map(|j| {
            let rel = j as i128 - shift;
            let m = match mode {
                PadMode::Edge => rel.clamp(0, kept - 1),
                PadMode::Wrap => rel.rem_euclid(kept),
                _ if kept == 1 => 0,
                _ => {
                    let period = 2 * (kept - 1);
                    let m = rel.rem_euclid(period);
                    if m >= kept { period - m } else { m }
                }
            };
            Pick::Index((low + m) as usize)
        })
        .collect())
}

impl Pad {
    /// Reads `mode`: `constant` (default), `reflect`, `edge` or `wrap`.
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<Pad> {
        let mode = match attrs.string("mode", "constant")? {
            "constant" => PadMode::Constant,
            "reflect" => PadMode::Reflect,
            "edge" => PadMode::Edge,
            "wrap" => PadMode::Wrap,
            other => {
                return Err(attrs.invalid(
                    "mode",
                    format!("`{other}` is not constant, reflect, edge or wrap"),
                ));
            }
        };
        Ok(Pad { mode })
    }

    /// The pads of every axis and the output spec.
    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<(Vec<AxisPads>, OutputSpec)> {
        check_input_count(inputs, 2, 4, "2 to 4")?;
        let data = required(inputs, 0)?;
        let rank = data.shape.len();
        if let Some(value) = optional(inputs, 2) {
            if value.dtype != data.dtype {
                return Err(OpError::DTypeMismatch {
                    index: 2,
                    expected: data.dtype,
                    actual: value.dtype,
                });
            }
            if pocketnn_tensor::num_elements(value.shape).is_none_or(|n| n > 1) {
                return Err(OpError::InvalidInput {
                    index: 2,
                    reason: format!("expected one value, got shape {:?}", value.shape),
                });
            }
        }
        let pads = known_ints(inputs, 1)?;
        let axes = match optional_known_ints(inputs, 3)? {
            Some(axes) => normalize_axes(&axes, rank)?,
            None => (0..rank).collect(),
        };
        if pads.len() != 2 * axes.len() {
            return Err(OpError::InvalidInput {
                index: 1,
                reason: format!("{} pads for {} axes", pads.len(), axes.len()),
            });
        }
        let mut per_axis = vec![AxisPads::default(); rank];
        for (i, &axis) in axes.iter().enumerate() {
            per_axis[axis] = AxisPads {
                begin: pads[i],
                end: pads[axes.len() + i],
            };
        }
        let mut shape = Vec::with_capacity(rank);
        for (&dim, p) in data.shape.iter().zip(&per_axis) {
            let out = dim as i128 + p.begin as i128 + p.end as i128;
            let out = usize::try_from(out).map_err(|_| OpError::InvalidInput {
                index: 1,
                reason: format!(
                    "pads ({}, {}) give axis of size {dim} a size of {out}",
                    p.begin, p.end
                ),
            })?;
            // Non-constant modes copy from what is left after cropping.
            let kept = dim as i128 + i128::from(p.begin.min(0)) + i128::from(p.end.min(0));
            if self.mode != PadMode::Constant && out > 0 && kept <= 0 {
                return Err(OpError::InvalidInput {
                    index: 1,
                    reason: format!(
                        "pads ({}, {}) leave nothing of an axis of size {dim} to pad from in {:?} mode",
                        p.begin, p.end, self.mode
                    ),
                });
            }
            shape.push(out);
        }
        let shape = checked_shape(shape, data.dtype.size())?;
        Ok((per_axis, OutputSpec::new(data.dtype, shape)))
    }
}

impl Operator for Pad {
    fn op(&self) -> OpCode {
        OpCode::Pad
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
        let (pads, spec) = self.plan(&infos(inputs))?;
        check_outputs(std::slice::from_ref(&spec), outputs)?;
        let Some(out) = outputs.first_mut() else {
            return Ok(());
        };
        if out.is_empty() {
            return Ok(());
        }
        // The output is not empty: each map is at most as long as it.
        let data = required(inputs, 0)?;
        let maps = data
            .shape()
            .iter()
            .zip(&pads)
            .zip(&spec.shape)
            .map(|((&dim, &p), &len)| axis_map(self.mode, dim, p, len))
            .collect::<OpResult<Vec<_>>>()?;
        let elem = data.dtype().size();
        let mut fill = vec![0u8; elem];
        if let Some(value) = optional(inputs, 2)
            && let Some(bytes) = value.bytes().get(..elem)
        {
            fill.copy_from_slice(bytes);
        }
        with_element_type!(elem, T => {
            let src = elements::<T>(data.bytes())?;
            let fills = elements::<T>(&fill)?;
            let dst = elements_mut::<T>(out.bytes_mut())?;
            if fills.len() != 1 {
                return Err(out_of_bounds());
            }
            gather_by_maps(src, data.shape(), &maps, fills, dst)
        })
    }
}
