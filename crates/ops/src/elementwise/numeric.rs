//! The element types the elementwise kernels compute on, and their
//! arithmetic with the semantics pocketnn documents: integers wrap on
//! overflow, integer division and remainder by zero give 0, float to integer
//! conversion truncates toward zero and saturates (NaN gives 0). Nothing here
//! panics.

use pocketnn_tensor::{Element, f16};

/// A numeric element type (`f32`, `f16`, `i8`, `u8`, `i32`, `i64`).
pub(super) trait Numeric: Element + PartialOrd {
    /// True for `f32` and `f16`.
    const IS_FLOAT: bool;
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// The smallest value (`-inf` for floats).
    const LOWEST: Self;
    /// The largest value (`+inf` for floats).
    const HIGHEST: Self;

    /// `self + other`, wrapping for integers.
    fn add(self, other: Self) -> Self;
    /// `self - other`, wrapping for integers.
    fn sub(self, other: Self) -> Self;
    /// `self * other`, wrapping for integers.
    fn mul(self, other: Self) -> Self;
    /// `self / other`; integers truncate toward zero, wrap
    /// (`MIN / -1 = MIN`) and give 0 for a zero divisor.
    fn div(self, other: Self) -> Self;
    /// Remainder with the sign of the dividend (C `fmod`); 0 for an integer
    /// zero divisor.
    fn rem_trunc(self, other: Self) -> Self;
    /// Remainder with the sign of the divisor (Python / numpy `mod`); 0 for
    /// an integer zero divisor.
    fn rem_floor(self, other: Self) -> Self;
    /// `-self`, wrapping for integers.
    fn neg(self) -> Self;
    /// `|self|`, wrapping for integers (`|MIN| = MIN`).
    fn abs(self) -> Self;
    /// True for a float NaN.
    fn is_nan(self) -> bool;
    /// The value as `f32` (rounded).
    fn to_f32(self) -> f32;
    /// The value as `f64` (exact but for `i64` beyond 2^53).
    fn to_f64(self) -> f64;
    /// The value as `i64` (floats truncate toward zero and saturate, NaN is 0).
    fn to_i64(self) -> i64;
    /// From `f64`: floats round to nearest, integers truncate toward zero
    /// and saturate, NaN gives 0.
    fn from_f64(value: f64) -> Self;
    /// From `i64`: integers wrap (keep the low bits), floats round to nearest.
    fn from_i64(value: i64) -> Self;
    /// `self` to the power `exponent`, see [`int_pow`] for integer bases.
    fn pow<E: Numeric>(self, exponent: E) -> Self;
}

macro_rules! impl_float {
    ($t:ty, zero: $zero:expr, one: $one:expr, $to:expr, $from:expr, $from_f64:expr) => {
        impl Numeric for $t {
            const IS_FLOAT: bool = true;
            const ZERO: Self = $zero;
            const ONE: Self = $one;
            const LOWEST: Self = <$t>::NEG_INFINITY;
            const HIGHEST: Self = <$t>::INFINITY;

            #[inline(always)]
            fn add(self, other: Self) -> Self {
                $from($to(self) + $to(other))
            }
            #[inline(always)]
            fn sub(self, other: Self) -> Self {
                $from($to(self) - $to(other))
            }
            #[inline(always)]
            fn mul(self, other: Self) -> Self {
                $from($to(self) * $to(other))
            }
            #[inline(always)]
            fn div(self, other: Self) -> Self {
                $from($to(self) / $to(other))
            }
            #[inline(always)]
            fn rem_trunc(self, other: Self) -> Self {
                $from($to(self) % $to(other))
            }
            #[inline(always)]
            fn rem_floor(self, other: Self) -> Self {
                let (a, b) = ($to(self), $to(other));
                let r = a % b;
                let r = if r == 0.0 {
                    0.0f32.copysign(b)
                } else if (r < 0.0) != (b < 0.0) {
                    r + b
                } else {
                    r
                };
                $from(r)
            }
            #[inline(always)]
            fn neg(self) -> Self {
                $from(-$to(self))
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $from($to(self).abs())
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                $to(self).is_nan()
            }
            #[inline(always)]
            fn to_f32(self) -> f32 {
                $to(self)
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                f64::from($to(self))
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                $to(self) as i64
            }
            #[inline(always)]
            fn from_f64(value: f64) -> Self {
                $from_f64(value)
            }
            #[inline(always)]
            fn from_i64(value: i64) -> Self {
                $from(value as f32)
            }
            #[inline(always)]
            fn pow<E: Numeric>(self, exponent: E) -> Self {
                $from($to(self).powf(exponent.to_f32()))
            }
        }
    };
}

#[inline(always)]
fn f32_id(v: f32) -> f32 {
    v
}

