//! Vector approximations of `exp`, `erf` and the activations, written once
//! over [`Simd`] (so the scalar tier and every SIMD tier run the same
//! operations), accurate to a few ulp over the whole f32 range.
//!
//! The polynomial and rational coefficients were fitted for pocketnn with
//! numpy (near-minimax relative error by Lawson's iteratively reweighted
//! least squares on Chebyshev nodes; the rational one by Sanathanan–Koerner
//! iteration) and rounded to f32; each constant names its interval and fit
//! error. The error bounds of the finished functions are measured by the
//! tests (see `docs/kernels.md`).
//!
//! Three devices keep the results accurate where naive formulas are not:
//! * `exp` returns its result as two factors ([`exp_parts`]) so callers can
//!   multiply by the small factor last: a result in the subnormal range is
//!   rounded once, not twice;
//! * where the argument of `exp` is a square (`erf`, `gelu`) or a cubic
//!   (`gelu_tanh`), it is computed as an unevaluated sum `hi + lo`
//!   ([`two_product`]) and `exp(hi + lo)` as `exp(hi)·(1 + lo)`: the
//!   rounding error of `x²` alone would cost up to ~100 ulp in the tails;
//! * tails are computed from `erfc` / `exp(-|x|)` directly, never as
//!   `1 - something` close to 1.

use crate::kernels::simd::{Simd, two_product, two_sum};

/// `log2(e)`.
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// `ln 2` split in a 15-bit head (so `n · LN2_HI` is exact for `|n| < 512`)
/// and the rest.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// `1.5 · 2^23`: adding and subtracting it rounds to an integer.
const ROUNDING: f32 = 12_582_912.0;
/// `exp` arguments are clamped to this range: above it the result is
/// `+inf`, below it `0` (exactly as the clamped value gives). The low end
/// is below the underflow threshold (-103.97) so that `(m · y) · scale`
/// stays exact for factors `y` up to 2^20 (SiLU's `x · e^x` near -110).
const EXP_HIGH: f32 = 89.0;
const EXP_LOW: f32 = -120.0;
/// `(e^r - 1 - r) / r²` on `|r| <= ln2 / 2`, degree 4 (so `e^r` is degree
/// 6); relative error of `e^r` 3.1e-9.
const EXP_POLY: [f32; 5] = [
    0.499_999_94,
    0.166_665_21,
    0.041_668_39,
    0.008_368_71,
    0.001_381_461_3,
];

/// `(tanh(x) - x) / x³` as a polynomial in `x²` on `|x| < TANH_SPLIT`;
/// relative error of `tanh` 1.1e-9.
const TANH_POLY: [f32; 7] = [
    -0.333_333_22,
    0.133_329_78,
    -0.053_929_303,
    0.021_663_543,
    -0.008_264_545,
    0.002_582_668_8,
    -4.554_603_7e-4,
];
/// Below it `tanh` is the odd polynomial, above it `1 - 2/(e^{2|x|} + 1)`
/// (whose cancellation costs at most ~0.4 ulp from there on).
const TANH_SPLIT: f32 = 0.9;

/// `erf(x) / x` as a polynomial in `x²` on `|x| < 1`; relative error 1.2e-9.
// The first coefficient is fitted, not 2/√π rounded.
#[allow(clippy::approx_constant)]
const ERF_POLY: [f32; 7] = [
    1.128_379_1,
    -0.376_126_26,
    0.112_835_854,
    -0.026_853_813,
    0.005_188_329_6,
    -8.010_208e-4,
    7.853_906_6e-5,
];
/// `erfc(x) · e^{x²} ≈ P(x) / Q(x)` on `1 <= x <= 4` (a (3, 4) rational
/// fit; relative error 4.6e-10). Q has positive coefficients: no pole.
const ERFC_P: [f32; 4] = [0.999_748_35, 1.066_505_9, 0.518_501_7, 0.115_466_66];
const ERFC_Q: [f32; 5] = [1.0, 2.193_168_9, 1.998_783_6, 0.918_438_85, 0.204_684_27];

