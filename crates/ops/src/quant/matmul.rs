//! `MatMulInteger` (i32 result) and `QLinearMatMul` (requantized result):
//! numpy-style batched products of u8/i8 tensors on the `qgemm` kernels.

use super::pack_cache::{ConstCache, DerivedKey, PackCache, PackKey};
use super::{output_quantization, zero_points};
use crate::data::common::{check_outputs, infos};
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{broadcast_shapes, broadcast_strides, check_input_count, optional, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::qgemm::{
    PackedI8B, QGemmKernel, QOutput, Requantize, U8Matrix, ZeroPoints, gemm_u8i8,
};
use pocketnn_tensor::{TensorView, TensorViewMut};
use std::borrow::Cow;
use std::sync::Arc;

/// The shapes of one batched product `A [..., m, k] · B [..., k, n]`.
#[derive(Clone, Debug)]
struct Plan {
    m: usize,
    k: usize,
    n: usize,
    /// Broadcast batch shape of the output.
    batch: Vec<usize>,
    /// Per-batch-axis strides (in matrices) of A and B, 0 where broadcast.
    a_strides: Vec<usize>,
    b_strides: Vec<usize>,
    /// True when B has no batch axes (one weight for every batch).
    b_shared: bool,
    out_shape: Vec<usize>,
}

fn shape_error(reason: String) -> OpError {
    OpError::ShapeMismatch { reason }
}

/// ONNX MatMul shape rules (1-D operands promoted, then removed).
fn plan(a: &[usize], b: &[usize]) -> OpResult<Plan> {
    let (m, k) = match a {
        [k] => (1, *k),
        [.., m, k] => (*m, *k),
        [] => return Err(shape_error("A must have rank 1 or more".into())),
    };
    let (kb, n) = match b {
        [k] => (*k, 1),
        [.., k, n] => (*k, *n),
        [] => return Err(shape_error("B must have rank 1 or more".into())),
    };
    if k != kb {
        return Err(shape_error(format!(
            "A {a:?} and B {b:?}: inner dimensions differ"
        )));
    }
    let a_batch = &a[..a.len().saturating_sub(2)];
    let b_batch = &b[..b.len().saturating_sub(2)];
    let batch = broadcast_shapes(a_batch, b_batch)?;
    let mut out_shape = batch.clone();
    if a.len() > 1 {
        out_shape.push(m);
    }
    if b.len() > 1 {
        out_shape.push(n);
    }
    let out_shape = crate::util::checked_shape(out_shape, 4)?;
    Ok(Plan {
        m,
        k,
        n,
        a_strides: broadcast_strides(a_batch, &batch),
        b_strides: broadcast_strides(b_batch, &batch),
        b_shared: b_batch.iter().product::<usize>() == 1,
        batch,
        out_shape,
    })
}

fn check_int8(info: InputInfo<'_>, index: usize) -> OpResult<()> {
    match info.dtype {
        DType::U8 | DType::I8 => Ok(()),
        dtype => Err(OpError::UnsupportedDType { index, dtype }),
    }
}

/// A's values as u8 (`a + 128` for i8) and its zero points shifted alike.
pub(super) fn activations_u8<'a>(
    a: TensorView<'a>,
    zeros: &[i32],
) -> OpResult<(Cow<'a, [u8]>, Vec<u8>)> {
    let (values, shift) = match a.dtype() {
        DType::U8 => (Cow::Borrowed(a.as_slice::<u8>()?), 0),
        _ => (
            Cow::Owned(
                a.as_slice::<i8>()?
                    .iter()
                    .map(|&v| v as u8 ^ 0x80)
                    .collect(),
            ),
            128,
        ),
    };
    let zeros = zeros
        .iter()
        .map(|&z| (z + shift).clamp(0, 255) as u8)
        .collect();
    Ok((values, zeros))
}

/// The weights operand `B` as the int8 GEMM reads it: i8 values (`b - 128`
/// for u8), zero points shifted alike, packed per kernel (kept in the
/// operator's [`PackCache`] when `B` is a model constant).
pub(super) struct WeightsI8<'w> {
    view: TensorView<'w>,
    /// The zero points, as i8.
    pub(super) zeros: Vec<i8>,
}

impl<'w> WeightsI8<'w> {
    /// `b` (i8 or u8) with its zero points (per tensor or per column).
    pub(super) fn new(b: TensorView<'w>, zeros: &[i32]) -> OpResult<Self> {
        let shift = if b.dtype() == DType::I8 { 0 } else { 128 };
        let zeros = zeros
            .iter()
            .map(|&z| (z - shift).clamp(-128, 127) as i8)
            .collect();
        Ok(WeightsI8 { view: b, zeros })
    }

