//! Unary elementwise operators (activations and math functions) and
//! `Identity`.
//!
//! Float operators compute in f32; f16 tensors are converted in small
//! blocks, run through the same f32 kernel and rounded back. The
//! activations, `Exp` and `Erf` run the vector kernels of
//! `pocketnn_tensor::kernels::activation` on the session's ISA tier (within
//! a few ulp of the exact function); the rest are plain loops.

use super::broadcast::map_chunks;
use super::numeric::{Numeric, sign};
use super::{FLOATS, boxed, check_dtype, first_output, length_mismatch, math};
use crate::attrs::Attrs;
use crate::error::OpResult;
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::activation::{self, Activation};
use pocketnn_tensor::{Isa, TensorView, TensorViewMut, f16};

/// Builds the unary operators and `Identity`.
pub(super) fn build(op: OpCode, attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    if op == OpCode::Identity {
        return boxed(Ok(Identity));
    }
    let kind = match op {
        OpCode::Sqrt => Ok(UnaryKind::Sqrt),
        OpCode::Relu => Ok(UnaryKind::Relu),
        OpCode::LeakyRelu => attrs
            .float("alpha", 0.01)
            .map(|alpha| UnaryKind::LeakyRelu { alpha }),
        OpCode::Sigmoid => Ok(UnaryKind::Sigmoid),
        OpCode::Tanh => Ok(UnaryKind::Tanh),
        OpCode::HardSigmoid => (|| {
            Ok(UnaryKind::HardSigmoid {
                alpha: attrs.float("alpha", 0.2)?,
                beta: attrs.float("beta", 0.5)?,
            })
        })(),
        OpCode::HardSwish => Ok(UnaryKind::HardSwish),
        OpCode::Erf => Ok(UnaryKind::Erf),
        OpCode::Gelu => match attrs.string("approximate", "none") {
            Ok("none") => Ok(UnaryKind::Gelu { tanh: false }),
            Ok("tanh") => Ok(UnaryKind::Gelu { tanh: true }),
            Ok(other) => Err(attrs.invalid(
                "approximate",
                format!("expected \"none\" or \"tanh\", got {other:?}"),
            )),
            Err(e) => Err(e),
        },
        OpCode::Softplus => Ok(UnaryKind::Softplus),
        OpCode::Exp => Ok(UnaryKind::Exp),
        OpCode::Log => Ok(UnaryKind::Log),
        OpCode::Neg => Ok(UnaryKind::Neg),
        OpCode::Abs => Ok(UnaryKind::Abs),
        OpCode::Reciprocal => Ok(UnaryKind::Reciprocal),
        OpCode::Floor => Ok(UnaryKind::Floor),
        OpCode::Ceil => Ok(UnaryKind::Ceil),
        OpCode::Round => Ok(UnaryKind::Round),
        OpCode::Sign => Ok(UnaryKind::Sign),
        OpCode::Sin => Ok(UnaryKind::Sin),
        OpCode::Cos => Ok(UnaryKind::Cos),
        OpCode::Elu => attrs
            .float("alpha", 1.0)
            .map(|alpha| UnaryKind::Elu { alpha }),
        OpCode::Selu => (|| {
            Ok(UnaryKind::Selu {
                alpha: attrs.float("alpha", 1.673_263_2)?,
                gamma: attrs.float("gamma", 1.050_701)?,
            })
        })(),
        OpCode::Softsign => Ok(UnaryKind::Softsign),
        OpCode::Silu => Ok(UnaryKind::Silu),
        OpCode::Mish => Ok(UnaryKind::Mish),
        _ => return None,
    };
    boxed(kind.map(|kind| Unary { op, kind }))
}

/// Which function a [`Unary`] applies, with its attributes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum UnaryKind {
    Sqrt,
    Relu,
    LeakyRelu { alpha: f32 },
    Sigmoid,
    Tanh,
    HardSigmoid { alpha: f32, beta: f32 },
    HardSwish,
    Erf,
    Gelu { tanh: bool },
    Softplus,
    Exp,
    Log,
    Neg,
    Abs,
    Reciprocal,
    Floor,
    Ceil,
    Round,
    Sign,
    Sin,
    Cos,
    Elu { alpha: f32 },
    Selu { alpha: f32, gamma: f32 },
    Softsign,
    Silu,
    Mish,
}

