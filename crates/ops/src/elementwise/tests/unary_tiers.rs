//! The unary operators that run vector kernels, on every ISA tier this CPU
//! has: the numpy table of `unary_reference.rs` (special values included)
//! placed at every position of vectors of every length around the vector
//! widths, and a dense sweep against the f64 definitions of
//! `Activation::apply_reference` within the kernels' documented ulp bounds.

use super::unary_reference::*;
use super::*;
use pocketnn_tensor::kernels::activation::{Activation, ERF_MAX_ULP_ERROR, EXP_MAX_ULP_ERROR};

/// (op, attributes, numpy table, f64 definition, ulp bound).
type Case = (OpCode, Vec<Attribute>, &'static [f32], fn(f32) -> f64, u64);

fn cases() -> Vec<Case> {
    let act = |a: Activation| u64::from(a.max_ulp_error());
    vec![
        (
            OpCode::Relu,
            vec![],
            &REF_RELU,
            |x| f64::from(Activation::Relu.apply_reference(x)),
            0,
        ),
        (
            OpCode::LeakyRelu,
            vec![float("alpha", 0.1)],
            &REF_LEAKYRELU,
            |x| f64::from(Activation::LeakyRelu { alpha: 0.1 }.apply_reference(x)),
            0,
        ),
        (
            OpCode::Sigmoid,
            vec![],
            &REF_SIGMOID,
            |x| f64::from(Activation::Sigmoid.apply_reference(x)),
            act(Activation::Sigmoid),
        ),
        (
            OpCode::Tanh,
            vec![],
            &REF_TANH,
            |x| f64::from(x).tanh(),
            act(Activation::Tanh),
        ),
        (
            OpCode::HardSigmoid,
            vec![],
            &REF_HARDSIGMOID,
            |x| {
                let defaults = Activation::HardSigmoid {
                    alpha: 0.2,
                    beta: 0.5,
                };
                f64::from(defaults.apply_reference(x))
            },
            act(Activation::HardSigmoid {
                alpha: 0.2,
                beta: 0.5,
            }),
        ),
        (
            OpCode::HardSwish,
            vec![],
            &REF_HARDSWISH,
            |x| f64::from(Activation::HardSwish.apply_reference(x)),
            act(Activation::HardSwish),
        ),
        (
            OpCode::Erf,
            vec![],
            &REF_ERF,
            |x| pocketnn_tensor::kernels::activation::erf_f64(f64::from(x)),
            u64::from(ERF_MAX_ULP_ERROR),
        ),
        (
            OpCode::Gelu,
            vec![],
            &REF_GELUNONE,
            |x| f64::from(Activation::Gelu.apply_reference(x)),
            act(Activation::Gelu),
        ),
        (
            OpCode::Gelu,
            vec![string("approximate", "tanh")],
            &REF_GELUTANH,
            |x| f64::from(Activation::GeluTanh.apply_reference(x)),
            act(Activation::GeluTanh),
        ),
        (
            OpCode::Exp,
            vec![],
            &REF_EXP,
            |x| f64::from(x).exp(),
            u64::from(EXP_MAX_ULP_ERROR),
        ),
        (
            OpCode::Silu,
            vec![],
            &REF_SILU,
            |x| f64::from(Activation::Silu.apply_reference(x)),
            act(Activation::Silu),
        ),
    ]
}

/// Like `assert_close`, reporting only the first bad element.
#[track_caller]
fn check(got: &[f32], expected: &[f32], max_ulps: u64, what: &str) {
    assert_eq!(got.len(), expected.len());
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        let ok = if e.is_nan() {
            g.is_nan()
        } else if e.is_infinite() {
            g == e
        } else {
            let key = |v: f32| {
                let bits = v.to_bits() as i32;
                i64::from(if bits < 0 { i32::MIN - bits } else { bits })
            };
            key(g).abs_diff(key(e)) <= max_ulps || (g - e).abs() <= 1e-37
        };
        assert!(
            ok,
            "{what}: element {i}: got {g:e}, expected {e:e} (within {max_ulps} ulps)"
        );
    }
}

