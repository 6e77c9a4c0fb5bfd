//! Binary arithmetic with numpy broadcasting: `Add`, `Sub`, `Mul`, `Div`,
//! `Mod`, `Pow` and `PRelu`.

use super::broadcast::{Broadcast, binary};
use super::numeric::Numeric;
use super::{NUMERIC, boxed, check_dtype, check_same_dtype, first_output};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{broadcast_shapes, check_input_count, checked_shape, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{TensorView, TensorViewMut, f16};

/// Builds the binary arithmetic operators.
pub(super) fn build(op: OpCode, attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    let kind = match op {
        OpCode::Add => Arith::Add,
        OpCode::Sub => Arith::Sub,
        OpCode::Mul => Arith::Mul,
        OpCode::Div => Arith::Div,
        OpCode::Mod => match attrs.int("fmod", 0) {
            Ok(0) => Arith::Mod { fmod: false },
            Ok(1) => Arith::Mod { fmod: true },
            Ok(v) => {
                return Some(Err(
                    attrs.invalid("fmod", format!("expected 0 or 1, got {v}"))
                ));
            }
            Err(e) => return Some(Err(e)),
        },
        OpCode::Pow => return boxed(Ok(Pow)),
        OpCode::PRelu => return boxed(Ok(PRelu)),
        _ => return None,
    };
    boxed(Ok(Binary { op, kind }))
}

/// What a [`Binary`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    /// `fmod`: the remainder takes the sign of the dividend (C `fmod`);
    /// otherwise the sign of the divisor (Python / numpy `mod`).
    Mod {
        fmod: bool,
    },
}

/// The broadcast output shape of two inputs, checked for size.
fn broadcast_output(a: &[usize], b: &[usize], dtype: DType) -> OpResult<Vec<usize>> {
    checked_shape(broadcast_shapes(a, b)?, dtype.size())
}

/// Infers an operator taking two inputs of one numeric dtype.
fn infer_same_dtype(
    inputs: &[Option<InputInfo<'_>>],
    allowed: &[DType],
) -> OpResult<(DType, Vec<usize>)> {
    check_input_count(inputs, 2, 2, "2")?;
    let (a, b) = (required(inputs, 0)?, required(inputs, 1)?);
    check_dtype(0, a.dtype, allowed)?;
    check_same_dtype(1, b.dtype, a.dtype)?;
    Ok((a.dtype, broadcast_output(a.shape, b.shape, a.dtype)?))
}

/// `Add`, `Sub`, `Mul`, `Div`, `Mod` on two tensors of one numeric dtype.
#[derive(Debug)]
pub(super) struct Binary {
    op: OpCode,
    kind: Arith,
}

impl Operator for Binary {
    fn op(&self) -> OpCode {
        self.op
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        let (dtype, shape) = infer_same_dtype(inputs, NUMERIC)?;
        Ok(vec![OutputSpec::new(dtype, shape)])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let (a, b) = (required(inputs, 0)?, required(inputs, 1)?);
        check_same_dtype(1, b.dtype(), a.dtype())?;
        let out = first_output(outputs)?;
        let threads = ctx.threads;
        match a.dtype() {
            DType::F32 => arith_f32(self.kind, threads, a, b, out),
            DType::F16 => arith::<f16>(self.kind, threads, a, b, out),
            DType::I8 => arith::<i8>(self.kind, threads, a, b, out),
            DType::U8 => arith::<u8>(self.kind, threads, a, b, out),
            DType::I32 => arith::<i32>(self.kind, threads, a, b, out),
            DType::I64 => arith::<i64>(self.kind, threads, a, b, out),
            dtype => Err(OpError::UnsupportedDType { index: 0, dtype }),
        }
    }
}

impl Arith {
    /// `x kind y` (the operation chosen per element: see [`arith`]).
    #[inline(always)]
    fn apply<T: Numeric>(self, x: T, y: T) -> T {
        match self {
            Arith::Add => x.add(y),
            Arith::Sub => x.sub(y),
            Arith::Mul => x.mul(y),
            Arith::Div => x.div(y),
            Arith::Mod { fmod: true } => x.rem_trunc(y),
            Arith::Mod { fmod: false } => x.rem_floor(y),
        }
    }
}

/// The arithmetic of the element types models rarely compute in (f16 and
/// the integers, mostly small shape tensors): one loop per type that picks
/// the operation per element. Compiling a loop per operation and type
/// would add ~25 copies of the broadcast loops to the phone library
/// (BENCHMARKS.md, "Binary size").
fn arith<T: Numeric>(
    kind: Arith,
    threads: usize,
    a: TensorView<'_>,
    b: TensorView<'_>,
    out: &mut TensorViewMut<'_>,
) -> OpResult<()> {
    let plan = Broadcast::new(out.shape(), [a.shape(), b.shape()])?;
    let (a, b, out) = (
        a.as_slice::<T>()?,
        b.as_slice::<T>()?,
        out.as_slice_mut::<T>()?,
    );
    binary(&plan, threads, a, b, out, move |x, y| kind.apply(x, y))
}

/// f32 arithmetic, the hot case: one vectorised loop per operation.
fn arith_f32(
    kind: Arith,
    threads: usize,
    a: TensorView<'_>,
    b: TensorView<'_>,
    out: &mut TensorViewMut<'_>,
) -> OpResult<()> {
    let plan = Broadcast::new(out.shape(), [a.shape(), b.shape()])?;
    let (a, b, out) = (
        a.as_slice::<f32>()?,
        b.as_slice::<f32>()?,
        out.as_slice_mut::<f32>()?,
    );
    match kind {
        Arith::Add => binary(&plan, threads, a, b, out, <f32 as Numeric>::add),
        Arith::Sub => binary(&plan, threads, a, b, out, <f32 as Numeric>::sub),
        Arith::Mul => binary(&plan, threads, a, b, out, <f32 as Numeric>::mul),
        Arith::Div => binary(&plan, threads, a, b, out, <f32 as Numeric>::div),
        Arith::Mod { fmod: true } => binary(&plan, threads, a, b, out, <f32 as Numeric>::rem_trunc),
        Arith::Mod { fmod: false } => {
            binary(&plan, threads, a, b, out, <f32 as Numeric>::rem_floor)
        }
    }
}

/// Base dtypes of `Pow` (ONNX: int32, int64 and floats).
const POW_BASES: &[DType] = &[DType::F32, DType::F16, DType::I32, DType::I64];

/// `Pow(X, Y)`: `X^Y` with broadcasting; the exponent may have any numeric
/// dtype, the output has the base's.
#[derive(Debug)]
pub(super) struct Pow;

impl Operator for Pow {
    fn op(&self) -> OpCode {
        OpCode::Pow
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 2, 2, "2")?;
        let (a, b) = (required(inputs, 0)?, required(inputs, 1)?);
        check_dtype(0, a.dtype, POW_BASES)?;
        check_dtype(1, b.dtype, NUMERIC)?;
        Ok(vec![OutputSpec::new(
            a.dtype,
            broadcast_output(a.shape, b.shape, a.dtype)?,
        )])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let (a, b) = (required(inputs, 0)?, required(inputs, 1)?);
        let out = first_output(outputs)?;
        let threads = ctx.threads;
        match a.dtype() {
            DType::F32 => pow_base::<f32>(threads, a, b, out),
            DType::F16 => pow_base::<f16>(threads, a, b, out),
            DType::I32 => pow_base::<i32>(threads, a, b, out),
            DType::I64 => pow_base::<i64>(threads, a, b, out),
            dtype => Err(OpError::UnsupportedDType { index: 0, dtype }),
        }
    }
}

