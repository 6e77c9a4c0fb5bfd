//! Reductions, `ArgMax` and `ArgMin`.

use super::*;
use crate::InputInfo;
use pocketnn_tensor::f16;

/// x = arange(24).reshape(2,3,4) * 0.75 - 7 with x[1,2,3] = -20 (numpy).
const X: [f32; 24] = [
    -7.0, -6.25, -5.5, -4.75, -4.0, -3.25, -2.5, -1.75, -1.0, -0.25, 0.5, 1.25, 2.0, 2.75, 3.5,
    4.25, 5.0, 5.75, 6.5, 7.25, 8.0, 8.75, 9.5, -20.0,
];

fn reduce(
    code: OpCode,
    attrs: &[Attribute],
    x: &Tensor,
    axes: Option<&[i64]>,
) -> OpResult<Vec<Tensor>> {
    let axes = axes.map(|a| t(&[a.len()], a));
    try_run_opt(&*op(code, attrs), &[Some(x), axes.as_ref()])
}

#[test]
fn reductions_match_numpy_over_every_axis_pattern() {
    let x = t(&[2, 3, 4], &X);
    // Expected values from numpy (float64, keepdims=True).
    type Case = (OpCode, &'static [i64], &'static [usize], &'static [f32]);
    let cases: &[Case] = &[
        (
            OpCode::ReduceSum,
            &[1],
            &[2, 1, 4],
            &[-12.0, -9.75, -7.5, -5.25, 15.0, 17.25, 19.5, -8.5],
        ),
        (OpCode::ReduceSum, &[0, 2], &[1, 3, 1], &[-11.0, 13.0, 6.75]),
        (
            OpCode::ReduceSum,
            &[2],
            &[2, 3, 1],
            &[-23.5, -11.5, 0.5, 12.5, 24.5, 6.25],
        ),
        (
            OpCode::ReduceSum,
            &[0],
            &[1, 3, 4],
            &[
                -5.0, -3.5, -2.0, -0.5, 1.0, 2.5, 4.0, 5.5, 7.0, 8.5, 10.0, -18.75,
            ],
        ),
        (OpCode::ReduceSum, &[-1, -2], &[2, 1, 1], &[-34.5, 43.25]),
        (
            OpCode::ReduceMean,
            &[1],
            &[2, 1, 4],
            &[-4.0, -3.25, -2.5, -1.75, 5.0, 5.75, 6.5, -2.8333333],
        ),
        (
            OpCode::ReduceMean,
            &[0, 2],
            &[1, 3, 1],
            &[-1.375, 1.625, 0.84375],
        ),
        (
            OpCode::ReduceMean,
            &[2],
            &[2, 3, 1],
            &[-5.875, -2.875, 0.125, 3.125, 6.125, 1.5625],
        ),
        (
            OpCode::ReduceMean,
            &[-1, -2],
            &[2, 1, 1],
            &[-2.875, 3.6041667],
        ),
        (
            OpCode::ReduceMax,
            &[1],
            &[2, 1, 4],
            &[-1.0, -0.25, 0.5, 1.25, 8.0, 8.75, 9.5, 7.25],
        ),
        (OpCode::ReduceMax, &[0, 2], &[1, 3, 1], &[4.25, 7.25, 9.5]),
        (
            OpCode::ReduceMax,
            &[2],
            &[2, 3, 1],
            &[-4.75, -1.75, 1.25, 4.25, 7.25, 9.5],
        ),
        (
            OpCode::ReduceMin,
            &[0],
            &[1, 3, 4],
            &[
                -7.0, -6.25, -5.5, -4.75, -4.0, -3.25, -2.5, -1.75, -1.0, -0.25, 0.5, -20.0,
            ],
        ),
        (OpCode::ReduceMin, &[0, 2], &[1, 3, 1], &[-7.0, -4.0, -20.0]),
        (
            OpCode::ReduceProd,
            &[1],
            &[2, 1, 4],
            &[
                -28.0, -5.078125, 6.875, 10.390625, 80.0, 138.359375, 216.125, -616.25,
            ],
        ),
        (
            OpCode::ReduceProd,
            &[0, 2],
            &[1, 3, 1],
            &[93509.1328125, 77056.734375, -2078.125],
        ),
        (
            OpCode::ReduceProd,
            &[2],
            &[2, 3, 1],
            &[1142.96875, 56.875, 0.15625, 81.8125, 1354.84375, -13300.0],
        ),
        (
            OpCode::ReduceProd,
            &[-1, -2],
            &[2, 1, 1],
            &[10157.2421875, -1474214016.0],
        ),
    ];
    for &(code, axes, shape, expected) in cases {
        let out = reduce(code, &[], &x, Some(axes)).unwrap();
        eprintln!("{code} {axes:?}");
        assert_close(&values::<f32>(&out[0], shape), expected, 4);
    }
    // No axes: everything, to a [1,1,1] (keepdims) or a scalar.
    let all = reduce(OpCode::ReduceSum, &[], &x, None).unwrap();
    assert_close(&values::<f32>(&all[0], &[1, 1, 1]), &[8.75], 2);
    let all = reduce(OpCode::ReduceMean, &[int("keepdims", 0)], &x, Some(&[])).unwrap();
    assert_close(&values::<f32>(&all[0], &[]), &[0.36458334], 4);
    let all = reduce(OpCode::ReduceMax, &[int("keepdims", 0)], &x, None).unwrap();
    assert_eq!(values::<f32>(&all[0], &[]), [9.5]);
    let out = reduce(OpCode::ReduceMin, &[int("keepdims", 0)], &x, Some(&[0, 2])).unwrap();
    assert_eq!(values::<f32>(&out[0], &[3]), [-7.0, -4.0, -20.0]);
}

/// A naive reduction written separately from the operator: each input
/// element's output index is decoded with divisions.
fn naive_sum(x: &[f32], shape: &[usize], mask: &[bool]) -> Vec<f32> {
    let out_shape: Vec<usize> = shape
        .iter()
        .zip(mask)
        .map(|(&d, &m)| if m { 1 } else { d })
        .collect();
    let mut out = vec![0.0f32; out_shape.iter().product()];
    for (i, &v) in x.iter().enumerate() {
        let mut rest = i;
        let mut index = vec![0; shape.len()];
        for axis in (0..shape.len()).rev() {
            index[axis] = rest % shape[axis];
            rest /= shape[axis];
        }
        let mut o = 0;
        for axis in 0..shape.len() {
            o = o * out_shape[axis] + if mask[axis] { 0 } else { index[axis] };
        }
        out[o] += v;
    }
    out
}

#[test]
fn every_axis_subset_of_a_tensor_with_unit_axes_matches_a_naive_sum() {
    let shape = [2usize, 1, 3, 2, 1, 2];
    let n: usize = shape.iter().product();
    // Small integers: every summation order gives the exact same result.
    let x: Vec<f32> = (0..n).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
    let input = t(&shape, &x);
    for bits in 0u32..(1 << shape.len()) {
        let mask: Vec<bool> = (0..shape.len()).map(|a| bits & (1 << a) != 0).collect();
        let axes: Vec<i64> = (0..shape.len() as i64)
            .filter(|&a| mask[a as usize])
            .collect();
        let expected = if axes.is_empty() {
            naive_sum(&x, &shape, &[true; 6])
        } else {
            naive_sum(&x, &shape, &mask)
        };
        let out = reduce(OpCode::ReduceSum, &[], &input, Some(&axes)).unwrap();
        assert_eq!(out[0].as_slice::<f32>().unwrap(), expected, "axes {axes:?}");
    }
}

#[test]
fn integer_reductions_wrap_and_truncate() {
    let x = t(&[2, 3], &[i32::MAX, 1, 0, -7, 2, 0]);
    let sum = reduce(OpCode::ReduceSum, &[int("keepdims", 0)], &x, Some(&[1])).unwrap();
    assert_eq!(values::<i32>(&sum[0], &[2]), [i32::MIN, -5]);
    let mean = reduce(OpCode::ReduceMean, &[int("keepdims", 0)], &x, Some(&[1])).unwrap();
    // (2^31 - 1 + 1) / 3 computed in i64 = 715827882; -5 / 3 truncates to -1.
    assert_eq!(values::<i32>(&mean[0], &[2]), [715_827_882, -1]);
    let prod = reduce(OpCode::ReduceProd, &[], &t(&[3], &[i64::MAX, 2, 1]), None).unwrap();
    assert_eq!(values::<i64>(&prod[0], &[1]), [-2]);
    let max = reduce(
        OpCode::ReduceMax,
        &[],
        &t(&[2, 2], &[i8::MIN, -3, 5, i8::MIN]),
        Some(&[0]),
    )
    .unwrap();
    assert_eq!(values::<i8>(&max[0], &[1, 2]), [5, -3]);
    let min = reduce(OpCode::ReduceMin, &[], &t(&[3], &[200u8, 7, 255]), None).unwrap();
    assert_eq!(values::<u8>(&min[0], &[1]), [7]);
    // ReduceSum is not defined on 8-bit integers in ONNX.
    assert!(matches!(
        reduce(OpCode::ReduceSum, &[], &t(&[1], &[1u8]), None),
        Err(OpError::UnsupportedDType { .. })
    ));
}

/// Every reduction of a `[2, 3, 4]` tensor over `axes`, computed naively in
/// i64 (wrapping, truncating mean) and narrowed to i32.
fn naive_i32(code: OpCode, x: &[i32], axes: &[usize]) -> Vec<i32> {
    let dims = [2usize, 3, 4];
    let kept: Vec<usize> = (0..3)
        .map(|a| if axes.contains(&a) { 1 } else { dims[a] })
        .collect();
    let mut groups: Vec<Vec<i64>> = vec![Vec::new(); kept.iter().product()];
    for (flat, &v) in x.iter().enumerate() {
        let index = [flat / 12, flat / 4 % 3, flat % 4];
        let out = (0..3).fold(0, |acc, a| {
            acc * kept[a] + if axes.contains(&a) { 0 } else { index[a] }
        });
        groups[out].push(i64::from(v));
    }
    groups
        .iter()
        .map(|g| {
            let value = match code {
                OpCode::ReduceSum => g.iter().fold(0i64, |a, &v| a.wrapping_add(v)),
                OpCode::ReduceMean => {
                    g.iter().fold(0i64, |a, &v| a.wrapping_add(v)) / g.len() as i64
                }
                OpCode::ReduceProd => g.iter().fold(1i64, |a, &v| a.wrapping_mul(v)),
                OpCode::ReduceMax => *g.iter().max().unwrap(),
                _ => *g.iter().min().unwrap(),
            };
            value as i32
        })
        .collect()
}

#[test]
fn integer_reductions_of_every_kind_and_layout_match_a_naive_reference() {
    let x: Vec<i32> = (0..24).map(|i| (i * 7919 % 23) - 11).collect();
    let codes = [
        OpCode::ReduceSum,
        OpCode::ReduceMean,
        OpCode::ReduceProd,
        OpCode::ReduceMax,
        OpCode::ReduceMin,
    ];
    // One block with rows (axis 1), rows ending the tensor (axis 2), and
    // two separate axes (the scatter path).
    let layouts: [&[usize]; 3] = [&[1], &[2], &[0, 2]];
    for code in codes {
        for axes in layouts {
            let axes_i64: Vec<i64> = axes.iter().map(|&a| a as i64).collect();
            let out = reduce(code, &[], &t(&[2, 3, 4], &x), Some(&axes_i64)).unwrap();
            let shape: Vec<usize> = (0..3)
                .map(|a| if axes.contains(&a) { 1 } else { [2, 3, 4][a] })
                .collect();
            assert_eq!(
                values::<i32>(&out[0], &shape),
                naive_i32(code, &x, axes),
                "{code} {axes:?}"
            );
        }
    }
}

#[test]
fn empty_reductions_give_the_identity() {
    let x = t::<f32>(&[2, 0, 3], &[]);
    let check = |code, expected: f32| {
        let out = reduce(code, &[int("keepdims", 0)], &x, Some(&[1])).unwrap();
        assert_close(&values::<f32>(&out[0], &[2, 3]), &[expected; 6], 0);
    };
    check(OpCode::ReduceSum, 0.0);
    check(OpCode::ReduceProd, 1.0);
    check(OpCode::ReduceMax, -INF);
    check(OpCode::ReduceMin, INF);
    check(OpCode::ReduceMean, NAN);
    let xi = t::<i64>(&[0], &[]);
    let out = reduce(OpCode::ReduceMax, &[], &xi, None).unwrap();
    assert_eq!(values::<i64>(&out[0], &[1]), [i64::MIN]);
    let out = reduce(OpCode::ReduceMean, &[], &xi, None).unwrap();
    assert_eq!(values::<i64>(&out[0], &[1]), [0]);
    // Reducing a non-empty axis of an empty tensor gives an empty output.
    let out = reduce(OpCode::ReduceSum, &[], &x, Some(&[2])).unwrap();
    assert_eq!(out[0].shape(), &[2, 0, 1]);
}

#[test]
fn nan_propagates_through_max_min_and_sum() {
    let x = t(&[2, 3], &[1.0f32, NAN, 3.0, -INF, 2.0, 0.0]);
    for (code, expected) in [
        (OpCode::ReduceMax, [NAN, 2.0]),
        (OpCode::ReduceMin, [NAN, -INF]),
        (OpCode::ReduceSum, [NAN, -INF]),
    ] {
        let out = reduce(code, &[int("keepdims", 0)], &x, Some(&[1])).unwrap();
        assert_close(&values::<f32>(&out[0], &[2]), &expected, 0);
    }
    let out = reduce(OpCode::ReduceMax, &[], &x, Some(&[0])).unwrap();
    assert_close(&values::<f32>(&out[0], &[1, 3]), &[1.0, NAN, 3.0], 0);
}

#[test]
fn noop_with_empty_axes_passes_the_input_through() {
    let x = t(&[2, 2], &[1.0f32, 2.0, 3.0, 4.0]);
    let attrs = [int("noop_with_empty_axes", 1)];
    let out = reduce(OpCode::ReduceSum, &attrs, &x, None).unwrap();
    assert_eq!(values::<f32>(&out[0], &[2, 2]), [1.0, 2.0, 3.0, 4.0]);
    let out = reduce(OpCode::ReduceSum, &attrs, &x, Some(&[])).unwrap();
    assert_eq!(values::<f32>(&out[0], &[2, 2]), [1.0, 2.0, 3.0, 4.0]);
    let out = reduce(OpCode::ReduceSum, &attrs, &x, Some(&[0])).unwrap();
    assert_eq!(values::<f32>(&out[0], &[1, 2]), [4.0, 6.0]);
}

#[test]
fn f16_reductions_accumulate_in_f32() {
    // 4096 + 1 + 1 ... is not representable step by step in f16.
    let mut v = vec![f16::from_f32(2048.0)];
    v.extend(std::iter::repeat_n(f16::ONE, 16));
    let out = reduce(OpCode::ReduceSum, &[], &t(&[17], &v), None).unwrap();
    assert_eq!(values::<f16>(&out[0], &[1])[0].to_f32(), 2064.0);
}

#[test]
fn bad_axes_are_errors_and_unknown_axes_need_a_value() {
    let x = t(&[2, 2], &[0.0f32; 4]);
    assert!(matches!(
        reduce(OpCode::ReduceSum, &[], &x, Some(&[2])),
        Err(OpError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        reduce(OpCode::ReduceSum, &[], &x, Some(&[-3])),
        Err(OpError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        reduce(OpCode::ReduceSum, &[], &x, Some(&[1, -1])),
        Err(OpError::InvalidInput { index: 1, .. })
    ));
    let axes32 = t(&[1], &[0i32]);
    assert!(matches!(
        try_run(&*op(OpCode::ReduceMax, &[]), &[&x, &axes32]),
        Err(OpError::UnsupportedDType { index: 1, .. })
    ));
    assert_bad_attribute(OpCode::ReduceMean, &[int("keepdims", 2)], "keepdims");
    assert_bad_attribute(
        OpCode::ReduceMean,
        &[int("noop_with_empty_axes", -1)],
        "noop_with_empty_axes",
    );
    let axes_attribute = Attribute {
        name: "axes".into(),
        value: AttrValue::Ints(vec![0]),
    };
    assert_bad_attribute(OpCode::ReduceSum, &[axes_attribute], "axes");
    // Before running, the axes' value may be unknown.
    let op = op(OpCode::ReduceSum, &[]);
    let info = |shape: &'static [usize], dtype| {
        Some(InputInfo {
            dtype,
            shape,
            value: None,
        })
    };
    assert!(matches!(
        op.infer(&[info(&[2, 2], DType::F32), info(&[1], DType::I64)]),
        Err(OpError::NeedsValue { index: 1 })
    ));
    assert_eq!(
        op.infer(&[info(&[2, 2], DType::F32)]).unwrap()[0].shape,
        vec![1, 1]
    );
}

#[test]
fn argmax_and_argmin_pick_first_or_last() {
    let x = t(&[2, 3], &[3i64, -1, 4, 1, -5, 9]);
    let arg = |code, attrs: &[Attribute]| run(&*op(code, attrs), &[&x]);
    // numpy: argmax(axis=1) = [2, 2], argmax(axis=0) = [0, 0, 1], argmin(axis=1) = [1, 1].
    assert_eq!(
        values::<i64>(&arg(OpCode::ArgMax, &[int("axis", 1)]), &[2, 1]),
        [2, 2]
    );
    assert_eq!(values::<i64>(&arg(OpCode::ArgMax, &[]), &[1, 3]), [0, 0, 1]);
    assert_eq!(
        values::<i64>(
            &arg(OpCode::ArgMin, &[int("axis", -1), int("keepdims", 0)]),
            &[2]
        ),
        [1, 1]
    );

    let ties = t(&[1, 5], &[2.0f32, 7.0, 1.0, 7.0, 1.0]);
    let arg = |code, last| {
        run(
            &*op(code, &[int("axis", 1), int("select_last_index", last)]),
            &[&ties],
        )
    };
    assert_eq!(values::<i64>(&arg(OpCode::ArgMax, 0), &[1, 1]), [1]);
    assert_eq!(values::<i64>(&arg(OpCode::ArgMax, 1), &[1, 1]), [3]);
    assert_eq!(values::<i64>(&arg(OpCode::ArgMin, 0), &[1, 1]), [2]);
    assert_eq!(values::<i64>(&arg(OpCode::ArgMin, 1), &[1, 1]), [4]);

    // NaN wins for both, as in numpy.
    let nan = t(&[4], &[1.0f32, NAN, 5.0, NAN]);
    let arg = |code, last| {
        values::<i64>(
            &run(&*op(code, &[int("select_last_index", last)]), &[&nan]),
            &[1],
        )
    };
    assert_eq!(arg(OpCode::ArgMax, 0), [1]);
    assert_eq!(arg(OpCode::ArgMin, 0), [1]);
    assert_eq!(arg(OpCode::ArgMax, 1), [3]);

    let out = run(
        &*op(OpCode::ArgMin, &[int("axis", 0)]),
        &[&t(&[3, 2], &[5u8, 0, 2, 9, 2, 1])],
    );
    assert_eq!(values::<i64>(&out, &[1, 2]), [1, 0]);
    let out = run(
        &*op(OpCode::ArgMax, &[int("axis", 1)]),
        &[&t(&[0, 4], &[0i32; 0])],
    );
    assert_eq!(out.shape(), &[0, 1]);
}

#[test]
fn argmax_errors() {
    let argmax = op(OpCode::ArgMax, &[int("axis", 2)]);
    assert!(matches!(
        try_run(&*argmax, &[&t(&[2, 2], &[0.0f32; 4])]),
        Err(OpError::ShapeMismatch { .. })
    ));
    let argmax = op(OpCode::ArgMax, &[int("axis", 1)]);
    assert!(matches!(
        try_run(&*argmax, &[&t::<f32>(&[2, 0], &[])]),
        Err(OpError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        try_run(&*argmax, &[&b(&[1, 1], &[1])]),
        Err(OpError::UnsupportedDType { .. })
    ));
    assert_bad_attribute(
        OpCode::ArgMin,
        &[int("select_last_index", 3)],
        "select_last_index",
    );
}
