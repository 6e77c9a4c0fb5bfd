//! Unary operators, `Identity` and `Clip`.

use super::*;
use pocketnn_tensor::f16;

use super::unary_reference::*;

fn unary_f32(code: OpCode, attrs: &[Attribute]) -> Vec<f32> {
    let out = run(&*op(code, attrs), &[&t(&[X.len()], &X)]);
    values::<f32>(&out, &[X.len()])
}

#[test]
fn float_unary_ops_match_numpy_including_special_values() {
    let cases: &[(OpCode, Vec<Attribute>, &[f32])] = &[
        (OpCode::Sqrt, vec![], &REF_SQRT),
        (OpCode::Relu, vec![], &REF_RELU),
        (OpCode::LeakyRelu, vec![float("alpha", 0.1)], &REF_LEAKYRELU),
        (OpCode::Sigmoid, vec![], &REF_SIGMOID),
        (OpCode::Tanh, vec![], &REF_TANH),
        (OpCode::HardSigmoid, vec![], &REF_HARDSIGMOID),
        (OpCode::HardSwish, vec![], &REF_HARDSWISH),
        (OpCode::Erf, vec![], &REF_ERF),
        (OpCode::Gelu, vec![], &REF_GELUNONE),
        (
            OpCode::Gelu,
            vec![string("approximate", "tanh")],
            &REF_GELUTANH,
        ),
        (OpCode::Softplus, vec![], &REF_SOFTPLUS),
        (OpCode::Exp, vec![], &REF_EXP),
        (OpCode::Log, vec![], &REF_LOG),
        (OpCode::Neg, vec![], &REF_NEG),
        (OpCode::Abs, vec![], &REF_ABS),
        (OpCode::Reciprocal, vec![], &REF_RECIPROCAL),
        (OpCode::Floor, vec![], &REF_FLOOR),
        (OpCode::Ceil, vec![], &REF_CEIL),
        (OpCode::Round, vec![], &REF_ROUND),
        (OpCode::Sign, vec![], &REF_SIGN),
        (OpCode::Sin, vec![], &REF_SIN),
        (OpCode::Cos, vec![], &REF_COS),
        (OpCode::Elu, vec![], &REF_ELU),
        (OpCode::Selu, vec![], &REF_SELU),
        (OpCode::Softsign, vec![], &REF_SOFTSIGN),
        (OpCode::Silu, vec![], &REF_SILU),
        (OpCode::Mish, vec![], &REF_MISH),
    ];
    for (code, attrs, expected) in cases {
        let actual = unary_f32(*code, attrs);
        eprintln!("{code}");
        assert_close(&actual, expected, 4);
    }
}

#[test]
fn relu_and_neg_keep_the_sign_of_zero() {
    let relu = unary_f32(OpCode::Relu, &[]);
    assert!(relu[4].is_sign_negative() && relu[5].is_sign_positive());
    let neg = unary_f32(OpCode::Neg, &[]);
    assert!(neg[4].is_sign_positive() && neg[5].is_sign_negative());
}

#[test]
fn round_is_half_to_even() {
    let x = [0.5f32, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999998, 1e9 + 0.5];
    let out = run(&*op(OpCode::Round, &[]), &[&t(&[8], &x)]);
    assert_eq!(
        values::<f32>(&out, &[8]),
        [0.0, 2.0, 2.0, -0.0, -2.0, -2.0, 2.0, 1e9]
    );
}

#[test]
fn erf_is_accurate_on_a_dense_grid() {
    // Python math.erf at these points (rounded to f32).
    let x = [
        1e-30f32, 1e-5, 0.1, 0.3, 0.7, 0.99, 1.0, 1.3, 2.0, 3.0, 3.9, 4.0, -2.2, 6.0,
    ];
    let expected = [
        1.1283791670955126e-30f32,
        1.1283791670579e-05,
        0.1124629160182849,
        0.3286267594591112,
        0.6778011938374184,
        0.8385080531539573,
        0.8427007929497149,
        0.9340079449406524,
        0.9953222650189527,
        0.9999779095030014,
        0.9999999652077514,
        0.9999999845827421,
        -0.9981371537020182,
        1.0,
    ];
    let out = run(&*op(OpCode::Erf, &[]), &[&t(&[x.len()], &x)]);
    assert_close(&values::<f32>(&out, &[x.len()]), &expected, 1);
}