impl_float!(f32, zero: 0.0, one: 1.0, f32_id, f32_id, |v: f64| v as f32);
impl_float!(f16, zero: f16::ZERO, one: f16::ONE, f16::to_f32, f16::from_f32, f16::from_f64);

macro_rules! impl_int {
    ($t:ty, $abs:expr, $rem_floor:expr) => {
        impl Numeric for $t {
            const IS_FLOAT: bool = false;
            const ZERO: Self = 0;
            const ONE: Self = 1;
            const LOWEST: Self = <$t>::MIN;
            const HIGHEST: Self = <$t>::MAX;

            #[inline(always)]
            fn add(self, other: Self) -> Self {
                self.wrapping_add(other)
            }
            #[inline(always)]
            fn sub(self, other: Self) -> Self {
                self.wrapping_sub(other)
            }
            #[inline(always)]
            fn mul(self, other: Self) -> Self {
                self.wrapping_mul(other)
            }
            #[inline(always)]
            fn div(self, other: Self) -> Self {
                if other == 0 {
                    0
                } else {
                    self.wrapping_div(other)
                }
            }
            #[inline(always)]
            fn rem_trunc(self, other: Self) -> Self {
                if other == 0 {
                    0
                } else {
                    self.wrapping_rem(other)
                }
            }
            #[inline(always)]
            fn rem_floor(self, other: Self) -> Self {
                if other == 0 {
                    0
                } else {
                    $rem_floor(self.wrapping_rem(other), other)
                }
            }
            #[inline(always)]
            fn neg(self) -> Self {
                self.wrapping_neg()
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $abs(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                false
            }
            #[inline(always)]
            fn to_f32(self) -> f32 {
                self as f32
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn from_f64(value: f64) -> Self {
                value as $t
            }
            #[inline(always)]
            fn from_i64(value: i64) -> Self {
                value as $t
            }
            #[inline(always)]
            fn pow<E: Numeric>(self, exponent: E) -> Self {
                if E::IS_FLOAT {
                    Self::from_f64(self.to_f64().powf(exponent.to_f64()))
                } else {
                    Self::from_i64(int_pow(self.to_i64(), exponent.to_i64()))
                }
            }
        }
    };
}

/// Python-style adjustment of a truncated remainder `r` of a signed division
/// by `b`: the result takes the sign of `b`.
macro_rules! signed_rem_floor {
    ($t:ty) => {
        |r: $t, b: $t| {
            if r != 0 && ((r < 0) != (b < 0)) {
                r.wrapping_add(b)
            } else {
                r
            }
        }
    };
}

impl_int!(i8, i8::wrapping_abs, signed_rem_floor!(i8));
impl_int!(i32, i32::wrapping_abs, signed_rem_floor!(i32));
impl_int!(i64, i64::wrapping_abs, signed_rem_floor!(i64));
impl_int!(u8, |v: u8| v, |r: u8, _b: u8| r);

/// `base` to the power `exponent` with wrapping multiplication.
///
/// A negative exponent gives the integer part of `1 / base^|exponent|`: 1 for
/// base 1, ±1 for base -1, and 0 otherwise (also for base 0, where the real
/// result would be infinite). Truncating the i64 result to a narrower type
/// equals computing in that type with wrapping.
pub(super) fn int_pow(base: i64, exponent: i64) -> i64 {
    if exponent < 0 {
        return match base {
            1 => 1,
            -1 if exponent % 2 == 0 => 1,
            -1 => -1,
            _ => 0,
        };
    }
    let mut result: i64 = 1;
    let mut factor = base;
    let mut e = exponent;
    while e > 0 {
        if e & 1 == 1 {
            result = result.wrapping_mul(factor);
        }
        factor = factor.wrapping_mul(factor);
        e >>= 1;
    }
    result
}

/// The larger of two values; NaN wins (numpy `maximum`).
#[inline(always)]
pub(super) fn max_nan<T: Numeric>(a: T, b: T) -> T {
    if b.is_nan() || b > a { b } else { a }
}

/// The smaller of two values; NaN wins (numpy `minimum`).
#[inline(always)]
pub(super) fn min_nan<T: Numeric>(a: T, b: T) -> T {
    if b.is_nan() || b < a { b } else { a }
}

/// -1, 0 or 1 by the sign of `x`; zeros (also `-0.0`) and NaN are returned
/// unchanged.
#[inline(always)]
pub(super) fn sign<T: Numeric>(x: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else if x < T::ZERO {
        T::ONE.neg()
    } else {
        x
    }
}

/// Converts one element to another numeric type with `Cast`'s semantics.
#[inline(always)]
pub(super) fn convert<S: Numeric, D: Numeric>(value: S) -> D {
    if S::IS_FLOAT {
        D::from_f64(value.to_f64())
    } else {
        D::from_i64(value.to_i64())
    }
}
