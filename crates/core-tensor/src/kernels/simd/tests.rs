//! The vector primitives of every tier this CPU has against their scalar
//! definitions, lane by lane, on special values; and the check that the
//! tiers a run must test exist.

use super::*;

/// Values that exercise NaN, signed zeros, infinities, subnormals, ties.
const SPECIAL: [f32; 16] = [
    f32::NAN,
    -0.0,
    0.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
    1e-45,
    -1e-40,
    1.0,
    -1.5,
    2.5,
    f32::MAX,
    f32::MIN_POSITIVE,
    -7.0,
    0.5,
    3.0e38,
    -2.0,
];

/// Applies `op` lane-wise to all pairs (a, b) from `values`, on tier `S`.
struct Pairwise<'a> {
    values: &'a [f32],
    op: fn(&Self, f32, f32) -> f32,
    name: &'static str,
}

/// Runs one binary primitive over every pair of `SPECIAL` on tier `s`.
#[inline(always)]
fn binary_primitive<S: Simd>(s: S, name: &str, a: &[f32], b: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; a.len()];
    for ((x, y), o) in a
        .chunks(S::LANES)
        .zip(b.chunks(S::LANES))
        .zip(out.chunks_mut(S::LANES))
    {
        let (x, y) = (load_partial(s, x, 0.0), load_partial(s, y, 0.0));
        let r = match name {
            "add" => s.add(x, y),
            "sub" => s.sub(x, y),
            "mul" => s.mul(x, y),
            "div" => s.div(x, y),
            "min" => s.min(x, y),
            "max" => s.max(x, y),
            "copy_sign" => s.copy_sign(x, y),
            "select_lt" => s.select(s.lt(x, y), x, y),
            "select_eq" => s.select(s.eq(x, y), x, y),
            "select_nan" => s.select(s.or(s.is_nan(x), s.is_nan(y)), x, y),
            "select_and" => s.select(s.and(s.lt(x, y), s.eq(x, x)), x, y),
            "abs" => s.abs(x),
            _ => unreachable!("{name}"),
        };
        store_partial(s, o, r);
    }
    out
}

struct BinaryKernel<'a> {
    name: &'static str,
    a: &'a [f32],
    b: &'a [f32],
}

impl SimdKernel for BinaryKernel<'_> {
    type Output = Vec<f32>;
    #[inline(always)]
    fn run<S: Simd>(self, s: S) -> Vec<f32> {
        binary_primitive(s, self.name, self.a, self.b)
    }
}

impl Pairwise<'_> {
    fn expected(&self) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let mut a = Vec::new();
        let mut b = Vec::new();
        for &x in self.values {
            for &y in self.values {
                a.push(x);
                b.push(y);
            }
        }
        let e = a
            .iter()
            .zip(&b)
            .map(|(&x, &y)| (self.op)(self, x, y))
            .collect();
        (a, b, e)
    }
}

/// A primitive's scalar definition.
type ScalarOp = fn(&Pairwise<'_>, f32, f32) -> f32;

fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn primitives_follow_their_scalar_definitions_on_every_tier() {
    let cases: [(&'static str, ScalarOp); 12] = [
        ("add", |_, a, b| a + b),
        ("sub", |_, a, b| a - b),
        ("mul", |_, a, b| a * b),
        ("div", |_, a, b| a / b),
        ("min", |_, a, b| if a < b { a } else { b }),
        ("max", |_, a, b| if a > b { a } else { b }),
        ("copy_sign", |_, a, b| a.copysign(b)),
        ("select_lt", |_, a, b| if a < b { a } else { b }),
        ("select_eq", |_, a, b| if a == b { a } else { b }),
        (
            "select_nan",
            |_, a, b| if a.is_nan() || b.is_nan() { a } else { b },
        ),
        ("select_and", |_, a, b| if a < b { a } else { b }),
        ("abs", |_, a, _| a.abs()),
    ];
    for (name, op) in cases {
        let pairs = Pairwise {
            values: &SPECIAL,
            op,
            name,
        };
        let (a, b, expected) = pairs.expected();
        for isa in Isa::available() {
            let got = run_on(
                isa,
                BinaryKernel {
                    name: pairs.name,
                    a: &a,
                    b: &b,
                },
            )
            .unwrap();
            for i in 0..a.len() {
                assert!(
                    same(got[i], expected[i]),
                    "{isa} {name}({:e}, {:e}) = {:e}, expected {:e}",
                    a[i],
                    b[i],
                    got[i],
                    expected[i]
                );
            }
        }
    }
}

struct Misc<'a>(&'a [f32]);

impl SimdKernel for Misc<'_> {
    type Output = (Vec<f32>, Vec<f32>, Vec<f32>, f64, f32);
    #[inline(always)]
    fn run<S: Simd>(self, s: S) -> Self::Output {
        let n = S::LANES;
        let mut pow = vec![0.0; 254];
        let exponents: Vec<f32> = (-126..=127).map(|e| e as f32).collect();
        map(s, &exponents, &mut pow, 0.0, |v| s.pow2i(v));
        let mut even = vec![0.0; n];
        let mut odd = vec![0.0; n];
        let (e, o) = s.load_even_odd(&self.0[..2 * n]);
        s.store(&mut even, e);
        s.store(&mut odd, o);
        let mut acc = s.wide_zero();
        for chunk in self.0.chunks(n) {
            acc = s.wide_add(acc, load_partial(s, chunk, 0.0));
        }
        let fused = s.mul_add(
            s.splat(1.0 + f32::EPSILON),
            s.splat(1.0 - f32::EPSILON),
            s.splat(-1.0),
        );
        let mut fused_out = [0.0; MAX_LANES];
        s.store(&mut fused_out, fused);
        (pow, even, odd, s.wide_sum(acc), fused_out[0])
    }
}

