//! `GlobalAveragePool` and `GlobalMaxPool`: one value per (batch, channel)
//! plane, over all its spatial positions.

use super::common::{
    check_output_count, checked_mul, checked_product, f32_info, f32_input, infos_of, output_slice,
    shape_error,
};
use crate::error::OpResult;
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{TensorView, TensorViewMut};

/// ONNX `GlobalAveragePool` / `GlobalMaxPool` (opset 21): input `X`.
#[derive(Debug)]
pub(crate) struct GlobalPool {
    /// Max instead of mean.
    max: bool,
}

impl GlobalPool {
    /// `GlobalAveragePool`.
    pub(crate) const AVERAGE: GlobalPool = GlobalPool { max: false };
    /// `GlobalMaxPool`.
    pub(crate) const MAX: GlobalPool = GlobalPool { max: true };

    fn name(&self) -> &'static str {
        if self.max {
            "GlobalMaxPool"
        } else {
            "GlobalAveragePool"
        }
    }

    /// (planes, plane size) of input shape `x`.
    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<(usize, usize)> {
        check_input_count(inputs, 1, 1, "1")?;
        let x = f32_info(inputs, 0)?.shape;
        if x.len() < 3 {
            return Err(shape_error(format!(
                "{} input X must be N×C×spatial, got shape {x:?}",
                self.name()
            )));
        }
        let plane = checked_product(&x[2..])?;
        if plane == 0 {
            return Err(shape_error(format!(
                "{} over an empty spatial extent: X is {x:?}",
                self.name()
            )));
        }
        Ok((checked_mul(x[0], x[1])?, plane))
    }
}

impl Operator for GlobalPool {
    fn op(&self) -> OpCode {
        if self.max {
            OpCode::GlobalMaxPool
        } else {
            OpCode::GlobalAveragePool
        }
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        self.plan(inputs)?;
        let x = f32_info(inputs, 0)?.shape;
        let mut shape = x.to_vec();
        shape[2..].fill(1);
        Ok(vec![OutputSpec::new(
            DType::F32,
            checked_shape(shape, DType::F32.size())?,
        )])
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let infos = infos_of::<1>(inputs, "1")?;
        let (planes, plane) = self.plan(&infos[..inputs.len()])?;
        check_output_count(outputs.len(), 1, self.name())?;
        let x = f32_input(inputs, 0)?;
        let y = output_slice::<f32>(&mut outputs[0], 0, planes)?;
        for (out, values) in y.iter_mut().zip(x.chunks_exact(plane)) {
            *out = if self.max {
                values.iter().copied().fold(f32::NEG_INFINITY, f32::max)
            } else {
                let sum: f64 = values.iter().map(|&v| f64::from(v)).sum();
                (sum / plane as f64) as f32
            };
        }
        Ok(())
    }
}
