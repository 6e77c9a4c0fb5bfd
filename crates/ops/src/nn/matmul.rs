//! `MatMul` (numpy-style batched matrix product) over the `f32-gemm`
//! kernels, with the fused form `Y = act(A·B)` (`activation` attributes,
//! see `docs/ops/fusion.md`).

use super::common::{
    check_output_count, checked_mul, checked_product, f32_info, f32_input, infos_of, output_slice,
    shape_error,
};
use super::weight::{Weight, weight_info, weight_input};
use crate::attrs::Attrs;
use crate::error::OpResult;
use crate::fused::activation_from_attributes;
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{broadcast_shapes, check_input_count, checked_shape};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::activation::Activation;
use pocketnn_tensor::kernels::gemm::{Epilogue, GemmB, GemmOptions, MatMut, MatRef, gemm_f32_with};
use pocketnn_tensor::{TensorView, TensorViewMut};

/// ONNX `MatMul` (opset 21): numpy `matmul` semantics, plus a fused
/// activation.
#[derive(Debug)]
pub(crate) struct MatMul {
    activation: Activation,
}

/// Sizes of one MatMul call, with the batch dims of each operand (before
/// broadcasting) so `run` can locate each batch's matrices.
#[derive(Clone, Copy, Debug)]
struct MatMulPlan<'s> {
    m: usize,
    k: usize,
    n: usize,
    a_batch: &'s [usize],
    b_batch: &'s [usize],
    /// Matrices in the broadcast batch.
    batch: usize,
}

impl MatMul {
    /// Builds the operator from its attributes.
    pub(crate) fn from_attrs(attrs: &Attrs<'_>) -> OpResult<MatMul> {
        Ok(MatMul {
            activation: activation_from_attributes(attrs)?,
        })
    }

    fn options(&self, ctx: &RunContext<'_>) -> GemmOptions<'static> {
        GemmOptions {
            epilogue: Epilogue {
                activation: self.activation,
                ..Epilogue::default()
            },
            threads: ctx.threads,
            ..GemmOptions::default()
        }
    }

    fn plan<'s>(&self, inputs: &[Option<InputInfo<'s>>]) -> OpResult<MatMulPlan<'s>> {
        check_input_count(inputs, 2, 2, "2")?;
        let a = f32_info(inputs, 0)?.shape;
        let b = weight_info(inputs, 1)?.shape;
        let (a_batch, m, k) = match a {
            [] => return Err(shape_error("MatMul input A is a scalar")),
            [k] => (&a[..0], 1, *k),
            [batch @ .., m, k] => (batch, *m, *k),
        };
        let (b_batch, kb, n) = match b {
            [] => return Err(shape_error("MatMul input B is a scalar")),
            [k] => (&b[..0], *k, 1),
            [batch @ .., k, n] => (batch, *k, *n),
        };
        if k != kb {
            return Err(shape_error(format!(
                "MatMul inner sizes differ: A {a:?}, B {b:?}"
            )));
        }
        let mut batch = 1usize;
        let rank = a_batch.len().max(b_batch.len());
        for i in 0..rank {
            let da = dim_from_end(a_batch, rank - 1 - i);
            let db = dim_from_end(b_batch, rank - 1 - i);
            if da != db && da != 1 && db != 1 {
                return Err(shape_error(format!(
                    "MatMul batch dims do not broadcast: A {a:?}, B {b:?}"
                )));
            }
            batch = checked_mul(batch, if da == 1 { db } else { da })?;
        }
        Ok(MatMulPlan {
            m,
            k,
            n,
            a_batch,
            b_batch,
            batch,
        })
    }
}

/// Dim `from_end` places from the last of `dims` (1 beyond the front).
fn dim_from_end(dims: &[usize], from_end: usize) -> usize {
    dims.len().checked_sub(from_end + 1).map_or(1, |i| dims[i])
}

/// The matrices of A and B (as indices into their own batches) that batch
/// matrix `index` of the broadcast output multiplies.
fn batch_sources(index: usize, a_batch: &[usize], b_batch: &[usize]) -> (usize, usize) {
    let rank = a_batch.len().max(b_batch.len());
    let (mut rest, mut a_index, mut b_index) = (index, 0, 0);
    let (mut a_stride, mut b_stride) = (1, 1);
    for from_end in 0..rank {
        let da = dim_from_end(a_batch, from_end);
        let db = dim_from_end(b_batch, from_end);
        let d = if da == 1 { db } else { da };
        let coord = rest % d.max(1);
        rest /= d.max(1);
        if da != 1 {
            a_index += coord * a_stride;
        }
        if db != 1 {
            b_index += coord * b_stride;
        }
        a_stride *= da;
        b_stride *= db;
    }
    (a_index, b_index)
}

impl Operator for MatMul {
    fn op(&self) -> OpCode {
        OpCode::MatMul
    }

    fn accepts_packed_b(&self, index: usize) -> bool {
        index == 1
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        let plan = self.plan(inputs)?;
        let mut shape = broadcast_shapes(plan.a_batch, plan.b_batch)?;
        let (a, b) = (f32_info(inputs, 0)?.shape, weight_info(inputs, 1)?.shape);
        if a.len() > 1 {
            shape.push(plan.m);
        }
        if b.len() > 1 {
            shape.push(plan.n);
        }
        Ok(vec![OutputSpec::new(
            DType::F32,
            checked_shape(shape, DType::F32.size())?,
        )])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let infos = infos_of::<2>(inputs, "2")?;
        let plan = self.plan(&infos[..inputs.len()])?;
        check_output_count(outputs.len(), 1, "MatMul")?;
        let a = f32_input(inputs, 0)?;
        let (m, k, n) = (plan.m, plan.k, plan.n);
        let mn = checked_mul(m, n)?;
        let y = output_slice::<f32>(&mut outputs[0], 0, checked_mul(plan.batch, mn)?)?;
        if y.is_empty() {
            return Ok(());
        }
        let (mk, kn) = (m * k, k * n);
        if checked_product(plan.b_batch)? == 1 {
            // B is one matrix: stack all of A's matrices into one tall GEMM.
            let rows = plan.batch * m;
            let a = MatRef::row_major(a, rows, k)?;
            let b_view = super::packed::input_view(inputs, 1)?;
            let b = super::packed::b_operand(ctx, b_view, 1, (k, n), false)?;
            let c = MatMut::row_major(y, rows, n)?;
            b.run(ctx, a, c, &self.options(ctx))?;
            return Ok(());
        }
        let b = weight_input(inputs, 1)?;
        for (index, y_i) in y.chunks_exact_mut(mn).enumerate() {
            let (ai, bi) = batch_sources(index, plan.a_batch, plan.b_batch);
            let a_i = MatRef::row_major(&a[ai * mk..][..mk], m, k)?;
            let b_i = match b {
                Weight::F32(b) => GemmB::Strided(MatRef::row_major(&b[bi * kn..][..kn], k, n)?),
                Weight::F16(b) => GemmB::StridedF16(MatRef::row_major(&b[bi * kn..][..kn], k, n)?),
            };
            gemm_f32_with(
                ctx.isa,
                a_i,
                b_i,
                MatMut::row_major(y_i, m, n)?,
                &self.options(ctx),
            )?;
        }
        Ok(())
    }
}
