//! Activation functions that operators apply on their own or fuse into the
//! epilogue of a GEMM or convolution, and the vector kernels that compute
//! them.
//!
//! [`Activation::apply_reference`] is the scalar definition (in f64) every
//! fast version is tested against. [`apply`] and [`apply_to`] run the fast
//! versions on a chosen [`Isa`] tier: one kernel per activation and tier,
//! named `f32-v<activation>-<isa>` (`f32-vsigmoid-avx512`, see
//! [`Activation::kernel_stem`]); [`exp`] and [`erf`] are the kernels
//! `f32-vexp-<isa>` and `f32-verf-<isa>`. They are the same approximations
//! on every tier, including the scalar one, and agree with the reference to
//! within [`Activation::max_ulp_error`] ulp over the whole f32 range
//! (`docs/kernels.md` explains the bounds); NaN, infinities, signed zeros
//! and subnormals behave as in the reference.
//!
//! ```
//! use pocketnn_tensor::Isa;
//! use pocketnn_tensor::kernels::activation::{Activation, apply};
//!
//! let mut v = [-1.0f32, 0.0, 2.0];
//! apply(Isa::best(), Activation::Sigmoid, &mut v)?;
//! assert!((v[2] - 0.880_797).abs() < 1e-6);
//! # Ok::<(), pocketnn_tensor::TensorError>(())
//! ```

use crate::error::TensorError;
use crate::isa::Isa;
use crate::kernels::simd::{Simd, SimdKernel, map, map_in_place, run_on};

pub(crate) mod math;

#[cfg(test)]
mod tests;