#[test]
fn f16_inputs_compute_like_f32_and_round() {
    let x: Vec<f16> = [-3.5f32, -0.5, 0.0, 0.25, 1.0, 2.5, 10.0]
        .map(f16::from_f32)
        .to_vec();
    let expected_sigmoid = [
        0.02931223064661026f32,
        0.3775406777858734,
        0.5,
        0.562176525592804,
        0.7310585975646973,
        0.9241418242454529,
        0.9999545812606812,
    ];
    let out = run(&*op(OpCode::Sigmoid, &[]), &[&t(&[7], &x)]);
    assert_eq!(out.dtype(), DType::F16);
    let got: Vec<f32> = values::<f16>(&out, &[7])
        .iter()
        .map(|v| v.to_f32())
        .collect();
    assert_near(&got, &expected_sigmoid, 1e-3);
    // A long f16 tensor crosses the 256-element conversion blocks.
    let long: Vec<f16> = (0..600).map(|i| f16::from_f32(i as f32 - 300.0)).collect();
    let out = run(&*op(OpCode::Abs, &[]), &[&t(&[600], &long)]);
    let got = values::<f16>(&out, &[600]);
    for (i, v) in got.iter().enumerate() {
        assert_eq!(v.to_f32(), (i as f32 - 300.0).abs());
    }
}

#[test]
fn integer_neg_abs_sign_relu_wrap_instead_of_panicking() {
    let x = [i64::MIN, -7, -1, 0, 1, 9, i64::MAX];
    let run_i64 = |code| values::<i64>(&run(&*op(code, &[]), &[&t(&[7], &x)]), &[7]);
    assert_eq!(run_i64(OpCode::Neg), [i64::MIN, 7, 1, 0, -1, -9, -i64::MAX]);
    assert_eq!(run_i64(OpCode::Abs), [i64::MIN, 7, 1, 0, 1, 9, i64::MAX]);
    assert_eq!(run_i64(OpCode::Sign), [-1, -1, -1, 0, 1, 1, 1]);
    assert_eq!(run_i64(OpCode::Relu), [0, 0, 0, 0, 1, 9, i64::MAX]);

    let x = [i32::MIN, -5, 0, 5];
    let out = run(&*op(OpCode::Neg, &[]), &[&t(&[4], &x)]);
    assert_eq!(values::<i32>(&out, &[4]), [i32::MIN, 5, 0, -5]);

    let x = [i8::MIN, -3, 0, 3, i8::MAX];
    let out = run(&*op(OpCode::Abs, &[]), &[&t(&[5], &x)]);
    assert_eq!(values::<i8>(&out, &[5]), [i8::MIN, 3, 0, 3, i8::MAX]);
    let out = run(&*op(OpCode::Relu, &[]), &[&t(&[5], &x)]);
    assert_eq!(values::<i8>(&out, &[5]), [0, 0, 0, 3, i8::MAX]);

    let x = [0u8, 1, 200];
    let out = run(&*op(OpCode::Sign, &[]), &[&t(&[3], &x)]);
    assert_eq!(values::<u8>(&out, &[3]), [0, 1, 1]);
    let out = run(&*op(OpCode::Abs, &[]), &[&t(&[3], &x)]);
    assert_eq!(values::<u8>(&out, &[3]), [0, 1, 200]);
}

