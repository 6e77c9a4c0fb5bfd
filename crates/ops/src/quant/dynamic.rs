//! `DynamicQuantMatMul` (pocketnn extension, op code 207): an f32 product
//! with constant int8 weights whose activations are quantized per row at
//! run time — what `pocketnn convert --quantize int8-dynamic` makes of a
//! `Gemm` or `MatMul` with constant weights.
//!
//! Inputs: `A` (f32 `[..., K]`), `B` (i8 `[K, N]`, symmetric: zero point 0),
//! `scales` (f32, one per column of `B` or one for all), `bias` (f32 `[N]`,
//! optional). Attributes: the fused activation (`docs/ops/fusion.md`).
//! Output: f32 `[..., N]`:
//!
//! ```text
//! y[i, j] = act(row_scale[i] · scale[j] · Σ_p (q[i, p] - row_zero[i]) · B[p, j] + bias[j])
//! ```
//!
//! where row `i` of `A` is quantized to u8 as ONNX `DynamicQuantizeLinear`
//! quantizes a tensor: over `[min(0, min a), max(0, max a)]`,
//! `row_scale = (max - min) / 255`, `row_zero = round(-min / row_scale)`,
//! `q = saturate(round(a / row_scale) + row_zero)`, halves to even. An
//! all-zero row gets scale 1 and zero point 0 (its output is the bias); a
//! row holding a NaN or an infinity gives NaN outputs.

use super::pack_cache::{PackCache, PackKey};
use super::{check_param_shape, scales};
use crate::attrs::Attrs;
use crate::data::common::{check_outputs, infos};
use crate::error::{OpError, OpResult};
use crate::fused::activation_from_attributes;
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape, optional, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::activation::{self, Activation};
use pocketnn_tensor::kernels::qgemm::{
    Dequantize, MAX_DEPTH, PackedI8B, QGemmKernel, QOutput, U8Matrix, ZeroPoints, gemm_u8i8,
};
use pocketnn_tensor::{TensorView, TensorViewMut};

/// The `DynamicQuantMatMul` operator.
#[derive(Debug)]
pub(crate) struct DynamicQuantMatMul {
    activation: Activation,
    /// The weights packed per kernel, once when they are a model constant.
    packs: PackCache,
}

/// Sizes of one product: `rows × k` times `k × n`.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    rows: usize,
    k: usize,
    n: usize,
}

fn shape_error(reason: String) -> OpError {
    OpError::ShapeMismatch { reason }
}

impl DynamicQuantMatMul {
    /// Builds the operator from its attributes.
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<Self> {
        Ok(DynamicQuantMatMul {
            activation: activation_from_attributes(attrs)?,
            packs: PackCache::default(),
        })
    }

    /// Checks the inputs and returns the sizes and output shape.
    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<(Sizes, Vec<usize>)> {
        check_input_count(inputs, 3, 4, "3 or 4")?;
        let a = required(inputs, 0)?;
        let b = required(inputs, 1)?;
        let scales = required(inputs, 2)?;
        for (index, info, dtype) in [
            (0, a, DType::F32),
            (1, b, DType::I8),
            (2, scales, DType::F32),
        ] {
            if info.dtype != dtype {
                return Err(OpError::UnsupportedDType {
                    index,
                    dtype: info.dtype,
                });
            }
        }
        let Some((&k, batch)) = a.shape.split_last() else {
            return Err(shape_error("A must have rank 1 or more".into()));
        };
        let &[kb, n] = b.shape else {
            return Err(shape_error(format!("B must be 2-D, got {:?}", b.shape)));
        };
        if k != kb {
            return Err(shape_error(format!(
                "A {:?} and B {:?}: inner dimensions differ",
                a.shape, b.shape
            )));
        }
        if k > MAX_DEPTH {
            return Err(OpError::Unsupported {
                what: format!("inner dimension {k} (at most {MAX_DEPTH})"),
            });
        }
        check_param_shape(scales.shape, Some(n).filter(|&n| n > 0), 2)?;
        if let Some(bias) = optional(inputs, 3) {
            if bias.dtype != DType::F32 {
                return Err(OpError::UnsupportedDType {
                    index: 3,
                    dtype: bias.dtype,
                });
            }
            if bias.shape != [n] {
                return Err(shape_error(format!(
                    "bias {:?} is not one value per column ({n})",
                    bias.shape
                )));
            }
        }
        let rows = pocketnn_tensor::num_elements(batch).ok_or_else(|| OpError::TooLarge {
            shape: a.shape.to_vec(),
        })?;
        let mut out_shape = batch.to_vec();
        out_shape.push(n);
        let out_shape = checked_shape(out_shape, DType::F32.size())?;
        Ok((Sizes { rows, k, n }, out_shape))
    }
}