impl UnaryKind {
    /// The dtypes the operator accepts (ONNX opset 21, restricted to
    /// pocketnn's dtypes).
    fn dtypes(self) -> &'static [DType] {
        const SIGNED: &[DType] = &[DType::F32, DType::F16, DType::I8, DType::I32, DType::I64];
        const NUMERIC: &[DType] = super::NUMERIC;
        match self {
            UnaryKind::Relu | UnaryKind::Neg => SIGNED,
            UnaryKind::Abs | UnaryKind::Sign => NUMERIC,
            _ => FLOATS,
        }
    }
}

/// A unary elementwise operator: same dtype and shape out as in.
#[derive(Debug)]
pub(super) struct Unary {
    op: OpCode,
    kind: UnaryKind,
}

impl Operator for Unary {
    fn op(&self) -> OpCode {
        self.op
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 1, 1, "1")?;
        let x = required(inputs, 0)?;
        check_dtype(0, x.dtype, self.kind.dtypes())?;
        Ok(vec![OutputSpec::new(x.dtype, x.shape.to_vec())])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let x = required(inputs, 0)?;
        check_dtype(0, x.dtype(), self.kind.dtypes())?;
        let out = first_output(outputs)?;
        let (kind, threads, isa) = (self.kind, ctx.threads, ctx.isa);
        match x.dtype() {
            DType::F32 => map_chunks(
                threads,
                x.as_slice::<f32>()?,
                out.as_slice_mut()?,
                |x, y| apply_f32(isa, kind, x, y),
            ),
            DType::F16 => map_chunks(
                threads,
                x.as_slice::<f16>()?,
                out.as_slice_mut()?,
                |x, y| apply_f16(isa, kind, x, y),
            ),
            DType::I8 => apply_int::<i8>(kind, threads, x, out),
            DType::U8 => apply_int::<u8>(kind, threads, x, out),
            DType::I32 => apply_int::<i32>(kind, threads, x, out),
            DType::I64 => apply_int::<i64>(kind, threads, x, out),
            dtype => Err(crate::OpError::UnsupportedDType { index: 0, dtype }),
        }
    }
}

/// `y[i] = f(x[i])`; a plain loop the compiler can vectorise.
#[inline(always)]
fn map<A: Copy, O>(x: &[A], y: &mut [O], f: impl Fn(A) -> O) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = f(v);
    }
}

/// A function with a vector kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
enum VectorKernel {
    Activation(Activation),
    Exp,
    Erf,
}

impl UnaryKind {
    /// The vector kernel computing this function, if there is one.
    fn vector_kernel(self) -> Option<VectorKernel> {
        let activation = match self {
            UnaryKind::Exp => return Some(VectorKernel::Exp),
            UnaryKind::Erf => return Some(VectorKernel::Erf),
            UnaryKind::Relu => Activation::Relu,
            UnaryKind::LeakyRelu { alpha } => Activation::LeakyRelu { alpha },
            UnaryKind::Sigmoid => Activation::Sigmoid,
            UnaryKind::Tanh => Activation::Tanh,
            UnaryKind::HardSigmoid { alpha, beta } => Activation::HardSigmoid { alpha, beta },
            UnaryKind::HardSwish => Activation::HardSwish,
            UnaryKind::Gelu { tanh: false } => Activation::Gelu,
            UnaryKind::Gelu { tanh: true } => Activation::GeluTanh,
            UnaryKind::Silu => Activation::Silu,
            _ => return None,
        };
        Some(VectorKernel::Activation(activation))
    }
}

/// `y = f(x)` with the vector kernel of tier `isa`; false when the kernel
/// could not run (a tier this CPU lacks), leaving `y` to the scalar loop.
fn run_vector_kernel(isa: Isa, kernel: VectorKernel, x: &[f32], y: &mut [f32]) -> bool {
    let result = match kernel {
        VectorKernel::Activation(a) => activation::apply_to(isa, a, x, y),
        VectorKernel::Exp => activation::exp(isa, x, y),
        VectorKernel::Erf => activation::erf(isa, x, y),
    };
    result.is_ok()
}

