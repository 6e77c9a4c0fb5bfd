//! `LowRankLinear` against `act(X · (U·V)ᵀ + bias)` with the dense weight
//! formed in the test (f64), on both tiers, 1 and 2 threads, constant and
//! computed factors; and its typed errors.

use super::{Lcg, assert_close, build, check, string, tiers};
use crate::error::OpError;
use crate::operator::{InputInfo, RunContext};
use pocketnn_format::{Attribute, DType, OpCode};
use pocketnn_tensor::kernels::activation::Activation;
use pocketnn_tensor::{AlignedBuf, Tensor, TensorView, TensorViewMut};

/// `act(x · (u·v)ᵀ + bias)` for `x` of shape `[rows, k]`.
fn dense_reference(
    x: &Tensor,
    v: &Tensor,
    u: &Tensor,
    bias: Option<&Tensor>,
    activation: Activation,
) -> Vec<f32> {
    let (r, k) = (v.shape()[0], v.shape()[1]);
    let m = u.shape()[0];
    let (x, v, u) = (
        x.as_slice::<f32>().unwrap(),
        v.as_slice::<f32>().unwrap(),
        u.as_slice::<f32>().unwrap(),
    );
    let rows = x.len() / k;
    let mut w = vec![0.0f64; m * k];
    for i in 0..m {
        for p in 0..k {
            for j in 0..r {
                w[i * k + p] += f64::from(u[i * r + j]) * f64::from(v[j * k + p]);
            }
        }
    }
    let mut y = Vec::with_capacity(rows * m);
    for row in 0..rows {
        for i in 0..m {
            let mut sum: f64 = (0..k)
                .map(|p| f64::from(x[row * k + p]) * w[i * k + p])
                .sum();
            if let Some(b) = bias {
                sum += f64::from(b.as_slice::<f32>().unwrap()[i]);
            }
            y.push(activation.apply_reference(sum as f32));
        }
    }
    y
}

fn attrs_for(activation: Activation) -> Vec<Attribute> {
    match activation {
        Activation::None => Vec::new(),
        Activation::Relu => vec![string("activation", "relu")],
        other => panic!("no attributes written for {other:?}"),
    }
}

#[test]
fn matches_the_dense_product_of_the_factors() {
    let mut rng = Lcg(7);
    let cases: [(&[usize], usize, usize); 6] = [
        (&[1, 9], 1, 4),
        (&[5, 40], 3, 17),
        (&[2, 3, 33], 8, 35),
        (&[33], 5, 6),
        (&[40, 20], 20, 7),
        (&[3, 6], 9, 4),
    ];
    for (x_shape, r, m) in cases {
        let k = *x_shape.last().unwrap();
        let x = rng.tensor(x_shape);
        let v = rng.tensor(&[r, k]);
        let u = rng.tensor(&[m, r]);
        let bias = rng.tensor(&[m]);
        let mut y_shape = x_shape.to_vec();
        *y_shape.last_mut().unwrap() = m;
        for activation in [Activation::None, Activation::Relu] {
            let op = build(OpCode::LowRankLinear, &attrs_for(activation));
            for with_bias in [false, true] {
                let b = with_bias.then_some(&bias);
                let expected = dense_reference(&x, &v, &u, b, activation);
                let inputs = [Some(&x), Some(&v), Some(&u), b];
                let n = if with_bias { 4 } else { 3 };
                let what = format!("x {x_shape:?} r {r} m {m} {activation:?} bias {with_bias}");
                check(op.as_ref(), &inputs[..n], &y_shape, &expected, 1e-4, &what);
            }
        }
    }
}

#[test]
fn constant_factors_are_packed_once_and_give_the_same_results() {
    let mut rng = Lcg(11);
    let (x, v, u, bias) = (
        rng.tensor(&[17, 30]),
        rng.tensor(&[6, 30]),
        rng.tensor(&[13, 6]),
        rng.tensor(&[13]),
    );
    let expected = dense_reference(&x, &v, &u, Some(&bias), Activation::Relu);
    let op = build(OpCode::LowRankLinear, &attrs_for(Activation::Relu));
    for isa in tiers() {
        for threads in [1, 2] {
            // Twice: the second run uses the packing the first one made.
            for _ in 0..2 {
                let views = [
                    Some(x.view()),
                    Some(v.view().constant()),
                    Some(u.view().constant()),
                    Some(bias.view()),
                ];
                let mut y = Tensor::zeros(DType::F32, &[17, 13]).unwrap();
                y.as_slice_mut::<f32>().unwrap().fill(f32::NAN);
                let mut scratch = AlignedBuf::new();
                let mut ctx = RunContext {
                    isa,
                    threads,
                    scratch: &mut scratch,
                };
                let mut outputs: Vec<TensorViewMut<'_>> = vec![y.view_mut()];
                op.run(&mut ctx, &views, &mut outputs).unwrap();
                drop(outputs);
                let what = format!("{isa} threads {threads}");
                assert_close(y.as_slice::<f32>().unwrap(), &expected, 1e-4, &what);
            }
        }
    }
}

fn infer_error(inputs: &[Option<&Tensor>]) -> OpError {
    let op = build(OpCode::LowRankLinear, &[]);
    let views: Vec<Option<TensorView<'_>>> = inputs.iter().map(|t| t.map(Tensor::view)).collect();
    let infos: Vec<Option<InputInfo<'_>>> = views.iter().map(|v| v.map(InputInfo::from)).collect();
    match op.infer(&infos) {
        Ok(specs) => panic!("inferred {specs:?}"),
        Err(e) => e,
    }
}

#[test]
fn wrong_shapes_and_dtypes_are_typed_errors() {
    let f32s = |shape: &[usize]| Tensor::zeros(DType::F32, shape).unwrap();
    let (x, v, u) = (f32s(&[2, 4]), f32s(&[3, 4]), f32s(&[5, 3]));
    let shape_cases = [
        (f32s(&[2, 5]), v.clone(), u.clone(), None), // K differs
        (x.clone(), v.clone(), f32s(&[5, 2]), None), // r differs
        (x.clone(), f32s(&[0, 4]), f32s(&[5, 0]), None), // r = 0
        (x.clone(), f32s(&[3, 4, 1]), u.clone(), None), // V not 2-D
        (x.clone(), v.clone(), u.clone(), Some(f32s(&[4]))), // bias not [M]
        (f32s(&[]), v.clone(), u.clone(), None),     // scalar X
    ];
    for (x, v, u, bias) in &shape_cases {
        let inputs = [Some(x), Some(v), Some(u), bias.as_ref()];
        let n = if bias.is_some() { 4 } else { 3 };
        let error = infer_error(&inputs[..n]);
        assert!(matches!(error, OpError::ShapeMismatch { .. }), "{error}");
    }
    let ints = Tensor::zeros(DType::I32, &[3, 4]).unwrap();
    let error = infer_error(&[Some(&x), Some(&ints), Some(&u)]);
    assert!(
        matches!(error, OpError::UnsupportedDType { index: 1, .. }),
        "{error}"
    );
    let error = infer_error(&[Some(&x), Some(&v)]);
    assert!(matches!(error, OpError::InputCount { .. }), "{error}");
}
