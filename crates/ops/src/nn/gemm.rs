//! `Gemm`: `Y = act(alpha·op(A)·op(B) + beta·C)` over the `f32-gemm`
//! kernels. `beta·C` (broadcast) and the fused activation (`activation`
//! attributes, see `docs/ops/fusion.md`) run in the GEMM's epilogue; `B`
//! may be a weight stored pre-packed.

use super::common::{
    check_output_count, checked_mul, f32_info, f32_input, infos_of, optional_f32_info,
    optional_f32_input, output_slice, shape_error,
};
use super::packed::{b_operand, input_view};
use super::weight::weight_info;
use crate::attrs::Attrs;
use crate::error::OpResult;
use crate::fused::activation_from_attributes;
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::activation::Activation;
use pocketnn_tensor::kernels::gemm::{Epilogue, GemmOptions, MatMut, MatRef};
use pocketnn_tensor::{TensorView, TensorViewMut};

/// ONNX `Gemm` (opset 21): inputs `A`, `B`, optional `C`.
#[derive(Debug)]
pub(crate) struct Gemm {
    alpha: f32,
    beta: f32,
    trans_a: bool,
    trans_b: bool,
    activation: Activation,
}

/// Sizes of one Gemm call: `op(A)` is m×k, `op(B)` k×n, `C` (if used) is
/// `c_rows`×`c_cols` with each 1 or the full size.
#[derive(Clone, Copy, Debug)]
struct GemmPlan {
    m: usize,
    k: usize,
    n: usize,
    c: Option<(usize, usize)>,
}

fn flag(attrs: &Attrs<'_>, name: &str) -> OpResult<bool> {
    match attrs.int(name, 0)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(attrs.invalid(name, format!("{other} is neither 0 nor 1"))),
    }
}

impl Gemm {
    /// Builds the operator from its attributes.
    pub(crate) fn from_attrs(attrs: &Attrs<'_>) -> OpResult<Gemm> {
        Ok(Gemm {
            alpha: attrs.float("alpha", 1.0)?,
            beta: attrs.float("beta", 1.0)?,
            trans_a: flag(attrs, "transA")?,
            trans_b: flag(attrs, "transB")?,
            activation: activation_from_attributes(attrs)?,
        })
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<GemmPlan> {
        check_input_count(inputs, 2, 3, "2 or 3")?;
        let a = f32_info(inputs, 0)?.shape;
        let b = weight_info(inputs, 1)?.shape;
        let c = optional_f32_info(inputs, 2)?;
        let (&[a0, a1], &[b0, b1]) = (a, b) else {
            return Err(shape_error(format!(
                "Gemm needs 2-D A and B, got {a:?} and {b:?}"
            )));
        };
        let (m, k) = if self.trans_a { (a1, a0) } else { (a0, a1) };
        let (kb, n) = if self.trans_b { (b1, b0) } else { (b0, b1) };
        if k != kb {
            return Err(shape_error(format!(
                "Gemm inner sizes differ: op(A) is {m}×{k}, op(B) is {kb}×{n}"
            )));
        }
        // beta = 0 ignores C, as if it were absent.
        let c = match c {
            Some(c) if self.beta != 0.0 => {
                let (rows, cols) = match *c.shape {
                    [] => (1, 1),
                    [cols] => (1, cols),
                    [rows, cols] => (rows, cols),
                    _ => (0, 0),
                };
                let fits = |have: usize, want: usize| have == 1 || have == want;
                if c.shape.len() > 2 || !fits(rows, m) || !fits(cols, n) {
                    return Err(shape_error(format!(
                        "Gemm C {:?} does not broadcast to [{m}, {n}]",
                        c.shape
                    )));
                }
                Some((rows, cols))
            }
            _ => None,
        };
        Ok(GemmPlan { m, k, n, c })
    }
}

impl Operator for Gemm {
    fn op(&self) -> OpCode {
        OpCode::Gemm
    }

    fn accepts_packed_b(&self, index: usize) -> bool {
        index == 1
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        let plan = self.plan(inputs)?;
        Ok(vec![OutputSpec::new(
            DType::F32,
            checked_shape(vec![plan.m, plan.n], DType::F32.size())?,
        )])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let infos = infos_of::<3>(inputs, "2 or 3")?;
        let plan = self.plan(&infos[..inputs.len()])?;
        check_output_count(outputs.len(), 1, "Gemm")?;
        let a = f32_input(inputs, 0)?;
        let (m, k, n) = (plan.m, plan.k, plan.n);
        let y = output_slice::<f32>(&mut outputs[0], 0, checked_mul(m, n)?)?;
        if y.is_empty() {
            return Ok(());
        }
        let a = if self.trans_a {
            MatRef::row_major(a, k, m)?.t()
        } else {
            MatRef::row_major(a, m, k)?
        };
        let b = b_operand(ctx, input_view(inputs, 1)?, 1, (k, n), self.trans_b)?;
        // beta·C broadcast through zero strides: a scalar, a row, a column
        // or the full matrix.
        let bias = match (plan.c, optional_f32_input(inputs, 2)?) {
            (Some((rows, cols)), Some(values)) => {
                let row_stride = if rows == 1 { 0 } else { cols };
                let col_stride = usize::from(cols != 1);
                Some(MatRef::new(values, m, n, row_stride, col_stride)?)
            }
            _ => None,
        };
        let options = GemmOptions {
            epilogue: Epilogue {
                alpha: self.alpha,
                beta: self.beta,
                bias,
                activation: self.activation,
                ..Epilogue::default()
            },
            threads: ctx.threads,
            ..GemmOptions::default()
        };
        b.run(ctx, a, MatMut::row_major(y, m, n)?, &options)?;
        Ok(())
    }
}