#[test]
fn unsupported_dtypes_and_bad_attributes_are_errors() {
    let ints = t(&[2], &[1i32, 2]);
    for code in [
        OpCode::Sqrt,
        OpCode::Exp,
        OpCode::Sigmoid,
        OpCode::Gelu,
        OpCode::Silu,
    ] {
        assert!(matches!(
            try_run(&*op(code, &[]), &[&ints]),
            Err(OpError::UnsupportedDType {
                index: 0,
                dtype: DType::I32
            })
        ));
    }
    let bytes = t(&[2], &[1u8, 2]);
    for code in [OpCode::Neg, OpCode::Relu] {
        assert!(matches!(
            try_run(&*op(code, &[]), &[&bytes]),
            Err(OpError::UnsupportedDType {
                index: 0,
                dtype: DType::U8
            })
        ));
    }
    assert!(matches!(
        try_run(&*op(OpCode::Abs, &[]), &[&b(&[1], &[1])]),
        Err(OpError::UnsupportedDType { .. })
    ));
    assert_bad_attribute(
        OpCode::Gelu,
        &[string("approximate", "fast")],
        "approximate",
    );
    assert_bad_attribute(OpCode::LeakyRelu, &[string("alpha", "big")], "alpha");
    let x = t(&[1], &[1.0f32]);
    assert!(matches!(
        try_run(&*op(OpCode::Relu, &[]), &[&x, &x]),
        Err(OpError::InputCount { actual: 2, .. })
    ));
    assert!(matches!(
        try_run_opt(&*op(OpCode::Relu, &[]), &[None]),
        Err(OpError::MissingInput { index: 0 })
    ));
}

#[test]
fn attributes_change_the_activation() {
    let x = t(&[3], &[-2.0f32, 0.5, 3.0]);
    let out = run(&*op(OpCode::Elu, &[float("alpha", 2.0)]), &[&x]);
    // 2 * (e^-2 - 1)
    assert_close(
        &values::<f32>(&out, &[3]),
        &[-1.7293294335267746, 0.5, 3.0],
        2,
    );
    let out = run(
        &*op(
            OpCode::HardSigmoid,
            &[float("alpha", 0.5), float("beta", 0.25)],
        ),
        &[&x],
    );
    assert_close(&values::<f32>(&out, &[3]), &[0.0, 0.5, 1.0], 0);
    let out = run(
        &*op(OpCode::Selu, &[float("alpha", 2.0), float("gamma", 3.0)]),
        &[&x],
    );
    assert_close(
        &values::<f32>(&out, &[3]),
        &[-5.187988300580324, 1.5, 9.0],
        2,
    );
}

#[test]
fn empty_and_scalar_tensors() {
    let empty = t::<f32>(&[0, 3], &[]);
    let out = run(&*op(OpCode::Tanh, &[]), &[&empty]);
    assert_eq!(out.shape(), &[0, 3]);
    let scalar = Tensor::scalar(4.0f32);
    let out = run(&*op(OpCode::Sqrt, &[]), &[&scalar]);
    assert_eq!(values::<f32>(&out, &[]), [2.0]);
}

#[test]
fn identity_copies_any_dtype() {
    let x = t(&[2, 2], &[1i64, -2, 3, i64::MAX]);
    let out = run(&*op(OpCode::Identity, &[]), &[&x]);
    assert_eq!(values::<i64>(&out, &[2, 2]), [1, -2, 3, i64::MAX]);
    let out = run(&*op(OpCode::Identity, &[]), &[&b(&[3], &[1, 0, 1])]);
    assert_eq!(out.dtype(), DType::Bool);
    assert_eq!(out.bytes(), &[1, 0, 1]);
}

