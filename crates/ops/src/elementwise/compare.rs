//! Comparisons and logic with broadcasting (bool outputs), and `Where`.

use super::broadcast::{Broadcast, binary, broadcast_all, map_chunks, ternary};
use super::numeric::Numeric;
use super::{NUMERIC, boxed, check_dtype, check_same_dtype, first_output};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{TensorView, TensorViewMut, f16};

/// Builds the comparison and logic operators and `Where`.
pub(super) fn build(op: OpCode, _attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    let compare = |kind| boxed(Ok(Compare { op, kind }));
    let logic = |kind| boxed(Ok(Logic { op, kind }));
    match op {
        OpCode::Equal => compare(Comparison::Equal),
        OpCode::Less => compare(Comparison::Less),
        OpCode::Greater => compare(Comparison::Greater),
        OpCode::LessOrEqual => compare(Comparison::LessOrEqual),
        OpCode::GreaterOrEqual => compare(Comparison::GreaterOrEqual),
        OpCode::And => logic(Connective::And),
        OpCode::Or => logic(Connective::Or),
        OpCode::Xor => logic(Connective::Xor),
        OpCode::Not => boxed(Ok(Not)),
        OpCode::Where => boxed(Ok(Where)),
        _ => None,
    }
}

/// A comparison; IEEE semantics for floats (NaN compares unequal and
/// unordered, `-0.0 == 0.0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Comparison {
    Equal,
    Less,
    Greater,
    LessOrEqual,
    GreaterOrEqual,
}

/// Dtypes `Equal` accepts (the ordering comparisons take [`NUMERIC`]).
const EQUAL_DTYPES: &[DType] = &[
    DType::F32,
    DType::F16,
    DType::I8,
    DType::U8,
    DType::I32,
    DType::I64,
    DType::Bool,
];

/// Infers a broadcasting operator of two inputs of one dtype with a bool
/// output.
fn infer_bool_output(
    inputs: &[Option<InputInfo<'_>>],
    allowed: &[DType],
) -> OpResult<Vec<OutputSpec>> {
    check_input_count(inputs, 2, 2, "2")?;
    let (a, b) = (required(inputs, 0)?, required(inputs, 1)?);
    check_dtype(0, a.dtype, allowed)?;
    check_same_dtype(1, b.dtype, a.dtype)?;
    let shape = checked_shape(broadcast_all([a.shape, b.shape])?, 1)?;
    Ok(vec![OutputSpec::new(DType::Bool, shape)])
}

/// `Equal`, `Less`, `Greater`, `LessOrEqual`, `GreaterOrEqual`.
#[derive(Debug)]
pub(super) struct Compare {
    op: OpCode,
    kind: Comparison,
}

impl Compare {
    fn dtypes(&self) -> &'static [DType] {
        if self.kind == Comparison::Equal {
            EQUAL_DTYPES
        } else {
            NUMERIC
        }
    }
}

impl Operator for Compare {
    fn op(&self) -> OpCode {
        self.op
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        infer_bool_output(inputs, self.dtypes())
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let (a, b) = (required(inputs, 0)?, required(inputs, 1)?);
        check_dtype(0, a.dtype(), self.dtypes())?;
        check_same_dtype(1, b.dtype(), a.dtype())?;
        let out = first_output(outputs)?;
        let (kind, threads) = (self.kind, ctx.threads);
        match a.dtype() {
            DType::F32 => compare::<f32>(kind, threads, a, b, out),
            DType::F16 => compare::<f16>(kind, threads, a, b, out),
            DType::I8 => compare::<i8>(kind, threads, a, b, out),
            DType::U8 => compare::<u8>(kind, threads, a, b, out),
            DType::I32 => compare::<i32>(kind, threads, a, b, out),
            DType::I64 => compare::<i64>(kind, threads, a, b, out),
            DType::Bool => {
                // Any nonzero byte is true.
                let plan = Broadcast::new(out.shape(), [a.shape(), b.shape()])?;
                let (a, b) = (a.as_slice::<u8>()?, b.as_slice::<u8>()?);
                binary(&plan, threads, a, b, out.as_slice_mut::<u8>()?, |x, y| {
                    u8::from((x != 0) == (y != 0))
                })
            }
        }
    }
}

fn compare<T: Numeric>(
    kind: Comparison,
    threads: usize,
    a: TensorView<'_>,
    b: TensorView<'_>,
    out: &mut TensorViewMut<'_>,
) -> OpResult<()> {
    let plan = Broadcast::new(out.shape(), [a.shape(), b.shape()])?;
    let (a, b, out) = (
        a.as_slice::<T>()?,
        b.as_slice::<T>()?,
        out.as_slice_mut::<u8>()?,
    );
    // One loop per type choosing the comparison per element: comparisons
    // are rarely hot, and a loop per comparison and type would add ~25
    // copies of the broadcast loops to the phone library.
    binary(&plan, threads, a, b, out, move |x, y| {
        u8::from(match kind {
            Comparison::Equal => x == y,
            Comparison::Less => x < y,
            Comparison::Greater => x > y,
            Comparison::LessOrEqual => x <= y,
            Comparison::GreaterOrEqual => x >= y,
        })
    })
}

