//! Comparisons, logic and `Where`.

use super::*;
use pocketnn_tensor::f16;

fn bools(out: &Tensor, shape: &[usize]) -> Vec<u8> {
    assert_eq!(out.dtype(), DType::Bool);
    values::<u8>(out, shape)
}

#[test]
fn comparisons_broadcast_and_follow_ieee() {
    let a = t(&[2, 3], &[1.0f32, NAN, -0.0, 3.0, INF, 2.0]);
    let b = t(&[3], &[1.0f32, NAN, 0.0]);
    let cmp = |code| bools(&run(&*op(code, &[]), &[&a, &b]), &[2, 3]);
    assert_eq!(cmp(OpCode::Equal), [1, 0, 1, 0, 0, 0]);
    assert_eq!(cmp(OpCode::Less), [0, 0, 0, 0, 0, 0]);
    assert_eq!(cmp(OpCode::Greater), [0, 0, 0, 1, 0, 1]);
    assert_eq!(cmp(OpCode::LessOrEqual), [1, 0, 1, 0, 0, 0]);
    assert_eq!(cmp(OpCode::GreaterOrEqual), [1, 0, 1, 1, 0, 1]);
}

#[test]
fn comparisons_on_integers_and_bools() {
    let a = t(&[3], &[i64::MIN, 0, i64::MAX]);
    let out = run(&*op(OpCode::Less, &[]), &[&a, &Tensor::scalar(0i64)]);
    assert_eq!(bools(&out, &[3]), [1, 0, 0]);
    let out = run(
        &*op(OpCode::GreaterOrEqual, &[]),
        &[&t(&[2], &[200u8, 5]), &t(&[2], &[100u8, 6])],
    );
    assert_eq!(bools(&out, &[2]), [1, 0]);
    let out = run(
        &*op(OpCode::Greater, &[]),
        &[&t(&[2], &[-1i8, 1]), &t(&[2, 1], &[0i8, 1])],
    );
    assert_eq!(bools(&out, &[2, 2]), [0, 1, 0, 0]);
    let out = run(
        &*op(OpCode::Equal, &[]),
        &[&t(&[2], &[7i32, 8]), &Tensor::scalar(8i32)],
    );
    assert_eq!(bools(&out, &[2]), [0, 1]);
    let h = |v: f32| f16::from_f32(v);
    let out = run(
        &*op(OpCode::LessOrEqual, &[]),
        &[&t(&[2], &[h(1.0), h(3.0)]), &t(&[1], &[h(2.0)])],
    );
    assert_eq!(bools(&out, &[2]), [1, 0]);
    let out = run(
        &*op(OpCode::Equal, &[]),
        &[&b(&[4], &[0, 1, 0, 1]), &b(&[4], &[0, 0, 1, 1])],
    );
    assert_eq!(bools(&out, &[4]), [1, 0, 0, 1]);
    // Ordering comparisons are not defined on bools; mixed dtypes are errors.
    assert!(matches!(
        try_run(&*op(OpCode::Less, &[]), &[&b(&[1], &[0]), &b(&[1], &[1])]),
        Err(OpError::UnsupportedDType { index: 0, .. })
    ));
    assert!(matches!(
        try_run(
            &*op(OpCode::Equal, &[]),
            &[&t(&[1], &[1i32]), &t(&[1], &[1i64])]
        ),
        Err(OpError::DTypeMismatch { index: 1, .. })
    ));
}

#[test]
fn logic_operators_on_bools() {
    let a = b(&[2, 2], &[0, 0, 1, 1]);
    let c = b(&[2], &[0, 1]);
    let logic = |code| bools(&run(&*op(code, &[]), &[&a, &c]), &[2, 2]);
    assert_eq!(logic(OpCode::And), [0, 0, 0, 1]);
    assert_eq!(logic(OpCode::Or), [0, 1, 1, 1]);
    assert_eq!(logic(OpCode::Xor), [0, 1, 1, 0]);
    let out = run(&*op(OpCode::Not, &[]), &[&a]);
    assert_eq!(bools(&out, &[2, 2]), [1, 1, 0, 0]);
    let f = t(&[1], &[1.0f32]);
    assert!(matches!(
        try_run(&*op(OpCode::And, &[]), &[&f, &f]),
        Err(OpError::UnsupportedDType { .. })
    ));
    assert!(matches!(
        try_run(&*op(OpCode::Or, &[]), &[&c, &f]),
        Err(OpError::DTypeMismatch { index: 1, .. })
    ));
    assert!(matches!(
        try_run(&*op(OpCode::Not, &[]), &[&f]),
        Err(OpError::UnsupportedDType { .. })
    ));
}

#[test]
fn where_broadcasts_three_ways_for_any_dtype() {
    // cond [2,1,3], x [2,1] (-> [1,2,1]), y scalar: out [2,2,3].
    let cond = b(&[2, 1, 3], &[1, 0, 1, 0, 1, 0]);
    let x = t(&[2, 1], &[10.0f32, 20.0]);
    let y = Tensor::scalar(-1.0f32);
    let out = run(&*op(OpCode::Where, &[]), &[&cond, &x, &y]);
    let mut expected = Vec::new();
    let (c, xv) = ([1, 0, 1, 0, 1, 0], [10.0f32, 20.0]);
    for i in 0..2 {
        for x in xv {
            for k in 0..3 {
                expected.push(if c[i * 3 + k] == 1 { x } else { -1.0 });
            }
        }
    }
    assert_eq!(values::<f32>(&out, &[2, 2, 3]), expected);

    let out = run(
        &*op(OpCode::Where, &[]),
        &[
            &b(&[3], &[1, 0, 1]),
            &t(&[3], &[1i64, 2, 3]),
            &t(&[3], &[i64::MIN, -2, -3]),
        ],
    );
    assert_eq!(values::<i64>(&out, &[3]), [1, -2, 3]);
    let out = run(
        &*op(OpCode::Where, &[]),
        &[&b(&[2], &[0, 1]), &b(&[1], &[1]), &b(&[1], &[0])],
    );
    assert_eq!(bools(&out, &[2]), [0, 1]);
    let h = |v: f32| f16::from_f32(v);
    let out = run(
        &*op(OpCode::Where, &[]),
        &[&b(&[2], &[0, 1]), &t(&[1], &[h(1.5)]), &t(&[1], &[h(-2.0)])],
    );
    assert_eq!(values::<f16>(&out, &[2]), [h(-2.0), h(1.5)]);
    let out = run(
        &*op(OpCode::Where, &[]),
        &[&b(&[0], &[]), &t(&[1], &[1u8]), &t(&[1], &[2u8])],
    );
    assert_eq!(out.shape(), &[0]);

    assert!(matches!(
        try_run(&*op(OpCode::Where, &[]), &[&t(&[1], &[1u8]), &x, &y]),
        Err(OpError::UnsupportedDType { index: 0, .. })
    ));
    assert!(matches!(
        try_run(
            &*op(OpCode::Where, &[]),
            &[&cond, &x, &Tensor::scalar(1i32)]
        ),
        Err(OpError::DTypeMismatch { index: 2, .. })
    ));
    assert!(matches!(
        try_run(
            &*op(OpCode::Where, &[]),
            &[&b(&[4], &[0; 4]), &t(&[3], &[0.0f32; 3]), &y]
        ),
        Err(OpError::ShapeMismatch { .. })
    ));
}
