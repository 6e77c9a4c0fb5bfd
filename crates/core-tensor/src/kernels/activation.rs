//! Activation functions that operators apply on their own or fuse into the
//! epilogue of a GEMM or convolution.
//!
//! [`Activation::apply_reference`] is the scalar definition every fast
//! version is tested against.

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
            Activation::Clip { min, max } => {
                if x.is_nan() {
                    x
                } else {
                    x.max(min).min(max)
                }
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
            Activation::Gelu => (0.5 * xd * (1.0 + erf_f64(xd / std::f64::consts::SQRT_2))) as f32,
            Activation::GeluTanh => {
                let inner = (2.0 / std::f64::consts::PI).sqrt() * (xd + 0.044715 * xd * xd * xd);
                (0.5 * xd * (1.0 + inner.tanh())) as f32
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
        // Maclaurin series: erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
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
    } else if a < 27.0 {
        // erfc continued fraction (Lentz), erf = 1 - erfc
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
        1.0 - (-x2).exp() / (f * std::f64::consts::PI.sqrt())
    } else {
        1.0
    };
    if x < 0.0 { -r } else { r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_values() {
        // erf values from Python's math.erf
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.5204998778130465),
            (1.0, 0.8427007929497149),
            (2.0, 0.9953222650189527),
            (2.6, 0.9997639655834707),
            (-3.5, -0.9999992569016276),
            (6.0, 1.0),
        ] {
            assert!(
                (erf_f64(x) - want).abs() < 1e-15,
                "erf({x}) = {}",
                erf_f64(x)
            );
        }
        assert_eq!(Activation::Relu.apply_reference(-2.0), 0.0);
        assert_eq!(
            Activation::Clip { min: 0.0, max: 6.0 }.apply_reference(7.5),
            6.0
        );
        assert_eq!(Activation::HardSwish.apply_reference(3.0), 3.0);
        assert_eq!(Activation::HardSwish.apply_reference(-3.0), 0.0);
        assert!((Activation::Sigmoid.apply_reference(0.0) - 0.5).abs() < 1e-7);
        assert!((Activation::Gelu.apply_reference(1.0) - 0.841_344_7).abs() < 1e-6);
        assert!((Activation::GeluTanh.apply_reference(1.0) - 0.841_192).abs() < 1e-5);
        assert!((Activation::Silu.apply_reference(1.0) - 0.731_058_6).abs() < 1e-6);
    }
}