/// A logical connective on bools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Connective {
    And,
    Or,
    Xor,
}

/// `And`, `Or`, `Xor` on two bool tensors, broadcasting.
#[derive(Debug)]
pub(super) struct Logic {
    op: OpCode,
    kind: Connective,
}

impl Operator for Logic {
    fn op(&self) -> OpCode {
        self.op
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        infer_bool_output(inputs, &[DType::Bool])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let (a, b) = (required(inputs, 0)?, required(inputs, 1)?);
        check_dtype(0, a.dtype(), &[DType::Bool])?;
        check_same_dtype(1, b.dtype(), DType::Bool)?;
        let out = first_output(outputs)?;
        let plan = Broadcast::new(out.shape(), [a.shape(), b.shape()])?;
        let (a, b) = (a.as_slice::<u8>()?, b.as_slice::<u8>()?);
        let out = out.as_slice_mut::<u8>()?;
        let threads = ctx.threads;
        match self.kind {
            Connective::And => binary(&plan, threads, a, b, out, |x, y| u8::from(x != 0 && y != 0)),
            Connective::Or => binary(&plan, threads, a, b, out, |x, y| u8::from(x != 0 || y != 0)),
            Connective::Xor => binary(&plan, threads, a, b, out, |x, y| {
                u8::from((x != 0) != (y != 0))
            }),
        }
    }
}

/// `Not` on a bool tensor.
#[derive(Debug)]
pub(super) struct Not;

impl Operator for Not {
    fn op(&self) -> OpCode {
        OpCode::Not
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 1, 1, "1")?;
        let x = required(inputs, 0)?;
        check_dtype(0, x.dtype, &[DType::Bool])?;
        Ok(vec![OutputSpec::new(DType::Bool, x.shape.to_vec())])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let x = required(inputs, 0)?;
        check_dtype(0, x.dtype(), &[DType::Bool])?;
        let out = first_output(outputs)?;
        map_chunks(
            ctx.threads,
            x.as_slice::<u8>()?,
            out.as_slice_mut::<u8>()?,
            |x, y| {
                for (o, &v) in y.iter_mut().zip(x) {
                    *o = u8::from(v == 0);
                }
            },
        )
    }
}

/// `Where(condition, X, Y)`: `condition ? x : y` with three-way
/// broadcasting; `X` and `Y` share any dtype, which the output has.
#[derive(Debug)]
pub(super) struct Where;

impl Operator for Where {
    fn op(&self) -> OpCode {
        OpCode::Where
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 3, 3, "3")?;
        let (c, x, y) = (
            required(inputs, 0)?,
            required(inputs, 1)?,
            required(inputs, 2)?,
        );
        check_dtype(0, c.dtype, &[DType::Bool])?;
        check_same_dtype(2, y.dtype, x.dtype)?;
        let shape = checked_shape(broadcast_all([c.shape, x.shape, y.shape])?, x.dtype.size())?;
        Ok(vec![OutputSpec::new(x.dtype, shape)])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let (c, x, y) = (
            required(inputs, 0)?,
            required(inputs, 1)?,
            required(inputs, 2)?,
        );
        check_dtype(0, c.dtype(), &[DType::Bool])?;
        check_same_dtype(2, y.dtype(), x.dtype())?;
        let out = first_output(outputs)?;
        check_same_dtype(1, x.dtype(), out.dtype())?;
        let plan = Broadcast::new(out.shape(), [c.shape(), x.shape(), y.shape()])?;
        // Selecting moves whole elements: only their size matters.
        match x.dtype().size() {
            1 => select::<u8>(&plan, ctx.threads, c, x, y, out),
            2 => select::<u16>(&plan, ctx.threads, c, x, y, out),
            4 => select::<u32>(&plan, ctx.threads, c, x, y, out),
            8 => select::<u64>(&plan, ctx.threads, c, x, y, out),
            _ => Err(OpError::UnsupportedDType {
                index: 1,
                dtype: x.dtype(),
            }),
        }
    }
}

/// `Where` over elements viewed as unsigned integers of their size.
fn select<T: bytemuck::Pod + Send + Sync>(
    plan: &Broadcast<3>,
    threads: usize,
    c: TensorView<'_>,
    x: TensorView<'_>,
    y: TensorView<'_>,
    out: &mut TensorViewMut<'_>,
) -> OpResult<()> {
    let misaligned = || {
        OpError::Tensor(pocketnn_tensor::TensorError::Misaligned {
            align: std::mem::align_of::<T>(),
        })
    };
    let c = c.as_slice::<u8>()?;
    let x: &[T] = bytemuck::try_cast_slice(x.bytes()).map_err(|_| misaligned())?;
    let y: &[T] = bytemuck::try_cast_slice(y.bytes()).map_err(|_| misaligned())?;
    let out: &mut [T] = bytemuck::try_cast_slice_mut(out.bytes_mut()).map_err(|_| misaligned())?;
    ternary(
        plan,
        threads,
        (c, x, y),
        out,
        |c, x, y| if c != 0 { x } else { y },
    )
}
