//! `Shape`, `Size`, `ConstantOfShape`, `Range`, `EyeLike`.

use super::*;
use crate::InputInfo;
use pocketnn_tensor::f16;

fn info(dtype: DType, shape: &[usize]) -> Option<InputInfo<'_>> {
    Some(InputInfo {
        dtype,
        shape,
        value: None,
    })
}

#[test]
fn shape_slices_with_clamped_bounds() {
    let x = t(&[2, 3, 5, 7], &[0u8; 210]);
    let shape = |attrs: &[Attribute]| run(&*op(OpCode::Shape, attrs), &[&x]);
    assert_eq!(values::<i64>(&shape(&[]), &[4]), [2, 3, 5, 7]);
    assert_eq!(values::<i64>(&shape(&[int("start", 1)]), &[3]), [3, 5, 7]);
    assert_eq!(values::<i64>(&shape(&[int("start", -1)]), &[1]), [7]);
    assert_eq!(values::<i64>(&shape(&[int("end", -1)]), &[3]), [2, 3, 5]);
    assert_eq!(
        values::<i64>(&shape(&[int("start", -3), int("end", -1)]), &[2]),
        [3, 5]
    );
    // Out-of-range bounds are clamped to [0, rank].
    assert_eq!(
        values::<i64>(&shape(&[int("start", -10), int("end", 10)]), &[4]),
        [2, 3, 5, 7]
    );
    assert_eq!(
        values::<i64>(
            &shape(&[int("start", i64::MIN), int("end", i64::MAX)]),
            &[4]
        ),
        [2, 3, 5, 7]
    );
    // start >= end: empty.
    assert_eq!(shape(&[int("start", 3), int("end", 1)]).shape(), &[0]);
    assert_eq!(shape(&[int("start", 4)]).shape(), &[0]);
    let scalar = run(&*op(OpCode::Shape, &[]), &[&Tensor::scalar(1.0f32)]);
    assert_eq!(scalar.shape(), &[0]);
}

#[test]
fn shape_and_size_need_only_the_input_shape() {
    for code in [OpCode::Shape, OpCode::Size, OpCode::EyeLike] {
        assert!(!op(code, &[]).reads_input_value(0), "{code}");
    }
    // infer works without the value.
    let spec = op(OpCode::Shape, &[int("start", 1)])
        .infer(&[info(DType::F32, &[4, 5, 6])])
        .unwrap();
    assert_eq!(
        (spec[0].dtype, spec[0].shape.clone()),
        (DType::I64, vec![2])
    );
    let x = t::<f32>(&[3, 0, 2], &[]);
    assert_eq!(
        values::<i64>(&run(&*op(OpCode::Size, &[]), &[&x]), &[]),
        [0]
    );
    let x = b(&[2, 3], &[0; 6]);
    assert_eq!(
        values::<i64>(&run(&*op(OpCode::Size, &[]), &[&x]), &[]),
        [6]
    );
    assert!(matches!(
        try_run(&*op(OpCode::Size, &[]), &[]),
        Err(OpError::InputCount { .. })
    ));
}

#[test]
fn constant_of_shape_fills_with_the_attribute_value() {
    let shape = t(&[2], &[2i64, 3]);
    let out = run(&*op(OpCode::ConstantOfShape, &[]), &[&shape]);
    assert_eq!(values::<f32>(&out, &[2, 3]), [0.0; 6]);
    let out = run(
        &*op(OpCode::ConstantOfShape, &[float("value_float", 1.5)]),
        &[&shape],
    );
    assert_eq!(values::<f32>(&out, &[2, 3]), [1.5; 6]);
    let attrs = [int("dtype", 7), int("value_int", -4)];
    let out = run(&*op(OpCode::ConstantOfShape, &attrs), &[&shape]);
    assert_eq!(values::<i64>(&out, &[2, 3]), [-4; 6]);
    let attrs = [int("dtype", 9), int("value_int", 1)];
    let out = run(&*op(OpCode::ConstantOfShape, &attrs), &[&t(&[1], &[3i64])]);
    assert_eq!((out.dtype(), out.bytes()), (DType::Bool, &[1u8, 1, 1][..]));
    let attrs = [int("dtype", 10), float("value_float", 0.25)];
    let out = run(&*op(OpCode::ConstantOfShape, &attrs), &[&t(&[1], &[2i64])]);
    assert_eq!(values::<f16>(&out, &[2]), [f16::from_f32(0.25); 2]);
    let attrs = [int("dtype", 3), int("value_int", -128)];
    let out = run(&*op(OpCode::ConstantOfShape, &attrs), &[&t(&[1], &[1i64])]);
    assert_eq!(values::<i8>(&out, &[1]), [-128]);
    // An empty shape vector gives a scalar; a zero dimension an empty tensor.
    let out = run(
        &*op(OpCode::ConstantOfShape, &[float("value_float", 7.0)]),
        &[&t::<i64>(&[0], &[])],
    );
    assert_eq!(values::<f32>(&out, &[]), [7.0]);
    let out = run(&*op(OpCode::ConstantOfShape, &[]), &[&t(&[2], &[4i64, 0])]);
    assert_eq!(out.shape(), &[4, 0]);
}