    /// The values as they lie in memory, when they are i8 (not u8).
    pub(super) fn values_i8(&self) -> OpResult<&'w [i8]> {
        Ok(self.view.as_slice::<i8>()?)
    }

    /// The values `offset .. offset + k·n` as a `k × n` matrix with
    /// `strides` (row, column), packed for `kernel`; `part` names the slice
    /// in `cache`.
    pub(super) fn packed(
        &self,
        cache: &PackCache,
        kernel: &QGemmKernel,
        (part, offset): (usize, usize),
        (k, n): (usize, usize),
        strides: (usize, usize),
    ) -> OpResult<Arc<PackedI8B>> {
        cache.get_or_pack(PackKey::of(kernel, &self.view, part), || {
            let len = k * n;
            let pack = |values: &[i8]| -> OpResult<PackedI8B> {
                let values =
                    values
                        .get(offset..offset + len)
                        .ok_or_else(|| OpError::ShapeMismatch {
                            reason: "the weights are shorter than their shape".to_string(),
                        })?;
                Ok(PackedI8B::pack(kernel, values, (k, n), strides)?)
            };
            match self.view.dtype() {
                DType::I8 => pack(self.view.as_slice::<i8>()?),
                _ => {
                    let shifted: Vec<i8> = self
                        .view
                        .as_slice::<u8>()?
                        .iter()
                        .map(|&v| (v ^ 0x80) as i8)
                        .collect();
                    pack(&shifted)
                }
            }
        })
    }
}

/// Runs the product batch by batch: `product(first_row, a, a_zero, b,
/// b_zero)` computes output rows `first_row..first_row + a.rows()` (rows of
/// the output viewed as a `(batches · m) × n` matrix). With one B for every
/// batch, all batches run as one product with `batches · m` rows.
fn for_each_product(
    kernel: &QGemmKernel,
    plan: &Plan,
    (a, a_zero): (&[u8], &[u8]),
    (b, cache): (&WeightsI8<'_>, &PackCache),
    mut product: impl FnMut(usize, U8Matrix<'_>, ZeroPoints<'_>, &PackedI8B, &[i8]) -> OpResult<()>,
) -> OpResult<()> {
    let (m, k, n) = (plan.m, plan.k, plan.n);
    let batches: usize = plan.batch.iter().product();
    if plan.b_shared {
        // The output's batch shape is A's: A is one (batches · m) × k matrix.
        let rows = batches * m;
        let packed = b.packed(cache, kernel, (0, 0), (k, n), (n, 1))?;
        let zeros: Vec<u8>;
        let a_zero = match a_zero {
            [z] => ZeroPoints::PerTensor(*z),
            per_row => {
                zeros = per_row.repeat(batches);
                ZeroPoints::PerRow(&zeros)
            }
        };
        let a = U8Matrix::row_major(&a[..rows * k], rows, k)?;
        return product(0, a, a_zero, &packed, &b.zeros);
    }
    let a_zero = match a_zero {
        [z] => ZeroPoints::PerTensor(*z),
        per_row => ZeroPoints::PerRow(per_row),
    };
    for index in 0..batches {
        // Offsets (in matrices) of this batch in A and B.
        let (mut a_at, mut b_at, mut rest) = (0, 0, index);
        for axis in (0..plan.batch.len()).rev() {
            let i = rest % plan.batch[axis];
            rest /= plan.batch[axis];
            a_at += i * plan.a_strides[axis];
            b_at += i * plan.b_strides[axis];
        }
        let a_matrix = U8Matrix::row_major(&a[a_at * m * k..][..m * k], m, k)?;
        let packed = b.packed(cache, kernel, (b_at, b_at * k * n), (k, n), (n, 1))?;
        product(index * m, a_matrix, a_zero, &packed, &b.zeros)?;
    }
    Ok(())
}

/// ONNX `MatMulInteger`: `(A - a_zero_point) · (B - b_zero_point)` in i32;
/// zero points per tensor, or per row of A / per column of B.
#[derive(Debug, Default)]
pub(crate) struct MatMulInteger {
    packs: PackCache,
}

impl Operator for MatMulInteger {
    fn op(&self) -> OpCode {
        OpCode::MatMulInteger
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 2, 4, "2 to 4")?;
        let a = required(inputs, 0)?;
        let b = required(inputs, 1)?;
        check_int8(a, 0)?;
        check_int8(b, 1)?;
        for (index, of) in [(2, a), (3, b)] {
            if let Some(z) = optional(inputs, index)
                && z.dtype != of.dtype
            {
                return Err(OpError::DTypeMismatch {
                    index,
                    expected: of.dtype,
                    actual: z.dtype,
                });
            }
        }
        let plan = plan(a.shape, b.shape)?;
        Ok(vec![OutputSpec::new(DType::I32, plan.out_shape)])
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
        let (a, b) = (required(inputs, 0)?, required(inputs, 1)?);
        let plan = plan(a.shape(), b.shape())?;
        let a_zero = zero_points(optional(inputs, 2), Some(plan.m), 2)?;
        let b_zero = zero_points(optional(inputs, 3), Some(plan.n), 3)?;
        let (a, a_zero) = activations_u8(a, &a_zero)?;
        let b = WeightsI8::new(b, &b_zero)?;
        let kernel = QGemmKernel::best_for(ctx.isa);
        let c = out.as_slice_mut::<i32>()?;
        for_each_product(
            &kernel,
            &plan,
            (&a, &a_zero),
            (&b, &self.packs),
            |first_row, a, a_zero, packed, b_zero| {
                let c = &mut c[first_row * plan.n..][..a.rows() * plan.n];
                let out = QOutput::I32 {
                    c,
                    row_stride: plan.n,
                };
                Ok(gemm_u8i8(&kernel, a, a_zero, packed, b_zero, out)?)
            },
        )
    }
}