#[test]
fn clip_with_optional_bounds() {
    let clip = op(OpCode::Clip, &[]);
    let x = t(&[6], &[-5.0f32, -1.0, 0.0, 2.0, 9.0, NAN]);
    let lo = Tensor::scalar(-1.5f32);
    let hi = t(&[1], &[3.0f32]);
    let both = try_run_opt(&*clip, &[Some(&x), Some(&lo), Some(&hi)]).unwrap();
    assert_close(
        both[0].as_slice::<f32>().unwrap(),
        &[-1.5, -1.0, 0.0, 2.0, 3.0, NAN],
        0,
    );
    let only_max = try_run_opt(&*clip, &[Some(&x), None, Some(&hi)]).unwrap();
    assert_close(
        only_max[0].as_slice::<f32>().unwrap(),
        &[-5.0, -1.0, 0.0, 2.0, 3.0, NAN],
        0,
    );
    let none = try_run_opt(&*clip, &[Some(&x)]).unwrap();
    assert_close(
        none[0].as_slice::<f32>().unwrap(),
        &[-5.0, -1.0, 0.0, 2.0, 9.0, NAN],
        0,
    );
    // min > max: everything becomes max (ONNX).
    let (lo, hi) = (Tensor::scalar(4.0f32), Tensor::scalar(1.0f32));
    let crossed = try_run_opt(&*clip, &[Some(&x), Some(&lo), Some(&hi)]).unwrap();
    assert_close(
        crossed[0].as_slice::<f32>().unwrap(),
        &[1.0, 1.0, 1.0, 1.0, 1.0, NAN],
        0,
    );

    let x = t(&[5], &[i8::MIN, -3, 0, 7, i8::MAX]);
    let out = run(&*clip, &[&x, &Tensor::scalar(-4i8), &Tensor::scalar(5i8)]);
    assert_eq!(values::<i8>(&out, &[5]), [-4, -3, 0, 5, 5]);
    let x = t(&[3], &[0u8, 100, 255]);
    let out = try_run_opt(&*clip, &[Some(&x), Some(&Tensor::scalar(10u8)), None]).unwrap();
    assert_eq!(out[0].as_slice::<u8>().unwrap(), [10, 100, 255]);
    let x = t(&[3], &[i64::MIN, 0, i64::MAX]);
    let out = run(&*clip, &[&x, &Tensor::scalar(-1i64), &Tensor::scalar(1i64)]);
    assert_eq!(values::<i64>(&out, &[3]), [-1, 0, 1]);
}

#[test]
fn clip_rejects_bad_bounds() {
    let clip = op(OpCode::Clip, &[]);
    let x = t(&[2], &[1.0f32, 2.0]);
    assert!(matches!(
        try_run(&*clip, &[&x, &Tensor::scalar(0i32)]),
        Err(OpError::DTypeMismatch { index: 1, .. })
    ));
    assert!(matches!(
        try_run(&*clip, &[&x, &t(&[2], &[0.0f32, 1.0])]),
        Err(OpError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        try_run(&*clip, &[&b(&[1], &[1])]),
        Err(OpError::UnsupportedDType { .. })
    ));
}

#[test]
fn gelu_keeps_relative_accuracy_in_the_negative_tail() {
    // numpy float64: 0.5·x·erfc(-x/√2) and x / (1 + e^(-2u)) for tanh.
    let x = [-12.0f32, -8.0, -5.5, -3.5, -1.2, -0.3, 0.7, 3.0, 6.0];
    let exact = [
        -2.1317785478098008e-32f32,
        -4.9767683396140065e-15,
        -1.0444259146424884e-07,
        -0.0008142017759382725,
        -0.13808360695838928,
        -0.11462657153606415,
        0.5306254625320435,
        2.995950222015381,
        6.0,
    ];
    let tanh = [
        -0.0f32,
        -3.1077829926406476e-21,
        -5.927640156500047e-09,
        -0.0006161976489238441,
        -0.13829723000526428,
        -0.11462907493114471,
        0.5305701494216919,
        2.9963626861572266,
        6.0,
    ];
    let input = t(&[x.len()], &x);
    let out = run(&*op(OpCode::Gelu, &[]), &[&input]);
    // Within the vector kernels' documented ulp bounds.
    use pocketnn_tensor::kernels::activation::Activation;
    let bound = |a: Activation| u64::from(a.max_ulp_error());
    assert_close(
        &values::<f32>(&out, &[x.len()]),
        &exact,
        bound(Activation::Gelu),
    );
    let out = run(
        &*op(OpCode::Gelu, &[string("approximate", "tanh")]),
        &[&input],
    );
    assert_close(
        &values::<f32>(&out, &[x.len()]),
        &tanh,
        bound(Activation::GeluTanh),
    );
}
