//! Scalar f32 functions behind the unary activations: the reference forms
//! the later SIMD kernels are tested against. Each is written to be
//! numerically stable over the whole f32 range and to pass NaN through.

/// Coefficients of `erf(x) / x` as a polynomial in `x²`, for `|x| < 1`.
/// A degree-7 least-squares Chebyshev fit made for pocketnn (numpy
/// `chebfit` on `math.erf`), converted to powers of `x²`; relative error
/// below 4e-11.
const ERF_SMALL: [f64; 8] = [
    1.128_379_167_062_360_6,
    -0.376_126_384_759_913_9,
    0.112_837_826_220_648_17,
    -0.026_865_438_310_722_536,
    0.005_221_053_413_221_886,
    -0.000_848_439_656_161_803_4,
    0.000_112_682_539_800_971_2,
    -9.673_591_071_686_486e-6,
];

/// Coefficients of `erfc(x)·exp(x²)` as a polynomial in `t = (2x - 5) / 3`,
/// for `1 <= x < 4` (a degree-12 fit made the same way; relative error of
/// `erfc` below 8e-9).
const ERFC_LARGE: [f64; 13] = [
    0.210_806_364_275_941_04,
    -0.111_521_004_695_382_08,
    0.056_110_472_584_286_93,
    -0.027_005_725_289_739_98,
    0.012_489_703_671_465_863,
    -0.005_567_332_909_517_806,
    0.002_401_701_695_442_436_7,
    -0.001_017_117_774_343_870_8,
    0.000_414_508_097_947_036_3,
    -0.000_143_948_597_845_603_5,
    5.494_724_808_078_708e-5,
    -3.692_872_359_102_761_4e-5,
    1.381_908_906_009_815_6e-5,
];

/// Coefficients of `x·erfc(x)·exp(x²)` as a polynomial in `u = 1/x²`, for
/// `4 <= x < 10` (a degree-5 fit made the same way; relative error below
/// 5e-10). Beyond 10, `erfc` is below 2e-45 and treated as 0.
const ERFC_TAIL: [f64; 6] = [
    0.564_189_559_906_176_4,
    -0.282_088_962_357_264_44,
    0.422_588_666_466_005_24,
    -1.031_429_265_497_247_4,
    3.007_809_354_815_53,
    -6.279_102_045_342_119,
];

/// Evaluates the polynomial with `coefficients` (lowest power first) at `x`.
#[inline(always)]
fn polynomial(coefficients: &[f64], x: f64) -> f64 {
    coefficients.iter().rev().fold(0.0, |acc, &c| acc * x + c)
}

/// `erf(x)` for `0 <= x < 1`.
#[inline(always)]
fn erf_small(x: f64) -> f64 {
    x * polynomial(&ERF_SMALL, x * x)
}

/// `erfc(x) = 1 - erf(x)` for `x >= 0` (NaN for NaN), without the
/// cancellation of computing `1 - erf(x)` when `erfc(x)` is tiny.
#[inline(always)]
fn erfc_positive(x: f64) -> f64 {
    if x < 1.0 {
        1.0 - erf_small(x)
    } else if x < 4.0 {
        (-x * x).exp() * polynomial(&ERFC_LARGE, (2.0 * x - 5.0) / 3.0)
    } else if x < 10.0 {
        (-x * x).exp() * polynomial(&ERFC_TAIL, 1.0 / (x * x)) / x
    } else if x >= 10.0 {
        0.0
    } else {
        x // NaN
    }
}

/// The Gauss error function, within 1 ulp of the correctly rounded f32
/// result (checked against Python's `math.erf` on a dense grid).
#[inline]
pub(super) fn erf(x: f32) -> f32 {
    let x = f64::from(x);
    let ax = x.abs();
    let y = if ax < 1.0 {
        erf_small(x)
    } else {
        (1.0 - erfc_positive(ax)).copysign(x)
    };
    y as f32
}

/// Logistic sigmoid `1 / (1 + e^-x)`, without overflow for large `|x|`.
#[inline(always)]
pub(super) fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^x)`, without overflow for large `x`.
#[inline(always)]
pub(super) fn softplus(x: f32) -> f32 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// `max(0, min(1, alpha·x + beta))`, NaN passing through.
#[inline(always)]
pub(super) fn hard_sigmoid(x: f32, alpha: f32, beta: f32) -> f32 {
    (alpha * x + beta).clamp(0.0, 1.0)
}

/// GELU, exact: `x/2 · (1 + erf(x / √2))`, written as `x/2 · erfc(-x/√2)`
/// for negative `x` so that the result keeps its relative accuracy where
/// `1 + erf` cancels (within 1 ulp of the f32 result of the exact formula).
#[inline(always)]
pub(super) fn gelu(x: f32) -> f32 {
    let x = f64::from(x);
    let v = x * std::f64::consts::FRAC_1_SQRT_2;
    let y = if x >= 0.0 {
        let erf = if v < 1.0 {
            erf_small(v)
        } else {
            1.0 - erfc_positive(v)
        };
        0.5 * x * (1.0 + erf)
    } else {
        0.5 * x * erfc_positive(-v)
    };
    y as f32
}

/// GELU, tanh approximation: `x/2 · (1 + tanh(√(2/π) · (x + 0.044715·x³)))`,
/// computed as `x · sigmoid(2u)` (the same function, since `1 + tanh(u) =
/// 2·sigmoid(2u)`) so that it does not cancel for negative `x`, and in f64
/// because the exponent's rounding error is amplified by up to `|2u|`.
#[inline(always)]
pub(super) fn gelu_tanh(x: f32) -> f32 {
    let x = f64::from(x);
    let u = 2.0 * (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044_715 * x * x * x);
    let sigmoid = if u >= 0.0 {
        1.0 / (1.0 + (-u).exp())
    } else {
        let e = u.exp();
        e / (1.0 + e)
    };
    (x * sigmoid) as f32
}
