//! `LayerNormalization`: normalise each row of the trailing axes (from
//! `axis` on) to zero mean and unit variance, then scale and shift.

use super::common::{
    check_output_count, checked_product, f32_info, f32_input, infos_of, optional_f32_info,
    optional_f32_input, output_slice, shape_error,
};
use super::norm::mean_and_variance;
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape, normalize_axis};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::layer_norm::{LayerNorm, RowStatistics, layer_norm_rows_f32};
use pocketnn_tensor::{TensorView, TensorViewMut};

/// ONNX `LayerNormalization` (opset 17+): inputs `X`, `Scale`, optional `B`;
/// outputs `Y` and the optional `Mean` and `InvStdDev`.
#[derive(Debug)]
pub(crate) struct LayerNormalization {
    axis: i64,
    epsilon: f32,
}

/// How a parameter (`Scale` or `B`) lines up with one normalised row.
#[derive(Clone, Copy, Debug)]
enum Param<'s> {
    /// Absent: 1 for `Scale`, 0 for `B`.
    Absent,
    /// One value per element of the row (same layout).
    Full,
    /// One value for the whole row.
    Scalar,
    /// Broadcast along some axes: this parameter shape, right-aligned.
    Broadcast(&'s [usize]),
}

#[derive(Clone, Copy, Debug)]
struct Plan<'s> {
    axis: usize,
    /// Product of the axes before `axis`.
    rows: usize,
    /// Product of the normalised axes.
    row_len: usize,
    normalized: &'s [usize],
    scale: Param<'s>,
    bias: Param<'s>,
}

impl LayerNormalization {
    /// Builds the operator; `stash_type` other than 1 (f32) is unsupported.
    pub(crate) fn from_attrs(attrs: &Attrs<'_>) -> OpResult<LayerNormalization> {
        let stash_type = attrs.int("stash_type", 1)?;
        if stash_type != 1 {
            return Err(OpError::Unsupported {
                what: format!("LayerNormalization stash_type {stash_type} (only 1, f32)"),
            });
        }
        Ok(LayerNormalization {
            axis: attrs.int("axis", -1)?,
            epsilon: attrs.float("epsilon", 1e-5)?,
        })
    }

    fn plan<'s>(&self, inputs: &[Option<InputInfo<'s>>]) -> OpResult<Plan<'s>> {
        check_input_count(inputs, 1, 3, "1 to 3")?;
        let x = f32_info(inputs, 0)?.shape;
        let axis = normalize_axis(self.axis, x.len())?;
        let normalized = &x[axis..];
        let rows = checked_product(&x[..axis])?;
        let row_len = checked_product(normalized)?;
        let param = |index: usize| -> OpResult<Param<'s>> {
            let Some(info) = optional_f32_info(inputs, index)? else {
                return Ok(Param::Absent);
            };
            let p = info.shape;
            let fits = p.len() <= normalized.len()
                && p.iter()
                    .rev()
                    .zip(normalized.iter().rev())
                    .all(|(&have, &want)| have == 1 || have == want);
            if !fits {
                return Err(shape_error(format!(
                    "LayerNormalization input {index} has shape {p:?}, which does not broadcast to the normalised shape {normalized:?}"
                )));
            }
            let len = checked_product(p)?;
            Ok(if len == row_len {
                Param::Full
            } else if len == 1 {
                Param::Scalar
            } else {
                Param::Broadcast(p)
            })
        };
        Ok(Plan {
            axis,
            rows,
            row_len,
            normalized,
            scale: param(1)?,
            bias: param(2)?,
        })
    }
}

/// The index into a parameter of shape `param` (right-aligned against
/// `normalized`) of element `j` of a normalised row.
fn broadcast_index(j: usize, normalized: &[usize], param: &[usize]) -> usize {
    let (mut rest, mut index, mut stride) = (j, 0, 1);
    for (from_end, &dim) in normalized.iter().rev().enumerate() {
        let coord = rest % dim.max(1);
        rest /= dim.max(1);
        if let Some(&p) = param.len().checked_sub(from_end + 1).map(|i| &param[i]) {
            if p != 1 {
                index += coord * stride;
            }
            stride *= p;
        }
    }
    index
}