/// The normal tail: `Φ(-a) · e^{a²/2} ≈ P(a) / Q(a)` on `0.7 <= a <= 15`
/// (a (4, 5) rational fit; relative error 8.5e-10), so that GELU needs no
/// rounded `a/√2`. Q has positive coefficients: no pole.
const NORMAL_TAIL_P: [f32; 5] = [
    0.500_005_2,
    0.465_884_6,
    0.205_572_86,
    0.048_718_322,
    0.005_525_687,
];
const NORMAL_TAIL_Q: [f32; 6] = [
    1.0,
    1.729_725_2,
    1.291_041_9,
    0.529_072_3,
    0.122_121_49,
    0.013_850_797,
];

/// `2·sqrt(2/π)` and `2·sqrt(2/π) · 0.044715` (GELU, tanh form), each as an
/// f32 head and tail.
const GELU_K1: (f32, f32) = (1.595_769_2, -4.534_068e-8);
const GELU_K3: (f32, f32) = (0.071_354_814, 2.398_832_5e-9);

/// Evaluates the polynomial `c[0] + c[1]·x + …` at `x` (Horner).
#[inline(always)]
fn polynomial<S: Simd>(s: S, coefficients: &[f32], x: S::F) -> S::F {
    let mut acc = s.splat(coefficients[coefficients.len() - 1]);
    for &c in coefficients[..coefficients.len() - 1].iter().rev() {
        acc = s.mul_add(acc, x, s.splat(c));
    }
    acc
}

/// `e^x` as `(m, scale)` with `e^x = m · scale`: `m` is normal (at least
/// 2^-88) and `scale` a power of two, so `(m · y) · scale` rounds a
/// subnormal result once. Arguments above 89 give `m · scale = +inf`,
/// below -120 zero; NaN gives NaN in `m`.
#[inline(always)]
pub(crate) fn exp_parts<S: Simd>(s: S, x: S::F) -> (S::F, S::F) {
    exp_parts_tail(s, x, s.splat(0.0))
}

/// [`exp_parts`] of `x + tail`, for a small `tail` (below ulp(x)) that
/// carries the rounding error of `x`: it is added after the range
/// reduction, where it is not lost.
#[inline(always)]
pub(crate) fn exp_parts_tail<S: Simd>(s: S, x: S::F, tail: S::F) -> (S::F, S::F) {
    // min/max return their second operand for NaN, so NaN survives.
    let x = s.max(s.splat(EXP_LOW), s.min(s.splat(EXP_HIGH), x));
    let rounding = s.splat(ROUNDING);
    let n = s.sub(s.mul_add(x, s.splat(LOG2E), rounding), rounding);
    // r = x - n·ln2, n·LN2_HI exact and x - n·LN2_HI exact (Sterbenz).
    let r = s.mul_add(n, s.splat(-LN2_HI), x);
    let r = s.add(s.mul_add(n, s.splat(-LN2_LO), r), tail);
    let q = polynomial(s, &EXP_POLY, r);
    let p = s.add(s.mul_add(s.mul(r, r), q, r), s.splat(1.0));
    // 2^n = 2^n1 · 2^n2 with both halves in -87..=64.
    let half = s.sub(s.mul_add(n, s.splat(0.5), rounding), rounding);
    let rest = s.sub(n, half);
    (s.mul(p, s.pow2i(half)), s.pow2i(rest))
}

/// `e^x`.
#[inline(always)]
pub(crate) fn exp<S: Simd>(s: S, x: S::F) -> S::F {
    let (m, scale) = exp_parts(s, x);
    s.mul(m, scale)
}

/// The logistic sigmoid `1 / (1 + e^-x)`, from `e^{-|x|}`.
#[inline(always)]
pub(crate) fn sigmoid<S: Simd>(s: S, x: S::F) -> S::F {
    sigmoid_times(s, x, s.splat(1.0), s.splat(1.0))
}

/// `x · sigmoid(x)` (SiLU); `-inf` gives NaN like `-inf · 0`.
#[inline(always)]
pub(crate) fn silu<S: Simd>(s: S, x: S::F) -> S::F {
    // Below -128 the result is -0 (|x|·e^x < 2^-150); the clamp keeps the
    // factor from overflowing the scaled product.
    let y = sigmoid_times(s, x, x, s.max(s.splat(-128.0), x));
    nan_at_negative_infinity(s, x, y)
}

