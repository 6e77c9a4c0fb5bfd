//! The reference definitions on known values, and every vector kernel on
//! every tier this CPU has against them: a dense sweep of the whole f32
//! range (every exponent, both signs, the mantissa extremes, and every
//! 4093rd bit pattern), special values, slice lengths around the vector
//! widths, and an exhaustive run over every bit pattern (`--ignored`).

// Values pasted from Python with all their digits.
#![allow(clippy::excessive_precision)]

use super::*;

/// Every function with its kernel name stem and error bound.
fn functions() -> Vec<(VectorFunction, &'static str, u32)> {
    let mut all = vec![
        (VectorFunction::Exp, "f32-vexp", EXP_MAX_ULP_ERROR),
        (VectorFunction::Erf, "f32-verf", ERF_MAX_ULP_ERROR),
    ];
    for activation in [
        Activation::Relu,
        Activation::Clip { min: 0.0, max: 6.0 },
        Activation::Clip {
            min: -1.0,
            max: 0.5,
        },
        Activation::LeakyRelu { alpha: 0.01 },
        Activation::LeakyRelu { alpha: -3.0 },
        Activation::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        Activation::HardSigmoid {
            alpha: 1.0 / 6.0,
            beta: 0.5,
        },
        Activation::HardSwish,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Silu,
        Activation::Gelu,
        Activation::GeluTanh,
    ] {
        all.push((
            VectorFunction::Activation(activation),
            activation.kernel_stem(),
            activation.max_ulp_error(),
        ));
    }
    all
}

/// The reference value (f64 inside, rounded once to f32).
fn reference(function: VectorFunction, x: f32) -> f32 {
    match function {
        VectorFunction::Exp => f64::from(x).exp() as f32,
        VectorFunction::Erf => erf_f64(f64::from(x)) as f32,
        VectorFunction::Activation(a) => a.apply_reference(x),
    }
}

/// Distance in ulp between two f32 (the number of f32 values between
/// them); `+0` and `-0` are the same point. `None` when one is NaN and the
/// other is not, or an infinity is not matched exactly.
fn ulp_distance(got: f32, expected: f32) -> Option<u64> {
    if got.is_nan() || expected.is_nan() {
        return (got.is_nan() && expected.is_nan()).then_some(0);
    }
    if got.is_infinite() || expected.is_infinite() {
        return (got == expected).then_some(0);
    }
    let key = |v: f32| {
        let bits = v.to_bits() as i32;
        i64::from(if bits < 0 { i32::MIN - bits } else { bits })
    };
    Some(key(got).abs_diff(key(expected)))
}

/// Runs `function` on tier `isa` over `inputs` (out of place).
fn run(isa: Isa, function: VectorFunction, inputs: &[f32]) -> Vec<f32> {
    let mut out = vec![f32::NAN; inputs.len()];
    run_on(
        isa,
        VectorKernel {
            function,
            input: Some(inputs),
            output: &mut out,
        },
    )
    .expect("the tier is available");
    out
}

/// The largest error of `got` against the reference, with its input.
fn worst(function: VectorFunction, inputs: &[f32], got: &[f32], what: &str) -> (u64, f32) {
    let mut worst = (0, 0.0);
    for (&x, &y) in inputs.iter().zip(got) {
        let expected = reference(function, x);
        let Some(distance) = ulp_distance(y, expected) else {
            panic!(
                "{what}({x:e} = {:#010x}) = {y:e}, reference {expected:e}",
                x.to_bits()
            );
        };
        if distance > worst.0 {
            worst = (distance, x);
        }
    }
    worst
}

/// Every exponent and sign with mantissas 0, 1, 2, half, max-1, max, and
/// every 4093rd bit pattern (both signs): about 1.05 million inputs.
fn dense_sweep() -> Vec<f32> {
    let mut inputs = Vec::new();
    for sign in [0u32, 1 << 31] {
        for exponent in 0..=255u32 {
            for mantissa in [0, 1, 2, 0x40_0000, 0x7F_FFFE, 0x7F_FFFF] {
                inputs.push(f32::from_bits(sign | exponent << 23 | mantissa));
            }
        }
    }
    inputs.extend((0..=u32::MAX).step_by(4093).map(f32::from_bits));
    inputs
}

#[test]
fn every_kernel_is_within_its_bound_on_a_dense_sweep_of_all_floats() {
    let inputs = dense_sweep();
    for (function, stem, bound) in functions() {
        for isa in Isa::available() {
            let name = format!("{stem}-{isa}");
            let got = run(isa, function, &inputs);
            let (max, at) = worst(function, &inputs, &got, &name);
            eprintln!("{name} {function:?}: max {max} ulp at {at:e}");
            assert!(
                max <= u64::from(bound),
                "{name} {function:?}: {max} ulp at x = {at:e} (bound {bound})"
            );
        }
    }
}

