//! Binary arithmetic, `Pow`, `PRelu` and the variadic operators.

use super::*;
use pocketnn_tensor::f16;

fn binary_f32(code: OpCode, a: &Tensor, b: &Tensor) -> Tensor {
    run(&*op(code, &[]), &[a, b])
}

#[test]
fn add_sub_mul_div_broadcast_like_numpy() {
    let a = t(&[2, 3], &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let row = t(&[3], &[10.0f32, 20.0, 30.0]);
    let out = binary_f32(OpCode::Add, &a, &row);
    assert_eq!(
        values::<f32>(&out, &[2, 3]),
        [11.0, 22.0, 33.0, 14.0, 25.0, 36.0]
    );

    // A scalar on the left.
    let out = binary_f32(OpCode::Sub, &Tensor::scalar(10.0f32), &a);
    assert_eq!(values::<f32>(&out, &[2, 3]), [9.0, 8.0, 7.0, 6.0, 5.0, 4.0]);

    // Both sides broadcast: [2,1] * [1,3].
    let col = t(&[2, 1], &[2.0f32, -1.0]);
    let out = binary_f32(OpCode::Mul, &col, &t(&[1, 3], &[1.0f32, 2.0, 3.0]));
    assert_eq!(
        values::<f32>(&out, &[2, 3]),
        [2.0, 4.0, 6.0, -1.0, -2.0, -3.0]
    );

    // Rank mismatch with broadcasting in the middle: [2,1,3] / [4,1] -> [2,4,3].
    let x: Vec<f32> = (1..=6).map(|v| v as f32).collect();
    let y = [1.0f32, 2.0, 4.0, 8.0];
    let out = binary_f32(OpCode::Div, &t(&[2, 1, 3], &x), &t(&[4, 1], &y));
    let mut expected = Vec::new();
    for i in 0..2 {
        for divisor in y {
            for k in 0..3 {
                expected.push(x[i * 3 + k] / divisor);
            }
        }
    }
    assert_eq!(values::<f32>(&out, &[2, 4, 3]), expected);
}

#[test]
fn float_division_follows_ieee() {
    let a = t(&[5], &[1.0f32, -1.0, 0.0, -0.0, INF]);
    let b = t(&[5], &[0.0f32, 0.0, 0.0, 5.0, INF]);
    let out = values::<f32>(&binary_f32(OpCode::Div, &a, &b), &[5]);
    assert_eq!(out[..2], [INF, -INF]);
    assert!(out[2].is_nan() && out[4].is_nan());
    assert!(out[3] == 0.0 && out[3].is_sign_negative());
}

#[test]
fn integer_division_truncates_and_never_panics() {
    let a = t(&[6], &[7i32, -7, 7, -7, i32::MIN, 5]);
    let b = t(&[6], &[2i32, 2, -2, -2, -1, 0]);
    let out = binary_f32(OpCode::Div, &a, &b);
    // MIN / -1 wraps to MIN; division by zero gives 0.
    assert_eq!(values::<i32>(&out, &[6]), [3, -3, -3, 3, i32::MIN, 0]);

    let a = t(&[3], &[i64::MIN, -9, 9]);
    let out = binary_f32(OpCode::Div, &a, &Tensor::scalar(-1i64));
    assert_eq!(values::<i64>(&out, &[3]), [i64::MIN, 9, -9]);
    let out = binary_f32(OpCode::Div, &a, &Tensor::scalar(0i64));
    assert_eq!(values::<i64>(&out, &[3]), [0, 0, 0]);

    let out = binary_f32(OpCode::Div, &t(&[2], &[200u8, 7]), &t(&[2], &[7u8, 0]));
    assert_eq!(values::<u8>(&out, &[2]), [28, 0]);
    let out = binary_f32(OpCode::Div, &t(&[2], &[i8::MIN, 9]), &t(&[2], &[-1i8, -2]));
    assert_eq!(values::<i8>(&out, &[2]), [i8::MIN, -4]);
}

#[test]
fn integer_arithmetic_wraps_on_overflow() {
    let out = binary_f32(OpCode::Add, &t(&[2], &[i32::MAX, 1]), &Tensor::scalar(1i32));
    assert_eq!(values::<i32>(&out, &[2]), [i32::MIN, 2]);
    let out = binary_f32(OpCode::Sub, &t(&[1], &[i64::MIN]), &t(&[1], &[1i64]));
    assert_eq!(values::<i64>(&out, &[1]), [i64::MAX]);
    let out = binary_f32(OpCode::Mul, &t(&[2], &[100i8, -100]), &Tensor::scalar(3i8));
    assert_eq!(values::<i8>(&out, &[2]), [44, -44]);
    let out = binary_f32(OpCode::Add, &t(&[1], &[250u8]), &t(&[1], &[10u8]));
    assert_eq!(values::<u8>(&out, &[1]), [4]);
    let out = binary_f32(OpCode::Sub, &t(&[1], &[3u8]), &t(&[1], &[5u8]));
    assert_eq!(values::<u8>(&out, &[1]), [254]);
}

#[test]
fn mod_follows_the_divisor_sign_unless_fmod() {
    let a = t(&[6], &[5i32, -5, 5, -5, 3, i32::MIN]);
    let b = t(&[6], &[3i32, 3, -3, -3, 0, -1]);
    let python = run(&*op(OpCode::Mod, &[]), &[&a, &b]);
    assert_eq!(values::<i32>(&python, &[6]), [2, 1, -1, -2, 0, 0]);
    let c = run(&*op(OpCode::Mod, &[int("fmod", 1)]), &[&a, &b]);
    assert_eq!(values::<i32>(&c, &[6]), [2, -2, 2, -2, 0, 0]);

    let a = t(&[4], &[5.5f32, -5.5, 5.5, 1.0]);
    let b = t(&[4], &[2.0f32, 2.0, -2.0, 0.0]);
    let c = run(&*op(OpCode::Mod, &[int("fmod", 1)]), &[&a, &b]);
    let c = values::<f32>(&c, &[4]);
    assert_eq!(c[..3], [1.5, -1.5, 1.5]);
    assert!(c[3].is_nan());
    // fmod = 0 on floats (an extension): numpy's np.mod.
    let python = run(&*op(OpCode::Mod, &[]), &[&a, &b]);
    let python = values::<f32>(&python, &[4]);
    assert_eq!(python[..3], [1.5, 0.5, -0.5]);
    assert_bad_attribute(OpCode::Mod, &[int("fmod", 2)], "fmod");
}

/// The value of a tensor of shape `shape` (rank <= 2, numpy broadcasting)
/// at output position `(i, j)` of a `[2, 3]` output.
fn broadcast_at<T: Copy>(data: &[T], shape: &[usize], i: usize, j: usize) -> T {
    match shape {
        [] | [1] => data[0],
        [3] => data[j],
        [2, 1] => data[i],
        [1, 3] => data[j],
        [2, 3] => data[i * 3 + j],
        _ => unreachable!("test shape {shape:?}"),
    }
}

/// i32 `a kind b` written out independently of the operators: wrapping,
/// 0 for a zero divisor, Python's sign rule unless `fmod`.
fn i32_reference(code: OpCode, fmod: bool, x: i32, y: i32) -> i32 {
    match code {
        OpCode::Add => x.wrapping_add(y),
        OpCode::Sub => x.wrapping_sub(y),
        OpCode::Mul => x.wrapping_mul(y),
        _ if y == 0 => 0,
        OpCode::Div => x.wrapping_div(y),
        _ => {
            let r = x.wrapping_rem(y);
            if !fmod && r != 0 && (r < 0) != (y < 0) {
                r + y
            } else {
                r
            }
        }
    }
}

#[test]
fn integer_and_f16_arithmetic_match_a_scalar_reference_in_every_broadcast_form() {
    // Operand shape pairs covering the four lane combinations (run/run,
    // run/splat, splat/run, splat/splat within a row).
    let forms: [(&[usize], &[usize]); 5] = [
        (&[2, 3], &[2, 3]),
        (&[2, 3], &[3]),
        (&[2, 1], &[1, 3]),
        (&[1], &[2, 3]),
        (&[2, 1], &[2, 1]),
    ];
    let pool_a = [7i32, -7, i32::MAX, i32::MIN, 0, 13];
    let pool_b = [2i32, -3, 1, -1, 0, 5];
    let kinds = [
        (OpCode::Add, false),
        (OpCode::Sub, false),
        (OpCode::Mul, false),
        (OpCode::Div, false),
        (OpCode::Mod, false),
        (OpCode::Mod, true),
    ];
    for (code, fmod) in kinds {
        let attrs = if code == OpCode::Mod {
            vec![int("fmod", i64::from(fmod))]
        } else {
            vec![]
        };
        for (sa, sb) in forms {
            let len = |s: &[usize]| s.iter().product::<usize>();
            let (a, b) = (&pool_a[..len(sa)], &pool_b[..len(sb)]);
            let shape = [
                2,
                if sa.ends_with(&[1]) && sb.ends_with(&[1]) {
                    1
                } else {
                    3
                },
            ];
            let out = run(&*op(code, &attrs), &[&t(sa, a), &t(sb, b)]);
            let mut expected = Vec::new();
            for i in 0..2 {
                for j in 0..shape[1] {
                    let (x, y) = (broadcast_at(a, sa, i, j), broadcast_at(b, sb, i, j));
                    expected.push(i32_reference(code, fmod, x, y));
                }
            }
            assert_eq!(
                values::<i32>(&out, &shape),
                expected,
                "{code} fmod={fmod} {sa:?} {sb:?}"
            );

            // f16: the f32 result rounded to f16 (operands are small integers,
            // exact in f16). Integer division by zero has no float analogue.
            if code == OpCode::Mod || code == OpCode::Div {
                continue;
            }
            let half = |v: &[i32]| {
                v.iter()
                    .map(|&x| f16::from_f32((x % 100) as f32))
                    .collect::<Vec<_>>()
            };
            let (ha, hb) = (half(a), half(b));
            let out = run(&*op(code, &attrs), &[&t(sa, &ha), &t(sb, &hb)]);
            let mut expected = Vec::new();
            for i in 0..2 {
                for j in 0..shape[1] {
                    let x = broadcast_at(&ha, sa, i, j).to_f32();
                    let y = broadcast_at(&hb, sb, i, j).to_f32();
                    let v = match code {
                        OpCode::Add => x + y,
                        OpCode::Sub => x - y,
                        _ => x * y,
                    };
                    expected.push(f16::from_f32(v));
                }
            }
            assert_eq!(
                values::<f16>(&out, &shape),
                expected,
                "f16 {code} {sa:?} {sb:?}"
            );
        }
    }
}

#[test]
fn pow_with_float_and_integer_exponents() {
    let base = t(&[4], &[2.0f32, 4.0, 0.0, -2.0]);
    let out = run(
        &*op(OpCode::Pow, &[]),
        &[&base, &t(&[4], &[3.0f32, 0.5, 0.0, 2.0])],
    );
    assert_eq!(values::<f32>(&out, &[4]), [8.0, 2.0, 1.0, 4.0]);
    let out = run(
        &*op(OpCode::Pow, &[]),
        &[&base, &t(&[4], &[3i64, -2, 0, 3])],
    );
    assert_eq!(values::<f32>(&out, &[4]), [8.0, 0.0625, 1.0, -8.0]);
    let out = run(&*op(OpCode::Pow, &[]), &[&base, &Tensor::scalar(2i32)]);
    assert_eq!(values::<f32>(&out, &[4]), [4.0, 16.0, 0.0, 4.0]);
    let out = run(
        &*op(OpCode::Pow, &[]),
        &[&t(&[1], &[-8.0f32]), &Tensor::scalar(0.5f32)],
    );
    assert!(values::<f32>(&out, &[1])[0].is_nan());

    // Integer base: wrapping powers, negative exponents truncate 1/b^n.
    let base = t(&[7], &[2i32, -3, 0, 5, 1, -1, 2]);
    let exp = t(&[7], &[10i32, 3, 0, -1, -5, -3, 40]);
    let out = run(&*op(OpCode::Pow, &[]), &[&base, &exp]);
    assert_eq!(values::<i32>(&out, &[7]), [1024, -27, 1, 0, 1, -1, 0]);
    let out = run(
        &*op(OpCode::Pow, &[]),
        &[&t(&[2], &[3i64, 10]), &t(&[2], &[40u8, 18])],
    );
    assert_eq!(
        values::<i64>(&out, &[2]),
        [12157665459056928801u64 as i64, 1_000_000_000_000_000_000]
    );
    let out = run(
        &*op(OpCode::Pow, &[]),
        &[&t(&[2], &[4i64, 9]), &Tensor::scalar(0.5f32)],
    );
    assert_eq!(values::<i64>(&out, &[2]), [2, 3]);

    // The base dtype must be a Pow base.
    assert!(matches!(
        try_run(
            &*op(OpCode::Pow, &[]),
            &[&t(&[1], &[2u8]), &t(&[1], &[2u8])]
        ),
        Err(OpError::UnsupportedDType { index: 0, .. })
    ));
    assert!(matches!(
        try_run(
            &*op(OpCode::Pow, &[]),
            &[&t(&[1], &[2.0f32]), &b(&[1], &[1])]
        ),
        Err(OpError::UnsupportedDType { index: 1, .. })
    ));
}

#[test]
fn prelu_broadcasts_the_slope_to_the_input() {
    let x = t(&[2, 3], &[-1.0f32, 2.0, -3.0, 4.0, -5.0, 0.0]);
    let slope = t(&[3], &[0.1f32, 0.2, 0.3]);
    let out = run(&*op(OpCode::PRelu, &[]), &[&x, &slope]);
    assert_close(
        &values::<f32>(&out, &[2, 3]),
        &[-0.1, 2.0, -0.90000004, 4.0, -1.0, 0.0],
        1,
    );
    let slope = t(&[2, 1], &[2.0f32, 3.0]);
    let out = run(&*op(OpCode::PRelu, &[]), &[&x, &slope]);
    assert_eq!(
        values::<f32>(&out, &[2, 3]),
        [-2.0, 2.0, -6.0, 4.0, -15.0, 0.0]
    );
    let out = run(
        &*op(OpCode::PRelu, &[]),
        &[&t(&[3], &[-4i64, 0, 4]), &Tensor::scalar(3i64)],
    );
    assert_eq!(values::<i64>(&out, &[3]), [-12, 0, 4]);
    // The slope must broadcast to x without growing it.
    for bad in [t(&[4], &[0.0f32; 4]), t(&[3, 2, 3], &[0.0f32; 18])] {
        assert!(matches!(
            try_run(&*op(OpCode::PRelu, &[]), &[&x, &bad]),
            Err(OpError::ShapeMismatch { .. })
        ));
    }
}

#[test]
fn f16_arithmetic_rounds_each_result() {
    let a: Vec<f16> = [1.0f32, 2.5, -3.0].map(f16::from_f32).to_vec();
    let out = run(
        &*op(OpCode::Mul, &[]),
        &[&t(&[3], &a), &t(&[1], &[f16::from_f32(2.0)])],
    );
    let got: Vec<f32> = values::<f16>(&out, &[3])
        .iter()
        .map(|v| v.to_f32())
        .collect();
    assert_eq!(got, [2.0, 5.0, -6.0]);
}

#[test]
fn binary_errors_are_reported() {
    let f = t(&[2, 3], &[0.0f32; 6]);
    assert!(matches!(
        try_run(&*op(OpCode::Add, &[]), &[&f, &t(&[3], &[0i32; 3])]),
        Err(OpError::DTypeMismatch {
            index: 1,
            expected: DType::F32,
            actual: DType::I32
        })
    ));
    assert!(matches!(
        try_run(&*op(OpCode::Add, &[]), &[&f, &t(&[4], &[0.0f32; 4])]),
        Err(OpError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        try_run(&*op(OpCode::Sub, &[]), &[&b(&[1], &[1]), &b(&[1], &[0])]),
        Err(OpError::UnsupportedDType {
            index: 0,
            dtype: DType::Bool
        })
    ));
    assert!(matches!(
        try_run(&*op(OpCode::Mul, &[]), &[&f]),
        Err(OpError::InputCount { actual: 1, .. })
    ));
    assert!(matches!(
        try_run_opt(&*op(OpCode::Mul, &[]), &[Some(&f), None]),
        Err(OpError::MissingInput { index: 1 })
    ));
}

#[test]
fn empty_tensors_broadcast_to_empty_outputs() {
    let empty = t::<f32>(&[0, 3], &[]);
    let out = binary_f32(OpCode::Add, &empty, &t(&[3], &[1.0f32, 2.0, 3.0]));
    assert_eq!(out.shape(), &[0, 3]);
    let out = binary_f32(OpCode::Mul, &t::<f32>(&[0], &[]), &Tensor::scalar(2.0f32));
    assert_eq!(out.shape(), &[0]);
    let out = binary_f32(
        OpCode::Sub,
        &t::<f32>(&[2, 0], &[]),
        &t(&[2, 1], &[1.0f32, 2.0]),
    );
    assert_eq!(out.shape(), &[2, 0]);
    // A size-0 axis against a size-2 axis does not broadcast.
    assert!(
        try_run(
            &*op(OpCode::Add, &[]),
            &[&t::<f32>(&[0], &[]), &t(&[2], &[1.0f32, 2.0])]
        )
        .is_err()
    );
}

#[test]
fn max_min_sum_mean_fold_any_number_of_inputs() {
    let a = t(&[3], &[1.0f32, 5.0, NAN]);
    let m = t(&[2, 3], &[0.0f32, 6.0, 1.0, 2.0, -1.0, 0.0]);
    let s = Tensor::scalar(3.0f32);
    let max = run(&*op(OpCode::Max, &[]), &[&a, &m, &s]);
    assert_close(
        &values::<f32>(&max, &[2, 3]),
        &[3.0, 6.0, NAN, 3.0, 5.0, NAN],
        0,
    );
    let min = run(&*op(OpCode::Min, &[]), &[&a, &m, &s]);
    assert_close(
        &values::<f32>(&min, &[2, 3]),
        &[0.0, 3.0, NAN, 1.0, -1.0, NAN],
        0,
    );
    let sum = run(&*op(OpCode::Sum, &[]), &[&a, &m, &s]);
    assert_close(
        &values::<f32>(&sum, &[2, 3]),
        &[4.0, 14.0, NAN, 6.0, 7.0, NAN],
        0,
    );
    let mean = run(&*op(OpCode::Mean, &[]), &[&m, &s]);
    assert_close(
        &values::<f32>(&mean, &[2, 3]),
        &[1.5, 4.5, 2.0, 2.5, 1.0, 1.5],
        0,
    );
    // A single input is copied.
    let one = run(&*op(OpCode::Sum, &[]), &[&m]);
    assert_eq!(values::<f32>(&one, &[2, 3]), m.as_slice::<f32>().unwrap());
    // Integers (Max / Min only).
    let ints = run(
        &*op(OpCode::Max, &[]),
        &[&t(&[2], &[i64::MIN, 4]), &t(&[2, 1], &[0i64, 9])],
    );
    assert_eq!(values::<i64>(&ints, &[2, 2]), [0, 4, 9, 9]);
    let bytes = run(
        &*op(OpCode::Min, &[]),
        &[
            &t(&[2], &[200u8, 3]),
            &Tensor::scalar(100u8),
            &t(&[2], &[7u8, 255]),
        ],
    );
    assert_eq!(values::<u8>(&bytes, &[2]), [7, 3]);
}

#[test]
fn variadic_errors_are_reported() {
    assert!(matches!(
        try_run(&*op(OpCode::Max, &[]), &[]),
        Err(OpError::InputCount { actual: 0, .. })
    ));
    assert!(matches!(
        try_run(&*op(OpCode::Sum, &[]), &[&t(&[1], &[1i32])]),
        Err(OpError::UnsupportedDType { .. })
    ));
    assert!(matches!(
        try_run(
            &*op(OpCode::Min, &[]),
            &[&t(&[1], &[1.0f32]), &t(&[1], &[1.0f32]), &t(&[1], &[1i64])]
        ),
        Err(OpError::DTypeMismatch { index: 2, .. })
    ));
    assert!(matches!(
        try_run(
            &*op(OpCode::Mean, &[]),
            &[&t(&[2], &[1.0f32, 2.0]), &t(&[3], &[1.0f32, 2.0, 3.0])]
        ),
        Err(OpError::ShapeMismatch { .. })
    ));
}