/// The f32 kernel of every unary operator: the vector kernel of tier `isa`
/// when the function has one, else a scalar loop.
fn apply_f32(isa: Isa, kind: UnaryKind, x: &[f32], y: &mut [f32]) {
    if let Some(kernel) = kind.vector_kernel()
        && run_vector_kernel(isa, kernel, x, y)
    {
        return;
    }
    match kind {
        UnaryKind::Sqrt => map(x, y, f32::sqrt),
        UnaryKind::Relu => map(x, y, |v| if v < 0.0 { 0.0 } else { v }),
        UnaryKind::LeakyRelu { alpha } => map(x, y, |v| if v < 0.0 { alpha * v } else { v }),
        UnaryKind::Sigmoid => map(x, y, math::sigmoid),
        UnaryKind::Tanh => map(x, y, f32::tanh),
        UnaryKind::HardSigmoid { alpha, beta } => map(x, y, |v| math::hard_sigmoid(v, alpha, beta)),
        UnaryKind::HardSwish => map(x, y, |v| v * math::hard_sigmoid(v, 1.0 / 6.0, 0.5)),
        UnaryKind::Erf => map(x, y, math::erf),
        UnaryKind::Gelu { tanh: false } => map(x, y, math::gelu),
        UnaryKind::Gelu { tanh: true } => map(x, y, math::gelu_tanh),
        UnaryKind::Softplus => map(x, y, math::softplus),
        UnaryKind::Exp => map(x, y, f32::exp),
        UnaryKind::Log => map(x, y, f32::ln),
        UnaryKind::Neg => map(x, y, |v| -v),
        UnaryKind::Abs => map(x, y, f32::abs),
        UnaryKind::Reciprocal => map(x, y, |v| 1.0 / v),
        UnaryKind::Floor => map(x, y, f32::floor),
        UnaryKind::Ceil => map(x, y, f32::ceil),
        UnaryKind::Round => map(x, y, f32::round_ties_even),
        UnaryKind::Sign => map(x, y, sign),
        UnaryKind::Sin => map(x, y, f32::sin),
        UnaryKind::Cos => map(x, y, f32::cos),
        UnaryKind::Elu { alpha } => map(x, y, |v| if v < 0.0 { alpha * v.exp_m1() } else { v }),
        UnaryKind::Selu { alpha, gamma } => map(x, y, |v| {
            if v > 0.0 {
                gamma * v
            } else {
                gamma * alpha * v.exp_m1()
            }
        }),
        UnaryKind::Softsign => map(x, y, |v| v / (1.0 + v.abs())),
        UnaryKind::Silu => map(x, y, |v| v * math::sigmoid(v)),
        UnaryKind::Mish => map(x, y, |v| v * math::softplus(v).tanh()),
    }
}

/// The f16 kernel: blocks converted to f32, [`apply_f32`], rounded back.
fn apply_f16(isa: Isa, kind: UnaryKind, x: &[f16], y: &mut [f16]) {
    const BLOCK: usize = 256;
    let mut wide_in = [0.0f32; BLOCK];
    let mut wide_out = [0.0f32; BLOCK];
    for (x, y) in x.chunks(BLOCK).zip(y.chunks_mut(BLOCK)) {
        let (wide_in, wide_out) = (&mut wide_in[..x.len()], &mut wide_out[..x.len()]);
        map(x, wide_in, f16::to_f32);
        apply_f32(isa, kind, wide_in, wide_out);
        map(wide_out, y, f16::from_f32);
    }
}

/// The integer operators: `Relu`, `Neg`, `Abs`, `Sign` (wrapping: `-MIN`
/// and `|MIN|` are `MIN`).
fn apply_int<T: Numeric>(
    kind: UnaryKind,
    threads: usize,
    x: TensorView<'_>,
    out: &mut TensorViewMut<'_>,
) -> OpResult<()> {
    let (x, y) = (x.as_slice::<T>()?, out.as_slice_mut::<T>()?);
    match kind {
        UnaryKind::Relu => map_chunks(threads, x, y, |x, y| {
            map(x, y, |v| if v < T::ZERO { T::ZERO } else { v })
        }),
        UnaryKind::Neg => map_chunks(threads, x, y, |x, y| map(x, y, T::neg)),
        UnaryKind::Abs => map_chunks(threads, x, y, |x, y| map(x, y, T::abs)),
        UnaryKind::Sign => map_chunks(threads, x, y, |x, y| map(x, y, sign)),
        _ => Err(crate::OpError::UnsupportedDType {
            index: 0,
            dtype: T::DTYPE,
        }),
    }
}

/// `Identity`: the output is a copy of the input, any dtype.
#[derive(Debug)]
pub(super) struct Identity;

impl Operator for Identity {
    fn op(&self) -> OpCode {
        OpCode::Identity
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 1, 1, "1")?;
        let x = required(inputs, 0)?;
        Ok(vec![OutputSpec::new(x.dtype, x.shape.to_vec())])
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let x = required(inputs, 0)?;
        let out = first_output(outputs)?;
        let bytes = out.bytes_mut();
        if bytes.len() != x.bytes().len() {
            return Err(length_mismatch("output"));
        }
        bytes.copy_from_slice(x.bytes());
        Ok(())
    }
}
