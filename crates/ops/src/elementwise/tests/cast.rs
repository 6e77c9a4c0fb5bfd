//! `Cast`.

use super::*;
use pocketnn_tensor::f16;

fn cast(x: &Tensor, to: DType) -> Tensor {
    let out = run(&*op(OpCode::Cast, &[int("to", i64::from(to.code()))]), &[x]);
    assert_eq!(out.dtype(), to);
    out
}

#[test]
fn float_to_integer_truncates_and_saturates() {
    let x = t(
        &[9],
        &[2.9f32, -2.9, 0.5, -0.0, 1e10, -1e10, NAN, INF, 300.7],
    );
    assert_eq!(
        values::<i32>(&cast(&x, DType::I32), &[9]),
        [2, -2, 0, 0, i32::MAX, i32::MIN, 0, i32::MAX, 300]
    );
    assert_eq!(
        values::<i64>(&cast(&x, DType::I64), &[9]),
        [
            2,
            -2,
            0,
            0,
            10_000_000_000,
            -10_000_000_000,
            0,
            i64::MAX,
            300
        ]
    );
    assert_eq!(
        values::<i8>(&cast(&x, DType::I8), &[9]),
        [2, -2, 0, 0, 127, -128, 0, 127, 127]
    );
    assert_eq!(
        values::<u8>(&cast(&x, DType::U8), &[9]),
        [2, 0, 0, 0, 255, 0, 0, 255, 255]
    );
    assert_eq!(cast(&x, DType::Bool).bytes(), &[1, 1, 1, 0, 1, 1, 1, 1, 1]);
}

#[test]
fn integer_to_integer_keeps_the_low_bits() {
    let x = t(&[5], &[300i64, -1, i64::MIN, 128, 4_294_967_297]);
    assert_eq!(
        values::<u8>(&cast(&x, DType::U8), &[5]),
        [44, 255, 0, 128, 1]
    );
    assert_eq!(
        values::<i8>(&cast(&x, DType::I8), &[5]),
        [44, -1, 0, -128, 1]
    );
    assert_eq!(
        values::<i32>(&cast(&x, DType::I32), &[5]),
        [300, -1, 0, 128, 1]
    );
    let x = t(&[3], &[-1i8, 0, 127]);
    assert_eq!(values::<u8>(&cast(&x, DType::U8), &[3]), [255, 0, 127]);
    assert_eq!(values::<i64>(&cast(&x, DType::I64), &[3]), [-1, 0, 127]);
    assert_eq!(cast(&x, DType::Bool).bytes(), &[1, 0, 1]);
    let x = t(&[2], &[255u8, 0]);
    assert_eq!(values::<i32>(&cast(&x, DType::I32), &[2]), [255, 0]);
}

#[test]
fn conversions_to_floats_round_to_nearest() {
    let x = t(&[3], &[16_777_217i64, -3, i64::MAX]);
    assert_eq!(
        values::<f32>(&cast(&x, DType::F32), &[3]),
        [16_777_216.0, -3.0, 9.223372e18]
    );
    let h: Vec<f32> = values::<f16>(&cast(&x, DType::F16), &[3])
        .iter()
        .map(|v| v.to_f32())
        .collect();
    assert_eq!(h, [INF, -3.0, INF]);
    let x = t(&[4], &[1.0f32 / 3.0, 70000.0, -0.0, NAN]);
    let h = values::<f16>(&cast(&x, DType::F16), &[4]);
    assert_eq!(h[0], f16::from_f32(0.33325195));
    assert_eq!(h[1].to_f32(), INF);
    assert!(h[2].to_f32() == 0.0 && h[2].is_sign_negative());
    assert!(h[3].is_nan());
    let back = cast(
        &t(&[2], &[f16::from_f32(-2.75), f16::from_f32(65504.0)]),
        DType::F32,
    );
    assert_eq!(values::<f32>(&back, &[2]), [-2.75, 65504.0]);
    let back = cast(
        &t(&[2], &[f16::from_f32(-2.75), f16::from_f32(65504.0)]),
        DType::I32,
    );
    assert_eq!(values::<i32>(&back, &[2]), [-2, 65504]);
}

#[test]
fn bools_cast_to_zero_or_one() {
    // A stray byte 7 in a bool tensor counts as true.
    let x = b(&[3], &[0, 1, 7]);
    assert_eq!(values::<f32>(&cast(&x, DType::F32), &[3]), [0.0, 1.0, 1.0]);
    assert_eq!(values::<i64>(&cast(&x, DType::I64), &[3]), [0, 1, 1]);
    assert_eq!(values::<u8>(&cast(&x, DType::U8), &[3]), [0, 1, 1]);
    assert_eq!(cast(&x, DType::Bool).bytes(), &[0, 1, 1]);
    let h: Vec<f32> = values::<f16>(&cast(&x, DType::F16), &[3])
        .iter()
        .map(|v| v.to_f32())
        .collect();
    assert_eq!(h, [0.0, 1.0, 1.0]);
}

#[test]
fn same_dtype_is_a_copy_and_every_pair_is_supported() {
    let x = t(&[2, 2], &[1.5f32, -2.0, 0.0, 7.0]);
    assert_eq!(
        values::<f32>(&cast(&x, DType::F32), &[2, 2]),
        [1.5, -2.0, 0.0, 7.0]
    );
    let samples = [
        t(&[2], &[1.0f32, -2.0]),
        t(&[2], &[f16::from_f32(1.0), f16::from_f32(-2.0)]),
        t(&[2], &[1i8, -2]),
        t(&[2], &[1u8, 2]),
        t(&[2], &[1i32, -2]),
        t(&[2], &[1i64, -2]),
        b(&[2], &[1, 0]),
    ];
    for x in &samples {
        for to in DType::ALL {
            let out = cast(x, to);
            assert_eq!(out.shape(), &[2]);
            // The first element is 1 in every sample: it stays 1.
            let back = cast(&out, DType::F32);
            assert_eq!(
                back.as_slice::<f32>().unwrap()[0],
                1.0,
                "{} -> {to}",
                x.dtype()
            );
        }
    }
    let out = cast(&t::<f32>(&[0, 4], &[]), DType::I64);
    assert_eq!(out.shape(), &[0, 4]);
}

#[test]
fn unknown_target_dtypes_fail_at_build() {
    for code in [0i64, 11, 5, 16, 300, -1] {
        assert_bad_attribute(OpCode::Cast, &[int("to", code)], "to");
    }
    assert_bad_attribute(OpCode::Cast, &[], "to");
    assert_bad_attribute(OpCode::Cast, &[float("to", 1.0)], "to");
}
