//! `SparseQLinearConv` (210): `QLinearConv`'s arithmetic with a 1×1
//! kernel and a constant sparse symmetric i8 weight (`docs/ops/sparse.md`),
//! on the int8 sparse kernels.
//!
//! Inputs: `x` (u8 `[N, K]`, `[N, K, L]` or `[N, K, H, W]`), `x_scale`,
//! `x_zero_point` (u8), `values` (i8), `block_ptr`, `columns`, `w_scale`
//! (f32, one or one per output channel), `y_scale`, `y_zero_point` (u8),
//! `bias` (i32 `[M]`)?. Output: u8, `x`'s shape with `K` replaced by `M`:
//!
//! ```text
//! y[n, j, p] = clamp(y_zero + round((Σ_k W[j, k] · (x[n, k, p] - x_zero) + bias[j])
//!                                   · x_scale · w_scale[j] / y_scale), 0, 255)
//! ```
//!
//! with the requantization in f32 and halves rounded to even, exactly
//! as the dense `QLinearConv` (`crates/ops/src/quant/conv.rs`). Rank 2, or
//! a trailing spatial size of 1, runs the linear kernel over the `N` rows;
//! otherwise the pointwise kernel runs image by image.

use super::parts::{MatrixCache, PartIndices, SparseAttrs, cached_matrix};
use super::{for_row_blocks, input_rows};
use crate::attrs::Attrs;
use crate::data::common::{check_outputs, infos};
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::quant::{scales, zero_points};
use crate::util::{check_input_count, checked_shape, optional, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::qgemm::{MAX_DEPTH, QuantMultiplier, Requantize};
use pocketnn_tensor::kernels::sparse::{
    SparseI8Kernel, SparseI8Matrix, SparseQOutput, sparse_linear_u8i8, sparse_pointwise_u8i8,
};
use pocketnn_tensor::{TensorView, TensorViewMut};

const X: usize = 0;
const X_SCALE: usize = 1;
const X_ZERO: usize = 2;
const PARTS: PartIndices = PartIndices::from(3);
const W_SCALE: usize = 6;
const Y_SCALE: usize = 7;
const Y_ZERO: usize = 8;
const BIAS: usize = 9;

/// The `SparseQLinearConv` operator.
#[derive(Debug)]
pub(crate) struct SparseQLinearConv {
    weights: SparseAttrs,
    cache: MatrixCache<SparseI8Matrix>,
}

fn shape_error(reason: String) -> OpError {
    OpError::ShapeMismatch { reason }
}

/// Fails unless input `index` is `dtype` and (when `per_tensor`) a
/// scalar or a 1-element tensor.
fn check_param(
    inputs: &[Option<InputInfo<'_>>],
    index: usize,
    dtype: DType,
    per_tensor: bool,
) -> OpResult<()> {
    let info = required(inputs, index)?;
    if info.dtype != dtype {
        return Err(OpError::UnsupportedDType {
            index,
            dtype: info.dtype,
        });
    }
    if per_tensor && !(info.shape.is_empty() || info.shape == [1]) {
        return Err(shape_error(format!(
            "input {index} must be one value, got shape {:?}",
            info.shape
        )));
    }
    Ok(())
}

impl SparseQLinearConv {
    /// Builds the operator from its attributes.
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<Self> {
        let weights = SparseAttrs::parse(attrs)?;
        if weights.cols > MAX_DEPTH {
            return Err(OpError::Unsupported {
                what: format!(
                    "SparseQLinearConv with {} input channels (at most {MAX_DEPTH})",
                    weights.cols
                ),
            });
        }
        Ok(SparseQLinearConv {
            weights,
            cache: MatrixCache::default(),
        })
    }
}

impl Operator for SparseQLinearConv {
    fn op(&self) -> OpCode {
        OpCode::SparseQLinearConv
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 9, 10, "9 or 10")?;
        let (m, k) = (self.weights.rows, self.weights.cols);
        let x = required(inputs, X)?;
        if x.dtype != DType::U8 {
            return Err(OpError::UnsupportedDType {
                index: X,
                dtype: x.dtype,
            });
        }
        if !(2..=4).contains(&x.shape.len()) || x.shape[1] != k {
            return Err(shape_error(format!(
                "SparseQLinearConv needs x [N, {k}], [N, {k}, L] or [N, {k}, H, W], got {:?}",
                x.shape
            )));
        }
        check_param(inputs, X_SCALE, DType::F32, true)?;
        check_param(inputs, X_ZERO, DType::U8, true)?;
        self.weights.check_infos(inputs, PARTS, DType::I8)?;
        check_param(inputs, W_SCALE, DType::F32, false)?;
        let w_scale = required(inputs, W_SCALE)?;
        if !(w_scale.shape.is_empty() || w_scale.shape == [1] || w_scale.shape == [m]) {
            return Err(shape_error(format!(
                "w_scale must be one value or [{m}], got {:?}",
                w_scale.shape
            )));
        }
        check_param(inputs, Y_SCALE, DType::F32, true)?;
        check_param(inputs, Y_ZERO, DType::U8, true)?;
        if let Some(bias) = optional(inputs, BIAS)
            && (bias.dtype != DType::I32 || bias.shape != [m])
        {
            return Err(shape_error(format!(
                "bias must be i32 [{m}], got {} {:?}",
                bias.dtype, bias.shape
            )));
        }
        let mut shape = x.shape.to_vec();
        shape[1] = m;
        Ok(vec![OutputSpec::new(
            DType::U8,
            checked_shape(shape, DType::U8.size())?,
        )])
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
        let y = out.as_slice_mut::<u8>()?;
        if y.is_empty() {
            return Ok(());
        }
        let (m, k) = (self.weights.rows, self.weights.cols);
        let x_scale = scales(inputs, X_SCALE, None)?;
        let w_scale = scales(inputs, W_SCALE, Some(m))?;
        let y_scale = scales(inputs, Y_SCALE, None)?;
        let x_zero = zero_points(optional(inputs, X_ZERO), None, X_ZERO)?;
        let y_zero = zero_points(optional(inputs, Y_ZERO), None, Y_ZERO)?;
        let multipliers = w_scale
            .iter()
            .map(|&w| {
                QuantMultiplier::new(f64::from(x_scale[0]) * f64::from(w) / f64::from(y_scale[0]))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let bias = match optional(inputs, BIAS) {
            Some(b) => b.as_slice::<i32>()?.to_vec(),
            None => Vec::new(),
        };
        // Zero points are u8 (checked by `infer`), so the casts are exact.
        let requantize = Requantize::new(multipliers, bias, y_zero[0] as u8, (0, 255))?;
        let x_zero = x_zero[0] as u8;
        let w = cached_matrix(&self.cache, &self.weights, inputs, PARTS, |matrix| {
            Ok(SparseI8Matrix::new(matrix)?)
        })?;
        let kernel = SparseI8Kernel::best_for(ctx.isa);
        let x_view = required(inputs, X)?;
        let x = x_view.as_slice::<u8>()?;
        let pixels: usize = x_view.shape().get(2..).unwrap_or(&[]).iter().product();
        let requantize = &requantize;
        if pixels == 1 {
            // y is not empty, so m > 0: a block of rows of y is `len / m`
            // rows of x.
            return for_row_blocks(ctx.threads, y, m, &|first, y_rows| {
                let count = y_rows.len() / m;
                let x_rows = input_rows(x, k, first, count)?;
                let out = SparseQOutput::U8 {
                    c: y_rows,
                    requantize,
                };
                Ok(sparse_linear_u8i8(&kernel, &w, x_rows, x_zero, count, out)?)
            });
        }
        // y is not empty, so m · pixels > 0.
        let (x_len, y_len) = (k * pixels, m * pixels);
        for_row_blocks(ctx.threads, y, y_len, &|first, y_images| {
            for (i, y_image) in y_images.chunks_exact_mut(y_len).enumerate() {
                let x_image = input_rows(x, x_len, first + i, 1)?;
                let out = SparseQOutput::U8 {
                    c: y_image,
                    requantize,
                };
                sparse_pointwise_u8i8(&kernel, &w, x_image, x_zero, pixels, out)?;
            }
            Ok(())
        })?;
        Ok(())
    }
}