/// Like the sweep, over every f32 bit pattern (`cargo test --release --
/// --ignored exhaustive`; minutes per function). `POCKETNN_EXHAUSTIVE`
/// may name a subset of kernel stems (comma list, e.g. `f32-vexp`).
#[test]
#[ignore = "exhaustive: every f32 bit pattern, minutes per function"]
fn exhaustive_every_bit_pattern() {
    let only = std::env::var("POCKETNN_EXHAUSTIVE").ok();
    const BLOCK: u64 = 1 << 20;
    for (function, stem, bound) in functions() {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|s| s == stem))
        {
            continue;
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
        let blocks = (1u64 << 32) / BLOCK;
        let results: Vec<Vec<(u64, f32)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        let mut worst_per_tier = vec![(0u64, 0.0f32); Isa::available().len()];
                        let mut inputs = vec![0.0f32; BLOCK as usize];
                        for block in (t..blocks).step_by(threads as usize) {
                            for (i, v) in inputs.iter_mut().enumerate() {
                                *v = f32::from_bits((block * BLOCK + i as u64) as u32);
                            }
                            let expected: Vec<f32> =
                                inputs.iter().map(|&x| reference(function, x)).collect();
                            for (tier, isa) in Isa::available().into_iter().enumerate() {
                                let got = run(isa, function, &inputs);
                                for ((&x, &y), &e) in inputs.iter().zip(&got).zip(&expected) {
                                    let d = ulp_distance(y, e).unwrap_or(u64::MAX);
                                    if d > worst_per_tier[tier].0 {
                                        worst_per_tier[tier] = (d, x);
                                    }
                                }
                            }
                        }
                        worst_per_tier
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (tier, isa) in Isa::available().into_iter().enumerate() {
            let (max, at) = results
                .iter()
                .map(|r| r[tier])
                .max_by_key(|r| r.0)
                .unwrap_or((0, 0.0));
            eprintln!("exhaustive {stem}-{isa} {function:?}: max {max} ulp at {at:e}");
            assert!(
                max <= u64::from(bound),
                "{stem}-{isa} {function:?}: {max} ulp at {at:e}"
            );
        }
    }
}

#[test]
fn special_values_behave_like_the_reference() {
    let specials = [
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        1e-45,
        -1e-45,
        1.1e-38,
        -1.1e-38,
        f32::MAX,
        f32::MIN,
        3e38,
        -3e38,
        88.72,
        88.73,
        -87.4,
        -103.9,
        -104.0,
        -14.2,
        -9.6,
    ];
    for (function, stem, bound) in functions() {
        for isa in Isa::available() {
            let got = run(isa, function, &specials);
            for (&x, &y) in specials.iter().zip(&got) {
                let e = reference(function, x);
                let ok = if x == 0.0 || x.is_infinite() || x.is_nan() || e == 0.0 {
                    // Exactly the reference, sign of zero included.
                    y.to_bits() == e.to_bits() || (y.is_nan() && e.is_nan())
                } else {
                    ulp_distance(y, e).is_some_and(|d| d <= u64::from(bound))
                };
                assert!(
                    ok,
                    "{stem}-{isa} {function:?}({x:e}) = {y:e}, reference {e:e}"
                );
            }
        }
    }
}

#[test]
fn every_length_around_the_vector_widths_in_place_and_not() {
    for (function, stem, bound) in functions() {
        for isa in Isa::available() {
            for len in 0..=2 * 16 + 1 {
                let input: Vec<f32> = (0..len).map(|i| i as f32 * 0.37 - 4.1).collect();
                let out = run(isa, function, &input);
                let mut in_place = input.clone();
                run_on(
                    isa,
                    VectorKernel {
                        function,
                        input: None,
                        output: &mut in_place,
                    },
                )
                .unwrap();
                for ((&x, &a), &b) in input.iter().zip(&out).zip(&in_place) {
                    let e = reference(function, x);
                    assert_eq!(a.to_bits(), b.to_bits(), "{stem}-{isa} len {len}: in place");
                    assert!(
                        ulp_distance(a, e).is_some_and(|d| d <= u64::from(bound)),
                        "{stem}-{isa} len {len}: f({x}) = {a}, reference {e}"
                    );
                }
            }
        }
    }
}

#[test]
fn public_entry_points() {
    let x = [-2.0f32, -0.5, 0.0, 0.5, 3.0];
    let mut y = [0.0f32; 5];
    for isa in Isa::available() {
        exp(isa, &x, &mut y).unwrap();
        assert!((y[4] - 20.085_537).abs() < 2e-6, "{isa}");
        erf(isa, &x, &mut y).unwrap();
        assert!((y[3] - 0.520_499_9).abs() < 1e-7, "{isa}");
        apply_to(isa, Activation::Relu, &x, &mut y).unwrap();
        assert_eq!(y, [0.0, 0.0, 0.0, 0.5, 3.0]);
        let mut z = x;
        apply(isa, Activation::None, &mut z).unwrap();
        assert_eq!(z, x);
        apply_to(isa, Activation::None, &x, &mut y).unwrap();
        assert_eq!(y, x);
        assert!(matches!(
            exp(isa, &x, &mut y[..4]),
            Err(TensorError::LengthMismatch { .. })
        ));
    }
    for isa in Isa::ALL {
        let result = apply(isa, Activation::Sigmoid, &mut [0.0]);
        assert_eq!(result.is_ok(), isa.is_available(), "{isa}");
    }
}

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
    assert!(erf_f64(-0.0).is_sign_negative());
    // math.erfc
    for (x, want) in [
        (3.0, 2.209049699858544e-05),
        (6.0, 2.1519736712498913e-17),
        (10.0, 2.088487583762545e-45),
    ] {
        let got = erfc_f64(x);
        assert!((got - want).abs() < 1e-14 * want, "erfc({x}) = {got}");
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
    // The tails keep their relative accuracy (Python: 0.5·x·erfc(-x/√2)
    // and x / (1 + exp(-2u))).
    let gelu = Activation::Gelu.apply_reference(-10.0);
    assert!((gelu / -7.619853024160593e-23 - 1.0).abs() < 1e-6, "{gelu}");
    let gelu_tanh = Activation::GeluTanh.apply_reference(-10.0);
    assert!(
        (gelu_tanh / -1.2040923482098023e-37 - 1.0).abs() < 1e-6,
        "{gelu_tanh}"
    );
}