/// An elementwise activation applied after a linear operation.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
#[non_exhaustive]
pub enum Activation {
    /// Identity.
    #[default]
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, min), max)` (ReLU6 is `Clip { min: 0, max: 6 }`).
    Clip {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// `x < 0 ? alpha * x : x`.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// `max(0, min(1, alpha * x + beta))`.
    HardSigmoid {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// `x * max(0, min(1, x / 6 + 1/2))`.
    HardSwish,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `x * sigmoid(x)` (SiLU, Swish).
    Silu,
    /// `x * Φ(x)` with the exact Gauss error function.
    Gelu,
    /// GELU with the tanh approximation.
    GeluTanh,
}

impl Activation {
    /// The scalar definition (f64 internally where it matters), the oracle
    /// for every vectorised implementation.
    pub fn apply_reference(self, x: f32) -> f32 {
        let xd = f64::from(x);
        match self {
            Activation::None => x,
            Activation::Relu => {
                if x < 0.0 {
                    0.0
                } else {
                    x
                }
            }
            // Comparisons, not `f32::max`/`min`: those may return either
            // zero for ±0 (aarch64's fmaxnm gives +0, x86_64 -0). NaN
            // compares false and passes through; `min > max` gives `max`.
            Activation::Clip { min, max } => {
                let v = if x < min { min } else { x };
                if v > max { max } else { v }
            }
            Activation::LeakyRelu { alpha } => {
                if x < 0.0 {
                    alpha * x
                } else {
                    x
                }
            }
            Activation::HardSigmoid { alpha, beta } => {
                (f64::from(alpha) * xd + f64::from(beta)).clamp(0.0, 1.0) as f32
            }
            Activation::HardSwish => (xd * (xd / 6.0 + 0.5).clamp(0.0, 1.0)) as f32,
            Activation::Sigmoid => (1.0 / (1.0 + (-xd).exp())) as f32,
            Activation::Tanh => xd.tanh() as f32,
            Activation::Silu => (xd / (1.0 + (-xd).exp())) as f32,
            // 1 + erf(x/√2) written as erfc(-x/√2), which keeps its relative
            // accuracy for negative x (where 1 + erf cancels even in f64).
            Activation::Gelu => (0.5 * xd * erfc_f64(-xd / std::f64::consts::SQRT_2)) as f32,
            // 1 + tanh(u) = 2·sigmoid(2u), which does not cancel for negative x.
            Activation::GeluTanh => {
                let inner = (2.0 / std::f64::consts::PI).sqrt() * (xd + 0.044715 * xd * xd * xd);
                (xd / (1.0 + (-2.0 * inner).exp())) as f32
            }
        }
    }

    /// Applies the activation to every element with the reference
    /// definition.
    pub fn apply_reference_slice(self, values: &mut [f32]) {
        if self != Activation::None {
            for v in values {
                *v = self.apply_reference(*v);
            }
        }
    }
}

/// The error function in f64 (Abramowitz–Stegun 7.1.26 is not accurate
/// enough for a reference; this uses the series / continued fraction split).
pub fn erf_f64(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    let r = if a < 2.5 {
        erf_series(a)
    } else {
        1.0 - erfc_fraction(a)
    };
    // erf is odd: erf(-0) = -0.
    r.copysign(x)
}

/// The complementary error function `1 - erf(x)` in f64, with full relative
/// accuracy in the tail (`erfc(10) = 2.1e-45` is not `1 - 1`).
pub fn erfc_f64(x: f64) -> f64 {
    if x.is_nan() {
        x
    } else if x < 2.5 {
        1.0 - erf_f64(x)
    } else {
        erfc_fraction(x)
    }
}

/// `erf(a)` for `0 <= a < 2.5`: the Maclaurin series.
fn erf_series(a: f64) -> f64 {
    // erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
    // (at most ~60 terms below 2.5 reach f64 precision)
    let mut term = a;
    let mut sum = a;
    let x2 = a * a;
    for n in 1..100 {
        let n = f64::from(n);
        term *= -x2 / n;
        let add = term / (2.0 * n + 1.0);
        sum += add;
        if add.abs() <= 1e-17 * sum.abs() {
            break;
        }
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

/// `erfc(a)` for `a >= 2.5`: the continued fraction (0 from 27 on, where
/// `erfc` is below 1e-318).
fn erfc_fraction(a: f64) -> f64 {
    if a < 27.0 {
        // erfc continued fraction (Lentz)
        let x2 = a * a;
        let tiny = 1e-300;
        let mut f = a;
        let mut c = a;
        let mut d = 0.0;
        for k in 1..200 {
            let an = k as f64 * 0.5;
            d = a + an * d;
            if d.abs() < tiny {
                d = tiny;
            }
            c = a + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-x2).exp() / (f * std::f64::consts::PI.sqrt())
    } else {
        0.0
    }
}

impl Activation {
    /// The kernel name without its tier: `f32-vsigmoid` (the kernel of tier
    /// `avx2` is `f32-vsigmoid-avx2`).
    pub fn kernel_stem(self) -> &'static str {
        match self {
            Activation::None => "f32-vcopy",
            Activation::Relu => "f32-vrelu",
            Activation::Clip { .. } => "f32-vclip",
            Activation::LeakyRelu { .. } => "f32-vleakyrelu",
            Activation::HardSigmoid { .. } => "f32-vhardsigmoid",
            Activation::HardSwish => "f32-vhardswish",
            Activation::Sigmoid => "f32-vsigmoid",
            Activation::Tanh => "f32-vtanh",
            Activation::Silu => "f32-vsilu",
            Activation::Gelu => "f32-vgelu",
            Activation::GeluTanh => "f32-vgelutanh",
        }
    }

    /// The largest distance, in units in the last place of the f32 result,
    /// between [`apply`] (any tier) and [`Activation::apply_reference`],
    /// over every finite f32 input (measured by the exhaustive test; see
    /// `docs/kernels.md`). Piecewise-linear activations are exact.
    pub fn max_ulp_error(self) -> u32 {
        match self {
            Activation::None
            | Activation::Relu
            | Activation::Clip { .. }
            | Activation::LeakyRelu { .. } => 0,
            Activation::HardSigmoid { .. } => 1,
            Activation::HardSwish | Activation::Sigmoid | Activation::Tanh | Activation::Silu => 2,
            Activation::GeluTanh => 3,
            Activation::Gelu => 5,
        }
    }
}

/// The largest ulp error of [`exp`] over every f32 input (see
/// [`Activation::max_ulp_error`]).
pub const EXP_MAX_ULP_ERROR: u32 = 2;
/// The largest ulp error of [`erf`] over every f32 input.
pub const ERF_MAX_ULP_ERROR: u32 = 2;

/// What a vector kernel computes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum VectorFunction {
    /// An activation.
    Activation(Activation),
    /// `e^x` (`f32-vexp`).
    Exp,
    /// `erf(x)` (`f32-verf`).
    Erf,
}

/// Applies `activation` to every value in place, with the kernel of tier
/// `isa` (`Activation::None` does nothing). Fails only when this CPU lacks
/// the tier.
pub fn apply(isa: Isa, activation: Activation, values: &mut [f32]) -> Result<(), TensorError> {
    if activation == Activation::None {
        return Ok(());
    }
    run_on(
        isa,
        VectorKernel {
            function: VectorFunction::Activation(activation),
            input: None,
            output: values,
        },
    )
}

/// `output[i] = activation(input[i])` with the kernel of tier `isa`. Fails
/// when the lengths differ or this CPU lacks the tier.
pub fn apply_to(
    isa: Isa,
    activation: Activation,
    input: &[f32],
    output: &mut [f32],
) -> Result<(), TensorError> {
    map_to(isa, VectorFunction::Activation(activation), input, output)
}

/// `output[i] = e^input[i]` (kernel `f32-vexp-<isa>`): within
/// [`EXP_MAX_ULP_ERROR`] ulp of the correctly rounded value for every input,
/// subnormal results included; `+inf` above 88.72, `0` below -103.97.
pub fn exp(isa: Isa, input: &[f32], output: &mut [f32]) -> Result<(), TensorError> {
    map_to(isa, VectorFunction::Exp, input, output)
}

/// `output[i] = erf(input[i])` (kernel `f32-verf-<isa>`): within
/// [`ERF_MAX_ULP_ERROR`] ulp of the correctly rounded value.
pub fn erf(isa: Isa, input: &[f32], output: &mut [f32]) -> Result<(), TensorError> {
    map_to(isa, VectorFunction::Erf, input, output)
}

fn map_to(
    isa: Isa,
    function: VectorFunction,
    input: &[f32],
    output: &mut [f32],
) -> Result<(), TensorError> {
    if input.len() != output.len() {
        return Err(TensorError::LengthMismatch {
            expected: std::mem::size_of_val(input),
            actual: std::mem::size_of_val(output),
        });
    }
    run_on(
        isa,
        VectorKernel {
            function,
            input: Some(input),
            output,
        },
    )
}

/// One vector function over a slice: `output = f(input)`, or in place.
pub(crate) struct VectorKernel<'a> {
    pub(crate) function: VectorFunction,
    pub(crate) input: Option<&'a [f32]>,
    pub(crate) output: &'a mut [f32],
}

impl SimdKernel for VectorKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let VectorKernel {
            function,
            input,
            output,
        } = self;
        vector_function(s, function, input, output);
    }
}

/// Applies `function` over `output` (from `input` when given), one loop per
/// function so that each is compiled on its own.
#[inline(always)]
pub(crate) fn vector_function<S: Simd>(
    s: S,
    function: VectorFunction,
    input: Option<&[f32]>,
    output: &mut [f32],
) {
    // The closures must be inlined into `map`, which is inlined into the
    // tier's `#[target_feature]` trampoline: a closure compiled on its own
    // would call every vector operation out of line.
    macro_rules! each {
        (|$v:ident| $body:expr) => {
            match input {
                Some(input) => map(
                    s,
                    input,
                    output,
                    0.0,
                    #[inline(always)]
                    |$v| $body,
                ),
                None => map_in_place(
                    s,
                    output,
                    0.0,
                    #[inline(always)]
                    |$v| $body,
                ),
            }
        };
    }
    match function {
        VectorFunction::Exp => each!(|v| math::exp(s, v)),
        VectorFunction::Erf => each!(|v| math::erf(s, v)),
        VectorFunction::Activation(activation) => match activation {
            Activation::None => {
                if let Some(input) = input {
                    output.copy_from_slice(&input[..output.len()]);
                }
            }
            Activation::Relu => each!(|v| s.max(s.splat(0.0), v)),
            Activation::Clip { min, max } => each!(|v| s.min(s.splat(max), s.max(s.splat(min), v))),
            Activation::LeakyRelu { alpha } => {
                each!(|v| s.select(s.lt(v, s.splat(0.0)), s.mul(s.splat(alpha), v), v))
            }
            Activation::HardSigmoid { alpha, beta } => {
                each!(|v| math::hard_sigmoid(s, v, alpha, beta))
            }
            Activation::HardSwish => each!(|v| math::hard_swish(s, v)),
            Activation::Sigmoid => each!(|v| math::sigmoid(s, v)),
            Activation::Tanh => each!(|v| math::tanh(s, v)),
            Activation::Silu => each!(|v| math::silu(s, v)),
            Activation::Gelu => each!(|v| math::gelu(s, v)),
            Activation::GeluTanh => each!(|v| math::gelu_tanh(s, v)),
        },
    }
}
