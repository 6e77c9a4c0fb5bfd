//! `Gemm` (`Y = alpha·op(A)·op(B) + beta·C`) and `MatMul` (numpy-style
//! batched matrix product), both over the `f32-gemm` kernels.

use super::common::{
    check_output_count, checked_mul, checked_product, f32_info, f32_input, infos_of,
    optional_f32_info, optional_f32_input, output_slice, shape_error,
};
use crate::attrs::Attrs;
use crate::error::OpResult;
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{broadcast_shapes, check_input_count, checked_shape};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::gemm::{Accumulate, MatMut, MatRef, gemm_f32};
use pocketnn_tensor::{TensorView, TensorViewMut};

/// ONNX `Gemm` (opset 21): inputs `A`, `B`, optional `C`.
#[derive(Debug)]
pub(crate) struct Gemm {
    alpha: f32,
    beta: f32,
    trans_a: bool,
    trans_b: bool,
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
        })
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<GemmPlan> {
        check_input_count(inputs, 2, 3, "2 or 3")?;
        let a = f32_info(inputs, 0)?.shape;
        let b = f32_info(inputs, 1)?.shape;
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
        let b = f32_input(inputs, 1)?;
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
        let b = if self.trans_b {
            MatRef::row_major(b, n, k)?.t()
        } else {
            MatRef::row_major(b, k, n)?
        };
        let c = match (plan.c, optional_f32_input(inputs, 2)?) {
            (Some(dims), Some(values)) => Some((dims, values)),
            _ => None,
        };
        // The common Linear layer (alpha = 1): start from beta·C and
        // accumulate the product onto it.
        let accumulate = match c {
            Some(((rows, cols), values)) if self.alpha == 1.0 => {
                for (i, row) in y.chunks_exact_mut(n).enumerate() {
                    let c_row = &values[if rows == 1 { 0 } else { i * cols }..][..cols];
                    for (j, out) in row.iter_mut().enumerate() {
                        *out = self.beta * c_row[if cols == 1 { 0 } else { j }];
                    }
                }
                Accumulate::Yes
            }
            _ => Accumulate::No,
        };
        gemm_f32(ctx.isa, a, b, MatMut::row_major(y, m, n)?, accumulate)?;
        if accumulate == Accumulate::No {
            match c {
                Some(((rows, cols), values)) => {
                    for (i, row) in y.chunks_exact_mut(n).enumerate() {
                        let c_row = &values[if rows == 1 { 0 } else { i * cols }..][..cols];
                        for (j, out) in row.iter_mut().enumerate() {
                            *out = self.alpha * *out
                                + self.beta * c_row[if cols == 1 { 0 } else { j }];
                        }
                    }
                }
                None if self.alpha != 1.0 => y.iter_mut().for_each(|v| *v *= self.alpha),
                None => {}
            }
        }
        Ok(())
    }
}

/// ONNX `MatMul` (opset 21): numpy `matmul` semantics.
#[derive(Debug)]
pub(crate) struct MatMul;

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
    fn plan<'s>(&self, inputs: &[Option<InputInfo<'s>>]) -> OpResult<MatMulPlan<'s>> {
        check_input_count(inputs, 2, 2, "2")?;
        let a = f32_info(inputs, 0)?.shape;
        let b = f32_info(inputs, 1)?.shape;
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

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        let plan = self.plan(inputs)?;
        let mut shape = broadcast_shapes(plan.a_batch, plan.b_batch)?;
        let (a, b) = (f32_info(inputs, 0)?.shape, f32_info(inputs, 1)?.shape);
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
        let b = f32_input(inputs, 1)?;
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
            let b = MatRef::row_major(b, k, n)?;
            gemm_f32(
                ctx.isa,
                a,
                b,
                MatMut::row_major(y, rows, n)?,
                Accumulate::No,
            )?;
            return Ok(());
        }
        for (index, y_i) in y.chunks_exact_mut(mn).enumerate() {
            let (ai, bi) = batch_sources(index, plan.a_batch, plan.b_batch);
            let a_i = MatRef::row_major(&a[ai * mk..][..mk], m, k)?;
            let b_i = MatRef::row_major(&b[bi * kn..][..kn], k, n)?;
            gemm_f32(
                ctx.isa,
                a_i,
                b_i,
                MatMut::row_major(y_i, m, n)?,
                Accumulate::No,
            )?;
        }
        Ok(())
    }
}