/// `x` rounded to the nearest integer, halves to even, for `|x| < 2^22`:
/// adding and subtracting `1.5 · 2^23` leaves no fraction bits, and IEEE
/// addition rounds halves to even. Unlike `f32::round_ties_even` it
/// vectorizes on every x86_64 and aarch64 target.
#[inline(always)]
pub(super) fn round_small(x: f32) -> f32 {
    const SHIFT: f32 = 12_582_912.0; // 1.5 · 2^23
    (x + SHIFT) - SHIFT
}

/// The u8 quantization of one row: `(scale, zero point)`, or `None` when the
/// row holds a NaN or an infinity. Writes the quantized values to `q`.
fn quantize_row(row: &[f32], q: &mut [u8]) -> Option<(f32, u8)> {
    if !row.iter().all(|v| v.is_finite()) {
        return None;
    }
    let min = row.iter().fold(0f32, |m, &v| m.min(v));
    let max = row.iter().fold(0f32, |m, &v| m.max(v));
    let scale = (max - min) / 255.0;
    if !(scale.is_finite() && scale > 0.0) {
        // All zeros (or a range too small to divide by): q = 0 is exact.
        q.fill(0);
        return Some((1.0, 0));
    }
    // |a / scale| <= 255 and 0 <= zero <= 255: within round_small's range.
    let zero = round_small(-min / scale).clamp(0.0, 255.0);
    for (out, &v) in q.iter_mut().zip(row) {
        *out = (round_small(v / scale) + zero).clamp(0.0, 255.0) as u8;
    }
    Some((scale, zero as u8))
}

impl Operator for DynamicQuantMatMul {
    fn op(&self) -> OpCode {
        OpCode::DynamicQuantMatMul
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        let (_, shape) = self.plan(inputs)?;
        Ok(vec![OutputSpec::new(DType::F32, shape)])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let (sizes, out_shape) = self.plan(&infos(inputs))?;
        check_outputs(&[OutputSpec::new(DType::F32, out_shape)], outputs)?;
        let Some(out) = outputs.first_mut() else {
            return Ok(());
        };
        let Sizes { rows, k, n } = sizes;
        let y = out.as_slice_mut::<f32>()?;
        if rows == 0 || n == 0 {
            return Ok(());
        }
        let a = required(inputs, 0)?.as_slice::<f32>()?;
        let b_view = required(inputs, 1)?;
        let b = b_view.as_slice::<i8>()?;
        let col_scales = scales(inputs, 2, Some(n))?;
        let bias = match optional(inputs, 3) {
            Some(view) => view.as_slice::<f32>()?.to_vec(),
            None => Vec::new(),
        };
        // rows · k is A's element count, so it fits.
        let mut q = vec![0u8; rows * k];
        let mut row_scales = vec![1f32; rows];
        let mut row_zeros = vec![0u8; rows];
        let mut bad_rows = Vec::new();
        if k > 0 {
            let quantized = a.chunks_exact(k).zip(q.chunks_exact_mut(k));
            for (i, (row, q_row)) in quantized.enumerate() {
                match quantize_row(row, q_row) {
                    Some((scale, zero)) => (row_scales[i], row_zeros[i]) = (scale, zero),
                    None => {
                        q_row.fill(0);
                        bad_rows.push(i);
                    }
                }
            }
        }
        let kernel = QGemmKernel::best_for(ctx.isa);
        let packed = self
            .packs
            .get_or_pack(PackKey::of(&kernel, &b_view, 0), || {
                Ok(PackedI8B::pack(&kernel, b, (k, n), (n, 1))?)
            })?;
        let dequantize = Dequantize::new(row_scales, col_scales, bias)?;
        gemm_u8i8(
            &kernel,
            U8Matrix::row_major(&q, rows, k)?,
            ZeroPoints::PerRow(&row_zeros),
            &packed,
            &[],
            QOutput::F32 {
                c: &mut *y,
                row_stride: n,
                dequantize: &dequantize,
            },
        )?;
        activation::apply(ctx.isa, self.activation, y)?;
        for i in bad_rows {
            y[i * n..][..n].fill(f32::NAN);
        }
        Ok(())
    }
}