/// Runs `op` on `x` with tier `isa`.
fn run_on(isa: Isa, op: &dyn Operator, x: &[f32]) -> Vec<f32> {
    let input = t(&[x.len()], x);
    let mut out = eval(op, &[Some(input.view())], isa).unwrap();
    out.remove(0).as_slice::<f32>().unwrap().to_vec()
}

#[test]
fn numpy_values_at_every_lane_and_length_on_every_tier() {
    for (code, attrs, table, _, bound) in cases() {
        let op = op(code, &attrs);
        for isa in Isa::available() {
            // Lengths below, at and above 4, 8 and 16 lanes: the table
            // rotated so each value visits each lane and the tail.
            for len in [1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64] {
                for shift in 0..X.len() {
                    let index = |i: usize| (i + shift) % X.len();
                    let x: Vec<f32> = (0..len).map(|i| X[index(i)]).collect();
                    let expected: Vec<f32> = (0..len).map(|i| table[index(i)]).collect();
                    let got = run_on(isa, &*op, &x);
                    // The numpy table is rounded from f64: one more ulp.
                    check(
                        &got,
                        &expected,
                        bound + 1,
                        &format!("{code} {isa} len {len}"),
                    );
                }
            }
            eprintln!("{code} {attrs:?} {isa}: table ok");
        }
    }
}

#[test]
fn dense_sweep_against_f64_definitions_on_every_tier() {
    // 200 000 bit patterns evenly spread over the positive finite f32
    // (subnormals to f32::MAX), both signs, plus a few extremes.
    let mut x: Vec<f32> = (0..200_000u32)
        .map(|i| f32::from_bits(0x0000_0001 + i * 10_691))
        .filter(|v| v.is_finite())
        .flat_map(|v| [v, -v])
        .collect();
    x.extend([
        f32::MIN_POSITIVE / 3.0,
        -f32::MIN_POSITIVE / 3.0,
        f32::MAX,
        f32::MIN,
    ]);
    for (code, attrs, _, reference, bound) in cases() {
        let op = op(code, &attrs);
        let expected: Vec<f32> = x.iter().map(|&v| reference(v) as f32).collect();
        for isa in Isa::available() {
            let got = run_on(isa, &*op, &x);
            // f64 → f32 rounding of the definition: one more ulp.
            check(
                &got,
                &expected,
                bound + 1,
                &format!("{code} {attrs:?} {isa}"),
            );
        }
    }
}

#[test]
fn clip_runs_the_vector_kernel_on_every_tier() {
    let clip = op(OpCode::Clip, &[]);
    let x: Vec<f32> = (0..37).map(|i| X[i % X.len()]).collect();
    for (lo, hi) in [
        (-1.0f32, 2.5),
        (0.0, 6.0),
        (3.0, -3.0),
        (NAN, 1.0),
        (-1.0, NAN),
    ] {
        // ONNX: x < lo ? lo : x, then > hi ? hi; NaN compares false.
        let expected: Vec<f32> = x
            .iter()
            .map(|&v| {
                let v = if v < lo { lo } else { v };
                if v > hi { hi } else { v }
            })
            .collect();
        let (lo_t, hi_t) = (Tensor::scalar(lo), Tensor::scalar(hi));
        let x_t = t(&[x.len()], &x);
        for isa in Isa::available() {
            let views = [Some(x_t.view()), Some(lo_t.view()), Some(hi_t.view())];
            let got = eval(&*clip, &views, isa).unwrap().remove(0);
            let got = got.as_slice::<f32>().unwrap();
            for (i, (&g, &e)) in got.iter().zip(&expected).enumerate() {
                assert!(
                    g.to_bits() == e.to_bits() || (g.is_nan() && e.is_nan()),
                    "Clip({lo}, {hi}) on {isa}: element {i} ({}) is {g}, expected {e}",
                    x[i]
                );
            }
        }
    }
}