#[test]
fn constant_of_shape_validates_attributes_and_input() {
    assert_bad_attribute(OpCode::ConstantOfShape, &[int("dtype", 11)], "dtype");
    assert_bad_attribute(
        OpCode::ConstantOfShape,
        &[int("dtype", 7), float("value_float", 1.0)],
        "value_float",
    );
    assert_bad_attribute(
        OpCode::ConstantOfShape,
        &[float("value_float", 1.0), int("value_int", 1)],
        "value_float",
    );
    assert_bad_attribute(
        OpCode::ConstantOfShape,
        &[int("dtype", 2), int("value_int", 256)],
        "value_int",
    );
    assert_bad_attribute(
        OpCode::ConstantOfShape,
        &[int("dtype", 9), int("value_int", 2)],
        "value_int",
    );
    let c = op(OpCode::ConstantOfShape, &[]);
    assert!(matches!(
        try_run(&*c, &[&t(&[2], &[2i64, -1])]),
        Err(OpError::InvalidInput { index: 0, .. })
    ));
    assert!(matches!(
        try_run(&*c, &[&t(&[1], &[2i32])]),
        Err(OpError::UnsupportedDType { .. })
    ));
    assert!(matches!(
        try_run(&*c, &[&t(&[1, 1], &[2i64])]),
        Err(OpError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        try_run(&*c, &[&t(&[3], &[i64::MAX, i64::MAX, 2])]),
        Err(OpError::TooLarge { .. })
    ));
    assert!(matches!(
        c.infer(&[info(DType::I64, &[2])]),
        Err(OpError::NeedsValue { index: 0 })
    ));
}

fn range<T: pocketnn_tensor::Element>(start: T, limit: T, delta: T) -> OpResult<Vec<Tensor>> {
    let (s, l, d) = (
        Tensor::scalar(start),
        Tensor::scalar(limit),
        Tensor::scalar(delta),
    );
    try_run(&*op(OpCode::Range, &[]), &[&s, &l, &d])
}

#[test]
fn range_counts_like_onnx() {
    let out = range(1i64, 10, 3).unwrap();
    assert_eq!(values::<i64>(&out[0], &[3]), [1, 4, 7]);
    let out = range(10i32, 1, -4).unwrap();
    assert_eq!(values::<i32>(&out[0], &[3]), [10, 6, 2]);
    let out = range(5i64, 5, 1).unwrap();
    assert_eq!(out[0].shape(), &[0]);
    let out = range(5i64, 1, 1).unwrap();
    assert_eq!(out[0].shape(), &[0]);
    // Extremes do not overflow the count.
    let out = range(i64::MAX - 2, i64::MAX, 1).unwrap();
    assert_eq!(values::<i64>(&out[0], &[2]), [i64::MAX - 2, i64::MAX - 1]);
    // ceil((MIN - MAX) / MIN) = ceil(1.99...) = 2: MAX, then MAX + MIN = -1.
    let out = range(i64::MAX, i64::MIN, i64::MIN).unwrap();
    assert_eq!(values::<i64>(&out[0], &[2]), [i64::MAX, -1]);
    // Floats: ceil((limit - start) / delta) elements, start + i * delta.
    let out = range(0.0f32, 1.0, 0.25).unwrap();
    assert_eq!(values::<f32>(&out[0], &[4]), [0.0, 0.25, 0.5, 0.75]);
    let out = range(1.0f32, -1.0, -0.75).unwrap();
    assert_eq!(values::<f32>(&out[0], &[3]), [1.0, 0.25, -0.5]);
    let out = range(0.0f32, 1.0, 0.3).unwrap();
    assert_close(
        &values::<f32>(&out[0], &[4]),
        &[0.0, 0.3, 0.6, 0.90000004],
        1,
    );
    let out = range(0.0f32, 1.0, -0.5).unwrap();
    assert_eq!(out[0].shape(), &[0]);
}

#[test]
fn range_rejects_zero_delta_huge_counts_and_bad_inputs() {
    assert!(matches!(
        range(0i64, 5, 0),
        Err(OpError::InvalidInput { index: 2, .. })
    ));
    assert!(matches!(
        range(0i32, 5, 0),
        Err(OpError::InvalidInput { index: 2, .. })
    ));
    assert!(matches!(
        range(0.0f32, 5.0, 0.0),
        Err(OpError::InvalidInput { .. })
    ));
    assert!(matches!(
        range(0.0f32, INF, 1.0),
        Err(OpError::InvalidInput { .. })
    ));
    assert!(matches!(
        range(NAN, 1.0f32, 1.0),
        Err(OpError::InvalidInput { .. })
    ));
    assert!(matches!(
        range(i64::MIN, i64::MAX, 1),
        Err(OpError::InvalidInput { index: 1, .. })
    ));
    assert!(matches!(
        range(0.0f32, 1e30, 1.0),
        Err(OpError::InvalidInput { index: 1, .. })
    ));
    assert!(matches!(
        range(0u8, 5, 1),
        Err(OpError::UnsupportedDType { .. })
    ));
    let r = op(OpCode::Range, &[]);
    let (s, l) = (Tensor::scalar(0i64), Tensor::scalar(4i64));
    assert!(matches!(
        try_run(&*r, &[&s, &l, &Tensor::scalar(1i32)]),
        Err(OpError::DTypeMismatch { index: 2, .. })
    ));
    assert!(matches!(
        try_run(&*r, &[&s, &l, &t(&[2], &[1i64, 1])]),
        Err(OpError::ShapeMismatch { .. })
    ));
    let out = try_run(&*r, &[&t(&[1], &[0i64]), &l, &Tensor::scalar(2i64)]).unwrap();
    assert_eq!(values::<i64>(&out[0], &[2]), [0, 2]);
    let infos = [
        info(DType::I64, &[]),
        info(DType::I64, &[]),
        info(DType::I64, &[]),
    ];
    assert!(matches!(
        r.infer(&infos),
        Err(OpError::NeedsValue { index: 0 })
    ));
}

#[test]
fn eye_like_puts_ones_on_diagonal_k() {
    let x = t(&[3, 4], &[0.0f32; 12]);
    let eye = |attrs: &[Attribute]| run(&*op(OpCode::EyeLike, attrs), &[&x]);
    assert_eq!(
        values::<f32>(&eye(&[]), &[3, 4]),
        [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    );
    assert_eq!(
        values::<f32>(&eye(&[int("k", 2)]), &[3, 4]),
        [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    );
    assert_eq!(
        values::<i64>(&eye(&[int("k", -1), int("dtype", 7)]), &[3, 4]),
        [0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0]
    );
    assert_eq!(eye(&[int("k", 4)]).as_slice::<f32>().unwrap(), [0.0; 12]);
    assert_eq!(
        eye(&[int("k", i64::MIN)]).as_slice::<f32>().unwrap(),
        [0.0; 12]
    );
    let out = run(
        &*op(OpCode::EyeLike, &[int("dtype", 9)]),
        &[&t(&[2, 2], &[5i32; 4])],
    );
    assert_eq!(
        (out.dtype(), out.bytes()),
        (DType::Bool, &[1u8, 0, 0, 1][..])
    );
    let out = run(&*op(OpCode::EyeLike, &[]), &[&t(&[2, 0], &[0i32; 0])]);
    assert_eq!(out.shape(), &[2, 0]);
    assert!(matches!(
        try_run(&*op(OpCode::EyeLike, &[]), &[&t(&[3], &[0.0f32; 3])]),
        Err(OpError::ShapeMismatch { .. })
    ));
    assert_bad_attribute(OpCode::EyeLike, &[int("dtype", 13)], "dtype");
}