/// `factor · sigmoid(z)`, with `factor = 1` or `factor = x` (`factor_neg`
/// is the factor used for negative `z`, already clamped where needed).
#[inline(always)]
fn sigmoid_times<S: Simd>(s: S, z: S::F, factor: S::F, factor_neg: S::F) -> S::F {
    let (m, scale) = exp_parts(s, s.sub(s.splat(0.0), s.abs(z)));
    let d = s.add(s.splat(1.0), s.mul(m, scale));
    let negative = s.lt(z, s.splat(0.0));
    // z < 0: factor · e^z / (1 + e^z), the small factor last.
    let tail = s.mul(s.div(s.mul(factor_neg, m), d), scale);
    s.select(negative, tail, s.div(factor, d))
}

/// `-inf` inputs give NaN (the references compute `-inf · 0` there).
#[inline(always)]
fn nan_at_negative_infinity<S: Simd>(s: S, x: S::F, y: S::F) -> S::F {
    s.select(s.eq(x, s.splat(f32::NEG_INFINITY)), s.splat(f32::NAN), y)
}

/// `tanh(x)`.
#[inline(always)]
pub(crate) fn tanh<S: Simd>(s: S, x: S::F) -> S::F {
    let a = s.abs(x);
    let x2 = s.mul(x, x);
    let small = s.mul_add(s.mul(x, x2), polynomial(s, &TANH_POLY, x2), x);
    let e = exp(s, s.add(a, a));
    let one = s.splat(1.0);
    let large = s.sub(one, s.div(s.splat(2.0), s.add(e, one)));
    // tanh is odd; the sign also makes tanh(-0) = -0.
    s.copy_sign(s.select(s.lt(a, s.splat(TANH_SPLIT)), small, large), x)
}

/// `P(x) / Q(x)`.
#[inline(always)]
fn rational<S: Simd>(s: S, p: &[f32], q: &[f32], x: S::F) -> S::F {
    s.div(polynomial(s, p, x), polynomial(s, q, x))
}

/// `erf(x)`: the odd polynomial below 1, `1 - e^{-x²}·erfc_scaled(x)` above.
#[inline(always)]
pub(crate) fn erf<S: Simd>(s: S, x: S::F) -> S::F {
    let x2 = s.mul(x, x);
    let small = s.mul(x, polynomial(s, &ERF_POLY, x2));
    // Beyond 4, erf rounds to ±1; NaN survives the clamp.
    let a = s.min(s.splat(4.0), s.abs(x));
    let tail = s.mul(
        exp(s, s.sub(s.splat(0.0), s.mul(a, a))),
        rational(s, &ERFC_P, &ERFC_Q, a),
    );
    let large = s.copy_sign(s.sub(s.splat(1.0), tail), x);
    s.select(s.lt(s.abs(x), s.splat(1.0)), small, large)
}

/// GELU `x · Φ(x)` with `Φ(x) = (1 + erf(x/√2)) / 2`. Below `|x/√2| = 0.5`
/// from the erf polynomial; above from `Φ(-|x|) = e^{-x²/2} · P/Q(|x|)`,
/// with `x²` exact, so the negative tail keeps its relative accuracy down
/// to the subnormals. `-inf` gives NaN.
#[inline(always)]
pub(crate) fn gelu<S: Simd>(s: S, x: S::F) -> S::F {
    let half = s.splat(0.5);
    let t = s.mul(x, s.splat(std::f32::consts::FRAC_1_SQRT_2));
    let erf_small = s.mul(t, polynomial(s, &ERF_POLY, s.mul(t, t)));
    let small = s.mul(x, s.mul_add(half, erf_small, half));
    // Tail. Beyond |x| = 15 the result is ±0 or x; NaN survives the clamp.
    let a = s.min(s.splat(15.0), s.abs(x));
    let (square, square_error) = two_product(s, a, a);
    let minus_half = s.splat(-0.5);
    let (m, scale) = exp_parts_tail(
        s,
        s.mul(minus_half, square),
        s.mul(minus_half, square_error),
    );
    // q · scale = Φ(-|x|).
    let q = s.mul(rational(s, &NORMAL_TAIL_P, &NORMAL_TAIL_Q, a), m);
    let negative_tail = s.mul(s.mul(s.copy_sign(a, x), q), scale);
    let positive_tail = s.mul(x, s.sub(s.splat(1.0), s.mul(q, scale)));
    let tail = s.select(s.lt(x, s.splat(0.0)), negative_tail, positive_tail);
    let y = s.select(s.lt(s.abs(t), half), small, tail);
    nan_at_negative_infinity(s, x, y)
}

