//! `LRN`: local response normalisation across channels,
//! `y = x / (bias + alpha / size · Σ x²)^beta`, the sum running over the
//! channels `c - ⌊(size-1)/2⌋ ..= c + ⌈(size-1)/2⌉` that exist.

use super::common::{
    check_output_count, checked_mul, checked_product, f32_info, f32_input, infos_of, output_slice,
    shape_error,
};
use crate::attrs::Attrs;
use crate::error::OpResult;
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{TensorView, TensorViewMut};

/// ONNX `LRN` (opset 13): input `X`.
#[derive(Debug)]
pub(crate) struct Lrn {
    size: usize,
    alpha: f32,
    beta: f32,
    bias: f32,
}

impl Lrn {
    /// Builds the operator; `size` is required and positive.
    pub(crate) fn from_attrs(attrs: &Attrs<'_>) -> OpResult<Lrn> {
        let size = attrs.int_req("size")?;
        if !(1..=i64::from(i32::MAX)).contains(&size) {
            return Err(attrs.invalid("size", format!("{size} is not a positive window size")));
        }
        Ok(Lrn {
            size: size as usize,
            alpha: attrs.float("alpha", 1e-4)?,
            beta: attrs.float("beta", 0.75)?,
            bias: attrs.float("bias", 1.0)?,
        })
    }

    /// (batch, channels, plane size).
    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<(usize, usize, usize)> {
        check_input_count(inputs, 1, 1, "1")?;
        let x = f32_info(inputs, 0)?.shape;
        if x.len() < 2 {
            return Err(shape_error(format!(
                "LRN input X has shape {x:?}, expected N×C×…"
            )));
        }
        let plane = checked_product(&x[2..])?;
        checked_mul(checked_mul(x[0], x[1])?, plane)?;
        Ok((x[0], x[1], plane))
    }
}

impl Operator for Lrn {
    fn op(&self) -> OpCode {
        OpCode::LRN
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        self.plan(inputs)?;
        let x = f32_info(inputs, 0)?.shape;
        Ok(vec![OutputSpec::new(
            DType::F32,
            checked_shape(x.to_vec(), DType::F32.size())?,
        )])
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let infos = infos_of::<1>(inputs, "1")?;
        let (batch, channels, plane) = self.plan(&infos[..inputs.len()])?;
        check_output_count(outputs.len(), 1, "LRN")?;
        let x = f32_input(inputs, 0)?;
        let y = output_slice::<f32>(&mut outputs[0], 0, x.len())?;
        if y.is_empty() {
            return Ok(());
        }
        let before = (self.size - 1) / 2;
        let after = self.size - 1 - before;
        let scale = self.alpha / self.size as f32;
        let volume = channels * plane;
        for n in 0..batch {
            let x_n = &x[n * volume..][..volume];
            let y_n = &mut y[n * volume..][..volume];
            for c in 0..channels {
                let y_c = &mut y_n[c * plane..][..plane];
                // Sum of squares over the channel window, then the map.
                y_c.fill(0.0);
                let lo = c.saturating_sub(before);
                let hi = c.saturating_add(after).min(channels - 1);
                for i in lo..=hi {
                    for (acc, &v) in y_c.iter_mut().zip(&x_n[i * plane..][..plane]) {
                        *acc += v * v;
                    }
                }
                for (out, &v) in y_c.iter_mut().zip(&x_n[c * plane..][..plane]) {
                    *out = v / (self.bias + scale * *out).powf(self.beta);
                }
            }
        }
        Ok(())
    }
}