fn param_value(
    param: Param<'_>,
    values: Option<&[f32]>,
    j: usize,
    normalized: &[usize],
    absent: f32,
) -> f32 {
    match (param, values) {
        (Param::Full, Some(v)) => v[j],
        (Param::Scalar, Some(v)) => v[0],
        (Param::Broadcast(shape), Some(v)) => v[broadcast_index(j, normalized, shape)],
        _ => absent,
    }
}

/// A scale or bias the SIMD kernel takes: `Some(None)` when absent,
/// `Some(Some(values))` when it covers the whole row, `None` otherwise.
fn whole_row<'v>(param: Param<'_>, values: Option<&'v [f32]>) -> Option<Option<&'v [f32]>> {
    match (param, values) {
        (Param::Absent, _) => Some(None),
        (Param::Full, Some(v)) => Some(Some(v)),
        _ => None,
    }
}

impl Operator for LayerNormalization {
    fn op(&self) -> OpCode {
        OpCode::LayerNormalization
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        let plan = self.plan(inputs)?;
        let x = f32_info(inputs, 0)?.shape;
        let y = checked_shape(x.to_vec(), DType::F32.size())?;
        let mut stats = x.to_vec();
        stats[plan.axis..].fill(1);
        Ok(vec![
            OutputSpec::new(DType::F32, y),
            OutputSpec::new(DType::F32, stats.clone()),
            OutputSpec::new(DType::F32, stats),
        ])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let infos = infos_of::<3>(inputs, "1 to 3")?;
        let plan = self.plan(&infos[..inputs.len()])?;
        check_output_count(outputs.len(), 3, "LayerNormalization")?;
        let x = f32_input(inputs, 0)?;
        let scale = optional_f32_input(inputs, 1)?;
        let bias = optional_f32_input(inputs, 2)?;
        let (rows, row_len) = (plan.rows, plan.row_len);
        let [y, mean_out, inv_out] = match outputs {
            [y] => [Some(y), None, None],
            [y, mean] => [Some(y), Some(mean), None],
            [y, mean, inv] => [Some(y), Some(mean), Some(inv)],
            _ => [None, None, None],
        };
        let y = match y {
            Some(y) => output_slice::<f32>(y, 0, x.len())?,
            None => return Ok(()),
        };
        let mut mean_out = match mean_out {
            Some(m) => Some(output_slice::<f32>(m, 1, rows)?),
            None => None,
        };
        let mut inv_out = match inv_out {
            Some(m) => Some(output_slice::<f32>(m, 2, rows)?),
            None => None,
        };
        // Scale and bias absent or of the whole row: the SIMD kernel.
        if let (Some(scale), Some(bias)) =
            (whole_row(plan.scale, scale), whole_row(plan.bias, bias))
        {
            let norm = LayerNorm {
                row_len,
                scale,
                bias,
                epsilon: self.epsilon,
            };
            let statistics = RowStatistics {
                mean: mean_out,
                inv_std: inv_out,
            };
            layer_norm_rows_f32(ctx.isa, &norm, x, y, statistics)?;
            return Ok(());
        }
        for r in 0..rows {
            let x_row = &x[r * row_len..][..row_len];
            let (mean, var) = mean_and_variance(x_row);
            let inv_std = 1.0 / (var + f64::from(self.epsilon)).sqrt();
            if let Some(m) = mean_out.as_deref_mut() {
                m[r] = mean as f32;
            }
            if let Some(i) = inv_out.as_deref_mut() {
                i[r] = inv_std as f32;
            }
            let (mean, inv_std) = (mean as f32, inv_std as f32);
            let y_row = &mut y[r * row_len..][..row_len];
            match (plan.scale, plan.bias, scale, bias) {
                (Param::Full, Param::Full, Some(s), Some(b)) => {
                    for (((out, &v), &s), &b) in y_row.iter_mut().zip(x_row).zip(s).zip(b) {
                        *out = (v - mean) * inv_std * s + b;
                    }
                }
                _ => {
                    for (j, (out, &v)) in y_row.iter_mut().zip(x_row).enumerate() {
                        let s = param_value(plan.scale, scale, j, plan.normalized, 1.0);
                        let b = param_value(plan.bias, bias, j, plan.normalized, 0.0);
                        *out = (v - mean) * inv_std * s + b;
                    }
                }
            }
        }
        Ok(())
    }
}