/// `Pow` for base type `T`. The exponent is first read into the one type
/// [`Numeric::pow`] computes with (f32 for a float base; for an integer base
/// f32 for a float exponent, exactly, and i64 for an integer one), so the
/// broadcast loop exists once per base, not once per base and exponent type.
fn pow_base<T: Numeric>(
    threads: usize,
    a: TensorView<'_>,
    b: TensorView<'_>,
    out: &mut TensorViewMut<'_>,
) -> OpResult<()> {
    check_dtype(1, b.dtype(), NUMERIC)?;
    let exponent_is_float = matches!(b.dtype(), DType::F32 | DType::F16);
    if T::IS_FLOAT || exponent_is_float {
        pow_typed::<T, f32>(threads, a, b.shape(), &b.to_f32_vec()?, out)
    } else {
        pow_typed::<T, i64>(threads, a, b.shape(), &b.to_i64_vec()?, out)
    }
}

fn pow_typed<T: Numeric, E: Numeric>(
    threads: usize,
    a: TensorView<'_>,
    exponent_shape: &[usize],
    exponent: &[E],
    out: &mut TensorViewMut<'_>,
) -> OpResult<()> {
    let plan = Broadcast::new(out.shape(), [a.shape(), exponent_shape])?;
    let (a, out) = (a.as_slice::<T>()?, out.as_slice_mut::<T>()?);
    binary(&plan, threads, a, exponent, out, T::pow::<E>)
}

/// Dtypes of `PRelu` (ONNX opset 16: floats, int32, int64, uint32, uint64).
const PRELU_DTYPES: &[DType] = &[DType::F32, DType::F16, DType::I32, DType::I64];

/// `PRelu(X, slope)`: `x < 0 ? slope·x : x`, with `slope` broadcast to the
/// shape of `X` (unidirectionally).
#[derive(Debug)]
pub(super) struct PRelu;

impl Operator for PRelu {
    fn op(&self) -> OpCode {
        OpCode::PRelu
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        let (dtype, shape) = infer_same_dtype(inputs, PRELU_DTYPES)?;
        let x = required(inputs, 0)?;
        if shape != x.shape {
            return Err(OpError::ShapeMismatch {
                reason: format!(
                    "PRelu slope {:?} does not broadcast to the input {:?}",
                    required(inputs, 1)?.shape,
                    x.shape
                ),
            });
        }
        Ok(vec![OutputSpec::new(dtype, shape)])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let (x, slope) = (required(inputs, 0)?, required(inputs, 1)?);
        check_same_dtype(1, slope.dtype(), x.dtype())?;
        let out = first_output(outputs)?;
        let threads = ctx.threads;
        match x.dtype() {
            DType::F32 => prelu::<f32>(threads, x, slope, out),
            DType::F16 => prelu::<f16>(threads, x, slope, out),
            DType::I32 => prelu::<i32>(threads, x, slope, out),
            DType::I64 => prelu::<i64>(threads, x, slope, out),
            dtype => Err(OpError::UnsupportedDType { index: 0, dtype }),
        }
    }
}

fn prelu<T: Numeric>(
    threads: usize,
    x: TensorView<'_>,
    slope: TensorView<'_>,
    out: &mut TensorViewMut<'_>,
) -> OpResult<()> {
    let plan = Broadcast::new(x.shape(), [x.shape(), slope.shape()])?;
    let (x, slope, out) = (
        x.as_slice::<T>()?,
        slope.as_slice::<T>()?,
        out.as_slice_mut::<T>()?,
    );
    binary(&plan, threads, x, slope, out, |v, s| {
        if v < T::ZERO { s.mul(v) } else { v }
    })
}