/// ONNX `QLinearMatMul`: the product of two quantized tensors, requantized
/// to the output's scale and zero point (u8 or i8, the zero point's type).
#[derive(Debug, Default)]
pub(crate) struct QLinearMatMul {
    packs: PackCache,
    /// The requantization, when the scales and zero points are model
    /// constants.
    requantizers: ConstCache<DerivedKey, Requantize>,
}

/// `a_scale · b_scale[j] / y_scale` as a requantization multiplier per output
/// column `j` (or one), with the output zero point and range (shifted by
/// 128 for an i8 output).
fn requantizer(
    inputs: &[Option<TensorView<'_>>],
    n: usize,
    out_dtype: DType,
) -> OpResult<Requantize> {
    let output = output_quantization(inputs, n, out_dtype)?;
    Ok(Requantize::new(
        output.multipliers,
        vec![],
        output.zero,
        output.range,
    )?)
}

impl Operator for QLinearMatMul {
    fn op(&self) -> OpCode {
        OpCode::QLinearMatMul
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 8, 8, "8")?;
        let a = required(inputs, 0)?;
        let b = required(inputs, 3)?;
        check_int8(a, 0)?;
        check_int8(b, 3)?;
        let y_zero = required(inputs, 7)?;
        check_int8(y_zero, 7)?;
        for (index, expected) in [(2, a.dtype), (5, b.dtype)] {
            let z = required(inputs, index)?;
            if z.dtype != expected {
                return Err(OpError::DTypeMismatch {
                    index,
                    expected,
                    actual: z.dtype,
                });
            }
        }
        let plan = plan(a.shape, b.shape)?;
        Ok(vec![OutputSpec::new(y_zero.dtype, plan.out_shape)])
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
        let (a, b) = (required(inputs, 0)?, required(inputs, 3)?);
        let plan = plan(a.shape(), b.shape())?;
        let a_zero = zero_points(optional(inputs, 2), None, 2)?;
        let b_zero = zero_points(optional(inputs, 5), Some(plan.n), 5)?;
        let signed_output = out.dtype() == DType::I8;
        let extra = ((plan.n as u64) << 8) | out.dtype() as u64;
        let key = DerivedKey::of(inputs, &[1, 4, 6, 7], extra);
        let requantize = self
            .requantizers
            .get_or_pack(key, || requantizer(inputs, plan.n, out.dtype()))?;
        let (a, a_zero) = activations_u8(a, &a_zero)?;
        let b = WeightsI8::new(b, &b_zero)?;
        let kernel = QGemmKernel::best_for(ctx.isa);
        let c = out.bytes_mut();
        for_each_product(
            &kernel,
            &plan,
            (&a, &a_zero),
            (&b, &self.packs),
            |first_row, a, a_zero, packed, b_zero| {
                let c = &mut c[first_row * plan.n..][..a.rows() * plan.n];
                gemm_u8i8(
                    &kernel,
                    a,
                    a_zero,
                    packed,
                    b_zero,
                    QOutput::U8 {
                        c: &mut *c,
                        row_stride: plan.n,
                        requantize: &requantize,
                    },
                )?;
                if signed_output {
                    c.iter_mut().for_each(|v| *v ^= 0x80);
                }
                Ok(())
            },
        )
    }
}