/// GELU, tanh form: `x/2 · (1 + tanh(u))` with `u = √(2/π)·(x + 0.044715
/// x³)`, computed as `x · sigmoid(2u)` with `2u` as an exact-enough sum
/// `hi + lo` (the rounding of `2u` alone would cost up to ~80 ulp where the
/// result is tiny). `-inf` gives NaN.
#[inline(always)]
pub(crate) fn gelu_tanh<S: Simd>(s: S, x: S::F) -> S::F {
    // Beyond ±20 the result is x or -0; NaN survives the clamps.
    let xc = s.max(s.splat(-20.0), s.min(s.splat(20.0), x));
    let (x2, x2_lo) = two_product(s, xc, xc);
    // w = K1 + K3·x² as head + tail.
    let (k3x2, k3x2_lo) = two_product(s, s.splat(GELU_K3.0), x2);
    let k3x2_lo = s.mul_add(s.splat(GELU_K3.0), x2_lo, k3x2_lo);
    let k3x2_lo = s.mul_add(s.splat(GELU_K3.1), x2, k3x2_lo);
    let (w, w_lo) = two_sum(s, s.splat(GELU_K1.0), k3x2);
    let w_lo = s.add(s.add(w_lo, k3x2_lo), s.splat(GELU_K1.1));
    // z = x·w = 2u as head + tail.
    let (z, z_lo) = two_product(s, xc, w);
    let z_lo = s.mul_add(xc, w_lo, z_lo);
    // sigmoid(z) from e^{-|z|} = e^{-|z_hi| - sign(z)·z_lo}.
    let zero = s.splat(0.0);
    let negative = s.lt(z, zero);
    let tail = s.select(negative, z_lo, s.sub(zero, z_lo));
    let (m, scale) = exp_parts_tail(s, s.sub(zero, s.abs(z)), tail);
    let d = s.add(s.splat(1.0), s.mul(m, scale));
    let negative_side = s.mul(s.div(s.mul(xc, m), d), scale);
    let y = s.select(negative, negative_side, s.div(x, d));
    nan_at_negative_infinity(s, x, y)
}

/// `x · clamp(x + 3, 0, 6) / 6`: exact for `x <= -3` (±0) and `x >= 3` (x).
#[inline(always)]
pub(crate) fn hard_swish<S: Simd>(s: S, x: S::F) -> S::F {
    let t = s.min(s.splat(6.0), s.max(s.splat(0.0), s.add(x, s.splat(3.0))));
    s.mul(x, s.mul(t, s.splat(1.0 / 6.0)))
}

/// `clamp(alpha·x + beta, 0, 1)` with `alpha·x + beta` rounded once (or
/// nearly, on tiers without FMA).
#[inline(always)]
pub(crate) fn hard_sigmoid<S: Simd>(s: S, x: S::F, alpha: f32, beta: f32) -> S::F {
    let linear = mul_add_accurate(s, s.splat(alpha), x, s.splat(beta));
    s.min(s.splat(1.0), s.max(s.splat(0.0), linear))
}

/// `a·b + c` rounded once with FMA; without it, from the exact product and
/// sum (within about one rounding), falling back to the plain formula where
/// the operands are too large for the exact splitting.
#[inline(always)]
fn mul_add_accurate<S: Simd>(s: S, a: S::F, b: S::F, c: S::F) -> S::F {
    if S::FMA {
        return s.mul_add(a, b, c);
    }
    let (p, p_lo) = two_product(s, a, b);
    let (sum, sum_lo) = two_sum(s, p, c);
    let accurate = s.add(sum, s.add(sum_lo, p_lo));
    let limit = s.splat(1e30);
    let splittable = s.and(
        s.lt(s.abs(p), limit),
        s.and(s.lt(s.abs(a), limit), s.lt(s.abs(b), limit)),
    );
    s.select(splittable, accurate, s.add(p, c))
}
