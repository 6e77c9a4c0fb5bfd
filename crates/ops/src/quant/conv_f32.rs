//! `QLinearConvF32` (pocketnn extension, op code 212): `QLinearConv`'s
//! quantized input and weights with an f32 result, dequantized in the GEMM
//! epilogue — what `pocketnn convert --quantize int8` makes of a
//! convolution whose float output is needed as it is, such as one with a
//! residual `Add` fused into it (a requantized output would add a rounding
//! step the float graph does not have).
//!
//! Inputs: `x` (u8 or i8), `x_scale`, `x_zero_point` (per tensor), `w` (i8
//! or u8 `[M, C/group, kernel..]`), `w_scale` and `w_zero_point` (per
//! tensor or per output channel; the zero point optional), `B` (f32 `[M]`,
//! optional), `Z` (f32, the output's shape, optional). Attributes: those of
//! `Conv` and the fused activation (`docs/ops/fusion.md`). Output: f32
//!
//! ```text
//! Y[n, m, ..] = act(x_scale · w_scale[m] · Σ (x - x_zero)(w - w_zero[m]) + B[m] + Z[n, m, ..])
//! ```

use super::conv::{ConvAttrs, Plan, check_int8, check_same, convolve, shape_error};
use super::matmul::{WeightsI8, activations_u8};
use super::pack_cache::{ConstCache, DerivedKey, PackCache};
use super::{scales, zero_points};
use crate::attrs::Attrs;
use crate::data::common::{check_outputs, infos};
use crate::error::OpResult;
use crate::fused::activation_from_attributes;
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, optional, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::activation::{self, Activation};
use pocketnn_tensor::kernels::qgemm::{Dequantize, QGemmKernel, QOutput, gemm_u8i8};
use pocketnn_tensor::{TensorView, TensorViewMut};

/// The `QLinearConvF32` operator.
#[derive(Debug)]
pub(crate) struct QLinearConvF32 {
    attrs: ConvAttrs,
    activation: Activation,
    /// The weights packed per kernel, once when they are a model constant.
    packs: PackCache,
    /// The dequantization of each group, when the scales and the bias are
    /// model constants.
    dequantizers: ConstCache<DerivedKey, Vec<Dequantize>>,
}

impl QLinearConvF32 {
    /// Builds the operator from its attributes.
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<Self> {
        Ok(QLinearConvF32 {
            attrs: ConvAttrs::parse(attrs)?,
            activation: activation_from_attributes(attrs)?,
            packs: PackCache::default(),
            dequantizers: ConstCache::default(),
        })
    }
}

/// Checks that optional f32 input `index` has exactly `shape`.
fn check_f32(info: Option<InputInfo<'_>>, shape: &[usize], what: &str) -> OpResult<()> {
    match info {
        Some(v) if v.dtype != DType::F32 || v.shape != shape => Err(shape_error(format!(
            "{what} must be f32 {shape:?}, got {} {:?}",
            v.dtype, v.shape
        ))),
        _ => Ok(()),
    }
}

/// One dequantization per group: `x_scale · w_scale[j]` and the bias of
/// each of its output channels `j`.
fn dequantizers(inputs: &[Option<TensorView<'_>>], plan: &Plan) -> OpResult<Vec<Dequantize>> {
    let x_scale = scales(inputs, 1, None)?;
    let w_scales = scales(inputs, 4, Some(plan.out_channels))?;
    let bias = match optional(inputs, 6) {
        Some(b) => b.as_slice::<f32>()?,
        None => &[],
    };
    let m_g = plan.out_per_group();
    let per_group = |values: &[f32], g: usize| match values {
        [] | [_] => values.to_vec(),
        all => all[g * m_g..][..m_g].to_vec(),
    };
    (0..plan.group)
        .map(|g| {
            let dequantize =
                Dequantize::new(x_scale.clone(), per_group(&w_scales, g), per_group(bias, g))?;
            Ok(dequantize)
        })
        .collect()
}

impl Operator for QLinearConvF32 {
    fn op(&self) -> OpCode {
        OpCode::QLinearConvF32
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 5, 8, "5 to 8")?;
        let (x, w) = (required(inputs, 0)?, required(inputs, 3)?);
        check_int8(x, 0)?;
        check_int8(w, 3)?;
        check_same(Some(required(inputs, 2)?), x.dtype, 2)?;
        check_same(optional(inputs, 5), w.dtype, 5)?;
        let plan = self.attrs.plan(x, w)?;
        let spec = self
            .attrs
            .output_spec(&plan, DType::F32, x.shape.len() - 2)?;
        check_f32(optional(inputs, 6), &[plan.out_channels], "bias")?;
        check_f32(optional(inputs, 7), &spec.shape, "the residual")?;
        Ok(vec![spec])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let specs = self.infer(&infos(inputs))?;
        check_outputs(&specs, outputs)?;
        let Some(out) = outputs.first_mut() else {
            return Ok(());
        };
        let (x, w) = (required(inputs, 0)?, required(inputs, 3)?);
        let plan = self.attrs.plan(x.into(), w.into())?;
        let channels = plan.out_channels;
        let x_zero = zero_points(optional(inputs, 2), None, 2)?;
        let w_zero = zero_points(optional(inputs, 5), Some(channels), 5)?;
        // The channels and groups also shape the dequantizers.
        let extra = ((channels as u64) << 32) | plan.group as u64;
        let key = DerivedKey::of(inputs, &[1, 4, 6], extra);
        let dequantizers = self
            .dequantizers
            .get_or_pack(key, || dequantizers(inputs, &plan))?;
        let (x, x_zero) = activations_u8(x, &x_zero)?;
        let w = WeightsI8::new(w, &w_zero)?;
        let m_g = plan.out_per_group();
        let kernel = QGemmKernel::best_for(ctx.isa);
        let y = out.as_slice_mut::<f32>()?;
        convolve(
            (&kernel, &plan),
            (&x, x_zero[0]),
            (&w, &self.packs),
            &mut *y,
            |index, a, za, packed, zb, scratch| {
                let out = QOutput::F32 {
                    c: scratch,
                    row_stride: m_g,
                    dequantize: &dequantizers[index % plan.group],
                };
                Ok(gemm_u8i8(&kernel, a, za, packed, zb, out)?)
            },
        )?;
        if let Some(residual) = optional(inputs, 7) {
            for (y, &z) in y.iter_mut().zip(residual.as_slice::<f32>()?) {
                *y += z;
            }
        }
        activation::apply(ctx.isa, self.activation, y)?;
        Ok(())
    }
}