#[test]
fn pow2i_deinterleave_wide_sums_and_fusion() {
    let values: Vec<f32> = (0..40).map(|i| i as f32 * 0.75 + 1e-3).collect();
    for isa in Isa::available() {
        let (pow, even, odd, sum, fused) = run_on(isa, Misc(&values)).unwrap();
        for (e, p) in (-126..=127).zip(&pow) {
            assert_eq!(*p, 2f32.powi(e), "{isa} pow2i({e})");
        }
        for (i, (e, o)) in even.iter().zip(&odd).enumerate() {
            assert_eq!(
                (*e, *o),
                (values[2 * i], values[2 * i + 1]),
                "{isa} lane {i}"
            );
        }
        let exact: f64 = values.iter().map(|&v| f64::from(v)).sum();
        assert_eq!(sum, exact, "{isa} wide sum");
        // (1 + ε)(1 − ε) − 1 = −ε²: fused keeps it, unfused rounds it away.
        let has_fma = !matches!(isa, Isa::Scalar | Isa::Sse41);
        let expected = if has_fma {
            -f32::EPSILON * f32::EPSILON
        } else {
            0.0
        };
        assert_eq!(fused, expected, "{isa} mul_add");
    }
}

struct ExactProducts<'a>(&'a [f32], &'a [f32]);

impl SimdKernel for ExactProducts<'_> {
    type Output = Vec<(f32, f32)>;
    #[inline(always)]
    fn run<S: Simd>(self, s: S) -> Self::Output {
        let mut out = Vec::new();
        for (a, b) in self.0.chunks(S::LANES).zip(self.1.chunks(S::LANES)) {
            let (a, b) = (load_partial(s, a, 0.0), load_partial(s, b, 0.0));
            let (hi, lo) = two_product(s, a, b);
            let (mut h, mut l) = ([0.0; MAX_LANES], [0.0; MAX_LANES]);
            s.store(&mut h, hi);
            s.store(&mut l, lo);
            out.extend((0..S::LANES).map(|i| (h[i], l[i])));
        }
        out
    }
}

#[test]
fn two_product_is_exact_on_every_tier() {
    let a: Vec<f32> = (0..64).map(|i| 1.0 + i as f32 * 0.123_456_79).collect();
    let b: Vec<f32> = (0..64).map(|i| -3.0 / (i as f32 + 1.7)).collect();
    for isa in Isa::available() {
        let got = run_on(isa, ExactProducts(&a, &b)).unwrap();
        for i in 0..a.len() {
            let exact = f64::from(a[i]) * f64::from(b[i]);
            let (hi, lo) = got[i];
            assert_eq!(
                f64::from(hi) + f64::from(lo),
                exact,
                "{isa} {} · {}",
                a[i],
                b[i]
            );
        }
    }
}

/// The variable naming the tiers this test run must have (comma list), as
/// in the GEMM tests.
const REQUIRE_ENV: &str = "POCKETNN_REQUIRE_ISAS";

#[test]
fn required_tiers_are_present() {
    let Ok(list) = std::env::var(REQUIRE_ENV) else {
        return;
    };
    let missing: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .filter(|name| !Isa::from_name(name).is_some_and(Isa::is_available))
        .collect();
    assert!(
        missing.is_empty(),
        "{REQUIRE_ENV}={list}: the vector kernels would not be tested on {missing:?}; \
         this CPU has {:?}",
        Isa::available()
    );
}

#[test]
fn absent_tiers_are_an_error() {
    for isa in Isa::ALL {
        let result = run_on(isa, Misc(&[0.0; 32]));
        assert_eq!(result.is_ok(), isa.is_available(), "{isa}");
    }
}
