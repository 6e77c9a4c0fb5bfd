//! Tests of `QLinearConvF32` against the naive integer convolution of
//! `tests.rs`, dequantized, biased, summed with the residual and activated
//! here in f64.

use super::tests::{int, naive_conv, run, t};
use crate::OpError;
use crate::fused::{ACTIVATION, ACTIVATION_ALPHA, ACTIVATION_BETA};
use crate::{build_operator, eval};
use pocketnn_format::{AttrValue, Attribute, OpCode};
use pocketnn_tensor::Isa;
use pocketnn_tensor::Tensor;

fn text(name: &str, v: &str) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::String(v.into()),
    }
}

fn float(name: &str, v: f32) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Float(v),
    }
}

/// x u8 [2, 6, 5, 4], w i8 [4, 3, 3, 3] in 2 groups, padding 1, weight
/// scales and zero points per output channel.
struct Case {
    x: Vec<u8>,
    w: Vec<i8>,
    w_zero: Vec<i8>,
    w_scale: Vec<f32>,
    bias: Vec<f32>,
    residual: Vec<f32>,
}

const XS: [usize; 4] = [2, 6, 5, 4];
const X_SCALE: f32 = 0.02;
const X_ZERO: u8 = 7;

fn case() -> Case {
    let x = (0..XS.iter().product::<usize>())
        .map(|i| (i * 73 % 256) as u8)
        .collect();
    let w = (0..4 * 3 * 9).map(|i| (i * 37 % 256) as u8 as i8).collect();
    let residual = (0..2 * 4 * 5 * 4).map(|i| (i % 11) as f32 - 5.0).collect();
    Case {
        x,
        w,
        w_zero: vec![0, 2, -3, 0],
        w_scale: vec![0.01, 0.003, 0.02, 0.007],
        bias: vec![0.5, -1.0, 0.25, 3.0],
        residual,
    }
}

/// The expected output: act(x_scale · w_scale[m] · Σ + B[m] + Z).
fn reference(c: &Case, with_residual: bool, act: impl Fn(f64) -> f64) -> (Vec<f32>, [usize; 4]) {
    let widen = |v: &[i8]| v.iter().map(|&v| i32::from(v)).collect::<Vec<_>>();
    let x: Vec<i32> = c.x.iter().map(|&v| v.into()).collect();
    let (sums, shape) = naive_conv(
        &x,
        XS,
        &widen(&c.w),
        [4, 3, 3],
        2,
        1,
        1,
        (X_ZERO.into(), &widen(&c.w_zero)),
    );
    let plane = shape[2] * shape[3];
    let y = sums
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let m = i / plane % 4;
            let z = if with_residual { c.residual[i] } else { 0.0 };
            let v = f64::from(X_SCALE) * f64::from(c.w_scale[m]) * f64::from(s)
                + f64::from(c.bias[m])
                + f64::from(z);
            act(v) as f32
        })
        .collect();
    (y, shape)
}

fn conv_attrs(activation: &[Attribute]) -> Vec<Attribute> {
    let mut attrs = vec![
        int("group", 2),
        Attribute {
            name: "pads".into(),
            value: AttrValue::Ints(vec![1; 4]),
        },
    ];
    attrs.extend_from_slice(activation);
    attrs
}

fn inputs(c: &Case) -> Vec<Tensor> {
    vec![
        t(&XS, &c.x),
        Tensor::scalar(X_SCALE),
        Tensor::scalar(X_ZERO),
        t(&[4, 3, 3, 3], &c.w),
        t(&[4], &c.w_scale),
        t(&[4], &c.w_zero),
        t(&[4], &c.bias),
        t(&[2, 4, 5, 4], &c.residual),
    ]
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * w.abs().max(1.0),
            "{what}: element {i}: {g} vs {w}"
        );
    }
}

