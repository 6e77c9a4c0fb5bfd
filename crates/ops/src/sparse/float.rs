//! `SparseLinear` (208) and `SparseConv` (209): f32 activations times a
//! constant sparse f32 weight, bias and fused activation in the kernels'
//! epilogue (`docs/ops/sparse.md`).

use super::parts::{MatrixCache, PartIndices, SparseAttrs, cached_matrix};
use super::{for_row_blocks, input_rows};
use crate::attrs::Attrs;
use crate::data::common::{check_outputs, infos};
use crate::error::{OpError, OpResult};
use crate::fused::activation_from_attributes;
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape, optional, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::activation::Activation;
use pocketnn_tensor::kernels::gemm::Epilogue;
use pocketnn_tensor::kernels::sparse::{SparseMatrix, sparse_linear_f32, sparse_pointwise_f32};
use pocketnn_tensor::{TensorView, TensorViewMut};

/// Inputs: `X`, then the parts, then the optional bias.
const PARTS: PartIndices = PartIndices::from(1);
const BIAS: usize = 4;

/// Which of the two layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// `SparseLinear`: `X [..., K]`, `Y = X · Wᵀ`.
    Linear,
    /// `SparseConv`: `X [N, K, H, W]`, `Y[n] = W · X[n]`.
    Pointwise,
}

/// `SparseLinear` or `SparseConv`.
#[derive(Debug)]
pub(crate) struct SparseFloat {
    layout: Layout,
    weights: SparseAttrs,
    activation: Activation,
    cache: MatrixCache<SparseMatrix<f32>>,
}

fn shape_error(reason: String) -> OpError {
    OpError::ShapeMismatch { reason }
}

impl SparseFloat {
    /// `SparseLinear` from its attributes.
    pub(crate) fn linear(attrs: &Attrs<'_>) -> OpResult<Self> {
        Self::build(Layout::Linear, attrs)
    }

    /// `SparseConv` from its attributes.
    pub(crate) fn conv(attrs: &Attrs<'_>) -> OpResult<Self> {
        Self::build(Layout::Pointwise, attrs)
    }

    fn build(layout: Layout, attrs: &Attrs<'_>) -> OpResult<Self> {
        Ok(SparseFloat {
            layout,
            weights: SparseAttrs::parse(attrs)?,
            activation: activation_from_attributes(attrs)?,
            cache: MatrixCache::default(),
        })
    }

    /// The output shape for `X`'s shape.
    fn output_shape(&self, x: &[usize]) -> OpResult<Vec<usize>> {
        let (m, k) = (self.weights.rows, self.weights.cols);
        let shape = match (self.layout, x) {
            (Layout::Linear, [batch @ .., last]) if *last == k => {
                let mut shape = batch.to_vec();
                shape.push(m);
                shape
            }
            (Layout::Pointwise, &[n, channels, h, w]) if channels == k => vec![n, m, h, w],
            (Layout::Linear, _) => {
                return Err(shape_error(format!(
                    "SparseLinear needs X [..., {k}], got {x:?}"
                )));
            }
            (Layout::Pointwise, _) => {
                return Err(shape_error(format!(
                    "SparseConv needs X [N, {k}, H, W], got {x:?}"
                )));
            }
        };
        checked_shape(shape, DType::F32.size())
    }
}

impl Operator for SparseFloat {
    fn op(&self) -> OpCode {
        match self.layout {
            Layout::Linear => OpCode::SparseLinear,
            Layout::Pointwise => OpCode::SparseConv,
        }
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 4, 5, "4 or 5")?;
        let x = required(inputs, 0)?;
        if x.dtype != DType::F32 {
            return Err(OpError::UnsupportedDType {
                index: 0,
                dtype: x.dtype,
            });
        }
        self.weights.check_infos(inputs, PARTS, DType::F32)?;
        if let Some(bias) = optional(inputs, BIAS) {
            if bias.dtype != DType::F32 {
                return Err(OpError::UnsupportedDType {
                    index: BIAS,
                    dtype: bias.dtype,
                });
            }
            if bias.shape != [self.weights.rows] {
                return Err(shape_error(format!(
                    "bias must be [{}], got {:?}",
                    self.weights.rows, bias.shape
                )));
            }
        }
        Ok(vec![OutputSpec::new(
            DType::F32,
            self.output_shape(x.shape)?,
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
        let y = out.as_slice_mut::<f32>()?;
        if y.is_empty() {
            return Ok(());
        }
        let w = cached_matrix(&self.cache, &self.weights, inputs, PARTS, Ok)?;
        let x_view = required(inputs, 0)?;
        let x = x_view.as_slice::<f32>()?;
        let bias = match optional(inputs, BIAS) {
            Some(b) => Some(b.as_slice::<f32>()?),
            None => None,
        };
        let (m, k, isa, activation) = (
            self.weights.rows,
            self.weights.cols,
            ctx.isa,
            self.activation,
        );
        match self.layout {
            Layout::Linear => {
                // y is not empty, so m > 0: a block of rows of y is
                // `len / m` rows of the batch.
                for_row_blocks(ctx.threads, y, m, &|first, y_rows| {
                    let count = y_rows.len() / m;
                    let x_rows = input_rows(x, k, first, count)?;
                    let epilogue = Epilogue {
                        bias: bias
                            .map(|b| Epilogue::column_bias(b, count, m))
                            .transpose()?,
                        activation,
                        ..Epilogue::default()
                    };
                    Ok(sparse_linear_f32(
                        isa, &w, x_rows, count, y_rows, &epilogue,
                    )?)
                })?;
            }
            Layout::Pointwise => {
                let &[_, _, height, width] = x_view.shape() else {
                    return Err(shape_error(format!("X {:?} is not 4-D", x_view.shape())));
                };
                let pixels = height * width;
                // y is not empty, so m · pixels > 0.
                let (x_len, y_len) = (k * pixels, m * pixels);
                for_row_blocks(ctx.threads, y, y_len, &|first, y_images| {
                    let epilogue = Epilogue {
                        bias: bias.map(|b| Epilogue::row_bias(b, m, pixels)).transpose()?,
                        activation,
                        ..Epilogue::default()
                    };
                    for (i, y_image) in y_images.chunks_exact_mut(y_len).enumerate() {
                        let x_image = input_rows(x, x_len, first + i, 1)?;
                        sparse_pointwise_f32(isa, &w, x_image, pixels, y_image, &epilogue)?;
                    }
                    Ok(())
                })?;
            }
        }
        Ok(())
    }
}
