//! `BatchNormalization` (inference form) and `InstanceNormalization`: a
//! per-channel affine map of each (batch, channel) plane, with statistics
//! given as inputs or computed per plane.

use super::common::{
    check_output_count, checked_mul, checked_product, f32_info, f32_input, infos_of, output_slice,
    shape_error,
};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{TensorView, TensorViewMut};

/// (batch, channels, plane size) of an N×C×… input X (input 0), with
/// inputs `1..=params` checked to be `[C]` vectors.
fn plan_planes(
    inputs: &[Option<InputInfo<'_>>],
    params: usize,
    min_rank: usize,
    name: &str,
) -> OpResult<(usize, usize, usize)> {
    let x = f32_info(inputs, 0)?.shape;
    if x.len() < min_rank {
        return Err(shape_error(format!(
            "{name} input X has shape {x:?}, expected at least {min_rank} axes (N, C, ...)"
        )));
    }
    let channels = x[1];
    for index in 1..=params {
        let p = f32_info(inputs, index)?.shape;
        if p != [channels] {
            return Err(shape_error(format!(
                "{name} input {index} has shape {p:?}, expected [{channels}]"
            )));
        }
    }
    let plane = checked_product(&x[2..])?;
    checked_mul(checked_mul(x[0], channels)?, plane)?;
    Ok((x[0], channels, plane))
}

fn same_shape_output(inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
    let x = f32_info(inputs, 0)?.shape;
    Ok(vec![OutputSpec::new(
        DType::F32,
        checked_shape(x.to_vec(), DType::F32.size())?,
    )])
}

/// ONNX `BatchNormalization` (opset 15+) in inference mode: inputs `X`,
/// `scale`, `B`, `input_mean`, `input_var`; output `Y` only.
#[derive(Debug)]
pub(crate) struct BatchNormalization {
    epsilon: f32,
}

impl BatchNormalization {
    /// Builds the operator; `training_mode` = 1 is unsupported.
    pub(crate) fn from_attrs(attrs: &Attrs<'_>) -> OpResult<BatchNormalization> {
        if attrs.int("training_mode", 0)? != 0 {
            return Err(OpError::Unsupported {
                what: "BatchNormalization with training_mode = 1".into(),
            });
        }
        Ok(BatchNormalization {
            epsilon: attrs.float("epsilon", 1e-5)?,
        })
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<(usize, usize, usize)> {
        check_input_count(inputs, 5, 5, "5")?;
        plan_planes(inputs, 4, 2, "BatchNormalization")
    }
}

impl Operator for BatchNormalization {
    fn op(&self) -> OpCode {
        OpCode::BatchNormalization
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        self.plan(inputs)?;
        same_shape_output(inputs)
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let infos = infos_of::<5>(inputs, "5")?;
        let (batch, channels, plane) = self.plan(&infos[..inputs.len()])?;
        // Running-statistics outputs exist only in training mode.
        check_output_count(outputs.len(), 1, "BatchNormalization in inference mode")?;
        let x = f32_input(inputs, 0)?;
        let [scale, bias, mean, var] = [1, 2, 3, 4].map(|i| f32_input(inputs, i));
        let (scale, bias, mean, var) = (scale?, bias?, mean?, var?);
        let y = output_slice::<f32>(&mut outputs[0], 0, batch * channels * plane)?;
        if y.is_empty() {
            return Ok(());
        }
        for (i, (y_plane, x_plane)) in y
            .chunks_exact_mut(plane)
            .zip(x.chunks_exact(plane))
            .enumerate()
        {
            let c = i % channels;
            let a = scale[c] / (var[c] + self.epsilon).sqrt();
            let (m, b) = (mean[c], bias[c]);
            for (out, &v) in y_plane.iter_mut().zip(x_plane) {
                *out = (v - m) * a + b;
            }
        }
        Ok(())
    }
}

/// ONNX `InstanceNormalization` (opset 6+): inputs `input`, `scale`, `B`.
#[derive(Debug)]
pub(crate) struct InstanceNormalization {
    epsilon: f32,
}

impl InstanceNormalization {
    /// Builds the operator.
    pub(crate) fn from_attrs(attrs: &Attrs<'_>) -> OpResult<InstanceNormalization> {
        Ok(InstanceNormalization {
            epsilon: attrs.float("epsilon", 1e-5)?,
        })
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<(usize, usize, usize)> {
        check_input_count(inputs, 3, 3, "3")?;
        plan_planes(inputs, 2, 3, "InstanceNormalization")
    }
}

/// Mean and population variance of `values`, accumulated in f64.
pub(crate) fn mean_and_variance(values: &[f32]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| {
            let d = f64::from(v) - mean;
            d * d
        })
        .sum::<f64>()
        / n;
    (mean, var)
}

impl Operator for InstanceNormalization {
    fn op(&self) -> OpCode {
        OpCode::InstanceNormalization
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        self.plan(inputs)?;
        same_shape_output(inputs)
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let infos = infos_of::<3>(inputs, "3")?;
        let (batch, channels, plane) = self.plan(&infos[..inputs.len()])?;
        check_output_count(outputs.len(), 1, "InstanceNormalization")?;
        let x = f32_input(inputs, 0)?;
        let scale = f32_input(inputs, 1)?;
        let bias = f32_input(inputs, 2)?;
        let y = output_slice::<f32>(&mut outputs[0], 0, batch * channels * plane)?;
        if y.is_empty() {
            return Ok(());
        }
        for (i, (y_plane, x_plane)) in y
            .chunks_exact_mut(plane)
            .zip(x.chunks_exact(plane))
            .enumerate()
        {
            let c = i % channels;
            let (mean, var) = mean_and_variance(x_plane);
            let a = (f64::from(scale[c]) / (var + f64::from(self.epsilon)).sqrt()) as f32;
            let (m, b) = (mean as f32, bias[c]);
            for (out, &v) in y_plane.iter_mut().zip(x_plane) {
                *out = (v - m) * a + b;
            }
        }
        Ok(())
    }
}