#[test]
fn dequantized_convolution_with_bias_residual_and_activation() {
    let c = case();
    let tensors = inputs(&c);
    let all: Vec<Option<&Tensor>> = tensors.iter().map(Some).collect();
    let relu = [text(ACTIVATION, "relu")];
    let clip = [
        text(ACTIVATION, "clip"),
        float(ACTIVATION_ALPHA, -1.0),
        float(ACTIVATION_BETA, 2.0),
    ];
    let hard_swish = [text(ACTIVATION, "hard_swish")];
    type Expected = fn(f64) -> f64;
    let cases: [(&[Attribute], Expected); 4] = [
        (&[], |v| v),
        (&relu, |v| v.max(0.0)),
        (&clip, |v| v.clamp(-1.0, 2.0)),
        (&hard_swish, |v| v * (v / 6.0 + 0.5).clamp(0.0, 1.0)),
    ];
    for (activation, act) in cases {
        let out = run(OpCode::QLinearConvF32, &conv_attrs(activation), &all).unwrap();
        let (want, shape) = reference(&c, true, act);
        assert_eq!(out[0].shape(), shape);
        assert_close(
            out[0].as_slice::<f32>().unwrap(),
            &want,
            &format!("{activation:?}"),
        );
    }
    // Without the residual, the bias and the weight zero point.
    let out = run(OpCode::QLinearConvF32, &conv_attrs(&[]), &all[..5]).unwrap();
    let plain = Case {
        w_zero: vec![0; 4],
        bias: vec![0.0; 4],
        ..case()
    };
    let (want, _) = reference(&plain, false, |v| v);
    assert_close(out[0].as_slice::<f32>().unwrap(), &want, "no extras");
}

#[test]
fn bad_bias_and_residual_shapes_are_typed_errors() {
    let c = case();
    let tensors = inputs(&c);
    let short_bias = t(&[3], &c.bias[..3]);
    let wrong_residual = t(&[2, 4, 4, 5], &c.residual);
    let u8_residual = t(&[2, 4, 5, 4], &[0u8; 160]);
    for (index, bad) in [(6, &short_bias), (7, &wrong_residual), (7, &u8_residual)] {
        let mut all: Vec<Option<&Tensor>> = tensors.iter().map(Some).collect();
        all[index] = Some(bad);
        let err = run(OpCode::QLinearConvF32, &conv_attrs(&[]), &all).unwrap_err();
        assert!(matches!(err, OpError::ShapeMismatch { .. }), "{err:?}");
    }
    let all: Vec<Option<&Tensor>> = tensors.iter().map(Some).collect();
    let err = run(OpCode::QLinearConvF32, &conv_attrs(&[]), &all[..4]).unwrap_err();
    assert!(matches!(err, OpError::InputCount { .. }), "{err:?}");
}

#[test]
fn constant_dequantization_is_kept_per_scale_tensor() {
    let c = case();
    let tensors = inputs(&c);
    let op = build_operator(OpCode::QLinearConvF32, &conv_attrs(&[])).unwrap();
    let (want, _) = reference(&c, true, |v| v);
    // The scales and bias as model constants: the first run derives the
    // dequantizers, the second reuses them.
    let views: Vec<_> = tensors.iter().map(|t| Some(t.view().constant())).collect();
    for _ in 0..2 {
        let out = eval(op.as_ref(), &views, Isa::best()).unwrap();
        assert_close(out[0].as_slice::<f32>().unwrap(), &want, "constant scales");
    }
    // Other constant scales (another tensor) are not served from the cache.
    let doubled = Case {
        w_scale: c.w_scale.iter().map(|s| s * 2.0).collect(),
        ..case()
    };
    let other = inputs(&doubled);
    let mut views = views;
    views[4] = Some(other[4].view().constant());
    let out = eval(op.as_ref(), &views, Isa::best()).unwrap();
    let (want, _) = reference(&doubled, true, |v| v);
    assert_close(out[0].as_slice::<f32>().unwrap(), &want, "other scales");
}
