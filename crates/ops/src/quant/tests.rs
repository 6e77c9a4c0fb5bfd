//! Tests of the quantization family: hand-computed values, the i8/u8
//! conversions against a naive integer product written here, and the error
//! paths. (The ONNX conformance cases check the same operators against
//! onnx's reference outputs.)

use crate::{OpError, OpResult, build_operator, eval};
use pocketnn_format::{AttrValue, Attribute, DType, OpCode};
use pocketnn_tensor::{Element, Isa, Tensor};

pub(super) fn int(name: &str, v: i64) -> Attribute {
    Attribute {
        name: name.to_string(),
        value: AttrValue::Int(v),
    }
}

pub(super) fn t<T: Element>(shape: &[usize], data: &[T]) -> Tensor {
    Tensor::from_slice(shape, data).expect("test tensor")
}

pub(super) fn run(
    code: OpCode,
    attrs: &[Attribute],
    inputs: &[Option<&Tensor>],
) -> OpResult<Vec<Tensor>> {
    let op = build_operator(code, attrs)?;
    let views: Vec<_> = inputs.iter().map(|t| t.map(Tensor::view)).collect();
    let mut outputs: Vec<Tensor> = Vec::new();
    for isa in Isa::available() {
        let out = eval(op.as_ref(), &views, isa)?;
        if !outputs.is_empty() {
            let bytes =
                |list: &[Tensor]| list.iter().map(|t| t.bytes().to_vec()).collect::<Vec<_>>();
            assert_eq!(bytes(&out), bytes(&outputs), "{code}: tier {isa} differs");
        }
        outputs = out;
    }
    Ok(outputs)
}

fn first<T: Element>(out: &[Tensor]) -> Vec<T> {
    out[0].as_slice::<T>().expect("dtype").to_vec()
}

#[test]
fn quantize_rounds_halves_to_even_and_saturates() {
    let x = t(&[6], &[0.5f32, 1.5, 2.5, -0.5, 300.0, -300.0]);
    let scale = Tensor::scalar(1.0f32);
    let out = run(OpCode::QuantizeLinear, &[], &[Some(&x), Some(&scale)]).unwrap();
    assert_eq!(out[0].dtype(), DType::U8, "u8 without a zero point");
    assert_eq!(first::<u8>(&out), [0, 2, 2, 0, 255, 0]);
    let zero = Tensor::scalar(-3i8);
    let out = run(
        OpCode::QuantizeLinear,
        &[],
        &[Some(&x), Some(&scale), Some(&zero)],
    )
    .unwrap();
    assert_eq!(first::<i8>(&out), [-3, -1, -1, -3, 127, -128]);
}

#[test]
fn per_axis_parameters_follow_the_axis() {
    // x is 2×3; scales and zero points per column (axis 1), then per row.
    let x = t(&[2, 3], &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let scales = t(&[3], &[1.0f32, 0.5, 0.25]);
    let zeros = t(&[3], &[0u8, 10, 20]);
    let out = run(
        OpCode::QuantizeLinear,
        &[int("axis", 1)],
        &[Some(&x), Some(&scales), Some(&zeros)],
    )
    .unwrap();
    assert_eq!(first::<u8>(&out), [1, 14, 32, 4, 20, 44]);
    let q = t(&[2, 3], &[1u8, 14, 32, 4, 20, 44]);
    let back = run(
        OpCode::DequantizeLinear,
        &[int("axis", -1)],
        &[Some(&q), Some(&scales), Some(&zeros)],
    )
    .unwrap();
    assert_eq!(first::<f32>(&back), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let row_scales = t(&[2], &[1.0f32, 2.0]);
    let out = run(
        OpCode::QuantizeLinear,
        &[int("axis", 0)],
        &[Some(&x), Some(&row_scales)],
    )
    .unwrap();
    assert_eq!(first::<u8>(&out), [1, 2, 3, 2, 2, 3]);
}

#[test]
fn dynamic_quantization_covers_zero_and_the_range() {
    let x = t(&[4], &[-1.0f32, 0.0, 1.0, 2.0]);
    let out = run(OpCode::DynamicQuantizeLinear, &[], &[Some(&x)]).unwrap();
    let scale = 3.0f32 / 255.0;
    assert_eq!(first::<f32>(&out[1..]), [scale]);
    assert_eq!(first::<u8>(&out[2..]), [85]); // round(1 / scale)
    assert_eq!(first::<u8>(&out), [0, 85, 170, 255]);
    // All zeros: scale 0, every value the zero point.
    let zeros = t(&[3], &[0.0f32; 3]);
    let out = run(OpCode::DynamicQuantizeLinear, &[], &[Some(&zeros)]).unwrap();
    assert_eq!(first::<f32>(&out[1..]), [0.0]);
    assert_eq!(first::<u8>(&out), [0, 0, 0]);
}

/// `Σ (a - za)(b - zb)` for row-major `a` (m×k) and `b` (k×n), in i64.
fn naive(
    a: &[i32],
    b: &[i32],
    (m, k, n): (usize, usize, usize),
    za: &[i32],
    zb: &[i32],
) -> Vec<i32> {
    let z = |v: &[i32], i: usize| if v.len() == 1 { v[0] } else { v[i] };
    let mut c = vec![0i32; m * n];
    for i in 0..m {
        for j in 0..n {
            let sum: i64 = (0..k)
                .map(|p| i64::from(a[i * k + p] - z(za, i)) * i64::from(b[p * n + j] - z(zb, j)))
                .sum();
            c[i * n + j] = sum as i32;
        }
    }
    c
}

#[test]
fn matmul_integer_every_signedness_and_zero_point_form() {
    let (m, k, n) = (3, 37, 5);
    let a_u8: Vec<u8> = (0..m * k).map(|i| (i * 97 % 256) as u8).collect();
    let b_u8: Vec<u8> = (0..k * n).map(|i| (i * 61 % 256) as u8).collect();
    let a_i8: Vec<i8> = a_u8.iter().map(|&v| v as i8).collect();
    let b_i8: Vec<i8> = b_u8.iter().map(|&v| v as i8).collect();
    let a_signed = [false, true];
    for (a_is_i8, b_is_i8) in a_signed.iter().flat_map(|&x| [(x, false), (x, true)]) {
        let (a, a_vals): (Tensor, Vec<i32>) = if a_is_i8 {
            (t(&[m, k], &a_i8), a_i8.iter().map(|&v| v.into()).collect())
        } else {
            (t(&[m, k], &a_u8), a_u8.iter().map(|&v| v.into()).collect())
        };
        let (b, b_vals): (Tensor, Vec<i32>) = if b_is_i8 {
            (t(&[k, n], &b_i8), b_i8.iter().map(|&v| v.into()).collect())
        } else {
            (t(&[k, n], &b_u8), b_u8.iter().map(|&v| v.into()).collect())
        };
        let za: Vec<i32> = vec![-2, 3, 7];
        let zb: Vec<i32> = vec![5, -1, 0, 2, 9];
        let za_t = if a_is_i8 {
            t(&[m], &za.iter().map(|&v| v as i8).collect::<Vec<_>>())
        } else {
            t(
                &[m],
                &za.iter().map(|&v| (v + 10) as u8).collect::<Vec<_>>(),
            )
        };
        let za: Vec<i32> = if a_is_i8 {
            za
        } else {
            za.iter().map(|v| v + 10).collect()
        };
        let zb_t = if b_is_i8 {
            t(&[n], &zb.iter().map(|&v| v as i8).collect::<Vec<_>>())
        } else {
            t(
                &[n],
                &zb.iter().map(|&v| (v + 10) as u8).collect::<Vec<_>>(),
            )
        };
        let zb: Vec<i32> = if b_is_i8 {
            zb
        } else {
            zb.iter().map(|v| v + 10).collect()
        };
        let out = run(
            OpCode::MatMulInteger,
            &[],
            &[Some(&a), Some(&b), Some(&za_t), Some(&zb_t)],
        )
        .unwrap();
        assert_eq!(out[0].shape(), [m, n]);
        assert_eq!(
            first::<i32>(&out),
            naive(&a_vals, &b_vals, (m, k, n), &za, &zb),
            "a i8: {a_is_i8}, b i8: {b_is_i8}"
        );
    }
}

#[test]
fn matmul_integer_batches_broadcast_and_one_dimensional_operands() {
    // A [2, 1, 2, 3] · B [3, 3, 2] → [2, 3, 2, 2]: A's batch broadcasts over B's.
    let a: Vec<u8> = (0..12).collect();
    let b: Vec<u8> = (0..18).map(|v| v * 3 % 11).collect();
    let out = run(
        OpCode::MatMulInteger,
        &[],
        &[Some(&t(&[2, 1, 2, 3], &a)), Some(&t(&[3, 3, 2], &b))],
    )
    .unwrap();
    assert_eq!(out[0].shape(), [2, 3, 2, 2]);
    let got = first::<i32>(&out);
    let (ai, bi): (Vec<i32>, Vec<i32>) = (
        a.iter().map(|&v| v.into()).collect(),
        b.iter().map(|&v| v.into()).collect(),
    );
    for x in 0..2 {
        for y in 0..3 {
            let want = naive(&ai[x * 6..][..6], &bi[y * 6..][..6], (2, 3, 2), &[0], &[0]);
            assert_eq!(
                &got[(x * 3 + y) * 4..][..4],
                want.as_slice(),
                "batch ({x}, {y})"
            );
        }
    }
    // [3] · [3, 2] → [2]
    let out = run(
        OpCode::MatMulInteger,
        &[],
        &[
            Some(&t(&[3], &[1u8, 2, 3])),
            Some(&t(&[3, 2], &[1u8, 0, 0, 1, 1, 1])),
        ],
    )
    .unwrap();
    assert_eq!(out[0].shape(), [2]);
    assert_eq!(first::<i32>(&out), [4, 5]);
}

#[test]
fn qlinear_matmul_requantizes_to_the_output_type() {
    // a = [[2, 4]] (scale 0.5, zero 0) → [1, 2]; b = [[1], [1]] (scale 1,
    // zero 0); product 3; y scale 0.25, zero 10 → 22; as i8 with zero -10 → 2.
    let a = t(&[1, 2], &[2u8, 4]);
    let b = t(&[2, 1], &[1i8, 1]);
    let scalar = |v: f32| Tensor::scalar(v);
    let inputs = |y_zero: &Tensor| {
        vec![
            a.clone(),
            scalar(0.5),
            Tensor::scalar(0u8),
            b.clone(),
            scalar(1.0),
            Tensor::scalar(0i8),
            scalar(0.25),
            y_zero.clone(),
        ]
    };
    for (y_zero, want_u8, want_i8) in [
        (Tensor::scalar(10u8), Some(22u8), None),
        (Tensor::scalar(-10i8), None, Some(2i8)),
    ] {
        let list = inputs(&y_zero);
        let refs: Vec<Option<&Tensor>> = list.iter().map(Some).collect();
        let out = run(OpCode::QLinearMatMul, &[], &refs).unwrap();
        if let Some(want) = want_u8 {
            assert_eq!(first::<u8>(&out), [want]);
        }
        if let Some(want) = want_i8 {
            assert_eq!(first::<i8>(&out), [want]);
        }
    }
}

#[test]
fn bad_parameters_are_typed_errors() {
    let x = t(&[2, 3], &[0.0f32; 6]);
    let bad_scale = Tensor::scalar(0.0f32);
    assert!(matches!(
        run(OpCode::QuantizeLinear, &[], &[Some(&x), Some(&bad_scale)]),
        Err(OpError::InvalidInput { index: 1, .. })
    ));
    let wrong_len = t(&[2], &[1.0f32, 1.0]);
    assert!(matches!(
        run(OpCode::QuantizeLinear, &[], &[Some(&x), Some(&wrong_len)]),
        Err(OpError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        build_operator(OpCode::QuantizeLinear, &[int("block_size", 2)]),
        Err(OpError::Unsupported { .. })
    ));
    assert!(build_operator(OpCode::QuantizeLinear, &[int("output_dtype", 1)]).is_err());
    let q = t(&[2], &[1u8, 2]);
    assert!(matches!(
        run(
            OpCode::DequantizeLinear,
            &[],
            &[Some(&q), Some(&t(&[1], &[1i8]))]
        ),
        Err(OpError::UnsupportedDType { index: 1, .. })
    ));
    assert!(matches!(
        run(
            OpCode::DequantizeLinear,
            &[],
            &[
                Some(&q),
                Some(&Tensor::scalar(1.0f32)),
                Some(&Tensor::scalar(1i8))
            ]
        ),
        Err(OpError::DTypeMismatch { index: 2, .. })
    ));
    let f = t(&[2, 2], &[0.0f32; 4]);
    assert!(matches!(
        run(OpCode::MatMulInteger, &[], &[Some(&f), Some(&f)]),
        Err(OpError::UnsupportedDType { index: 0, .. })
    ));
    let a = t(&[2, 3], &[0u8; 6]);
    assert!(matches!(
        run(OpCode::MatMulInteger, &[], &[Some(&a), Some(&a)]),
        Err(OpError::ShapeMismatch { .. })
    ));
    // An empty zero point is refused, not indexed.
    let q_inputs = [
        t(&[1, 2], &[2u8, 4]),
        Tensor::scalar(0.5f32),
        Tensor::scalar(0u8),
        t(&[2, 1], &[1i8, 1]),
        Tensor::scalar(1.0f32),
        Tensor::scalar(0i8),
        Tensor::scalar(0.25f32),
        Tensor::zeros(DType::U8, &[0]).unwrap(),
    ];
    let refs: Vec<Option<&Tensor>> = q_inputs.iter().map(Some).collect();
    assert!(matches!(
        run(OpCode::QLinearMatMul, &[], &refs),
        Err(OpError::ShapeMismatch { .. })
    ));
    let deep = Tensor::zeros(DType::U8, &[1, 40_000]).unwrap();
    let deep_b = Tensor::zeros(DType::U8, &[40_000, 1]).unwrap();
    assert!(matches!(
        run(OpCode::MatMulInteger, &[], &[Some(&deep), Some(&deep_b)]),
        Err(OpError::Tensor(_))
    ));
}

/// Naive i64 convolution over NCHW with zero points (x per tensor, w per
/// output channel), groups, strides and zero padding of `x - x_zero`.
#[allow(clippy::too_many_arguments)]
pub(super) fn naive_conv(
    x: &[i32],
    [n, c, h, w]: [usize; 4],
    wt: &[i32],
    [m, kh, kw]: [usize; 3],
    group: usize,
    stride: usize,
    pad: usize,
    (x_zero, w_zero): (i32, &[i32]),
) -> (Vec<i32>, [usize; 4]) {
    let (oh, ow) = (
        (h + 2 * pad - kh) / stride + 1,
        (w + 2 * pad - kw) / stride + 1,
    );
    let (c_g, m_g) = (c / group, m / group);
    let mut y = vec![0i32; n * m * oh * ow];
    for b in 0..n {
        for o in 0..m {
            let g = o / m_g;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut sum = 0i64;
                    for ci in 0..c_g {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let (iy, ix) = (
                                    (oy * stride + ky) as i64 - pad as i64,
                                    (ox * stride + kx) as i64 - pad as i64,
                                );
                                if iy < 0 || ix < 0 || iy >= h as i64 || ix >= w as i64 {
                                    continue;
                                }
                                let xv =
                                    x[((b * c + g * c_g + ci) * h + iy as usize) * w + ix as usize];
                                let wv = wt[((o * c_g + ci) * kh + ky) * kw + kx];
                                sum += i64::from(xv - x_zero) * i64::from(wv - w_zero[o]);
                            }
                        }
                    }
                    y[((b * m + o) * oh + oy) * ow + ox] = sum as i32;
                }
            }
        }
    }
    (y, [n, m, oh, ow])
}

#[test]
fn conv_integer_groups_strides_padding_and_channel_zero_points() {
    let (xs, ws) = ([2, 4, 7, 6], [6, 3, 3]);
    let x: Vec<u8> = (0..xs.iter().product::<usize>())
        .map(|i| (i * 37 % 256) as u8)
        .collect();
    let w: Vec<i8> = (0..6 * 2 * 9).map(|i| (i * 53 % 256) as u8 as i8).collect();
    let w_zero: Vec<i8> = vec![0, 3, -5, 7, 1, -2];
    let attrs = [
        int("group", 2),
        Attribute {
            name: "strides".into(),
            value: AttrValue::Ints(vec![2, 2]),
        },
        Attribute {
            name: "pads".into(),
            value: AttrValue::Ints(vec![1, 1, 1, 1]),
        },
    ];
    let out = run(
        OpCode::ConvInteger,
        &attrs,
        &[
            Some(&t(&xs, &x)),
            Some(&t(&[6, 2, 3, 3], &w)),
            Some(&Tensor::scalar(9u8)),
            Some(&t(&[6], &w_zero)),
        ],
    )
    .unwrap();
    let (want, shape) = naive_conv(
        &x.iter().map(|&v| v.into()).collect::<Vec<_>>(),
        xs,
        &w.iter().map(|&v| v.into()).collect::<Vec<_>>(),
        ws,
        2,
        2,
        1,
        (9, &w_zero.iter().map(|&v| v.into()).collect::<Vec<_>>()),
    );
    assert_eq!(out[0].shape(), shape);
    assert_eq!(first::<i32>(&out), want);
}

/// 1×1 convolutions (read column-major from the input planes, no im2col)
/// and 3×3 ones with stride 1 (whole-row copies into the columns), with and
/// without groups and weight zero points, on planes that span several
/// column tiles: all equal the naive convolution.
#[test]
fn conv_integer_pointwise_and_stride_one_windows_match_the_naive_convolution() {
    for (c, m, group, k, pad, w_zero) in [
        (4, 6, 1, 1, 0, vec![0i8; 6]),
        (10, 6, 2, 1, 0, vec![1, -2, 0, 3, 5, -7]),
        (3, 5, 1, 3, 1, vec![0, 2, -1, 0, 4]),
        (4, 4, 2, 3, 0, vec![0; 4]),
    ] {
        let xs = [2, c, 5, 7];
        let x: Vec<u8> = (0..xs.iter().product::<usize>())
            .map(|i| (i * 67 % 251) as u8)
            .collect();
        let w: Vec<i8> = (0..m * c / group * k * k)
            .map(|i| (i * 41 % 256) as u8 as i8)
            .collect();
        let pads = Attribute {
            name: "pads".into(),
            value: AttrValue::Ints(vec![pad as i64; 4]),
        };
        let out = run(
            OpCode::ConvInteger,
            &[int("group", group as i64), pads],
            &[
                Some(&t(&xs, &x)),
                Some(&t(&[m, c / group, k, k], &w)),
                Some(&Tensor::scalar(13u8)),
                Some(&t(&[m], &w_zero)),
            ],
        )
        .unwrap();
        let (want, shape) = naive_conv(
            &x.iter().map(|&v| v.into()).collect::<Vec<_>>(),
            xs,
            &w.iter().map(|&v| v.into()).collect::<Vec<_>>(),
            [m, k, k],
            group,
            1,
            pad,
            (13, &w_zero.iter().map(|&v| v.into()).collect::<Vec<_>>()),
        );
        assert_eq!(out[0].shape(), shape);
        assert_eq!(first::<i32>(&out), want, "c={c} group={group} k={k}");
    }
}

/// A 1-D convolution (a unit height inside) with a 3-tap window equals
/// the 2-D naive convolution of a 1-pixel-high image.
#[test]
fn conv_integer_one_dimensional_window_matches_the_naive_convolution() {
    let (n, c, m, width) = (2, 5, 3, 11);
    let x: Vec<u8> = (0..n * c * width).map(|i| (i * 59 % 256) as u8).collect();
    let w: Vec<i8> = (0..m * c * 3).map(|i| (i * 23 % 256) as u8 as i8).collect();
    let out = run(
        OpCode::ConvInteger,
        &[],
        &[
            Some(&t(&[n, c, width], &x)),
            Some(&t(&[m, c, 3], &w)),
            Some(&Tensor::scalar(3u8)),
        ],
    )
    .unwrap();
    let (want, _) = naive_conv(
        &x.iter().map(|&v| v.into()).collect::<Vec<_>>(),
        [n, c, 1, width],
        &w.iter().map(|&v| v.into()).collect::<Vec<_>>(),
        [m, 1, 3],
        1,
        1,
        0,
        (3, &[0; 3]),
    );
    assert_eq!(out[0].shape(), [n, m, width - 2]);
    assert_eq!(first::<i32>(&out), want);
}

/// A convolution whose window is the whole 1×1 (or length-1) input — a
/// fully connected layer written as a convolution, as the static int8
/// converter writes Gemm — runs as one product over the batch; it must
/// still be the convolution of the naive reference, i8 activations too.
#[test]
fn conv_integer_with_one_position_per_image_matches_the_naive_convolution() {
    let (n, c, m) = (3, 37, 5);
    let x: Vec<u8> = (0..n * c).map(|i| (i * 91 % 256) as u8).collect();
    let w: Vec<i8> = (0..m * c).map(|i| (i * 29 % 256) as u8 as i8).collect();
    let w_zero: Vec<i8> = vec![0, -3, 5, 2, -1];
    let (want, _) = naive_conv(
        &x.iter().map(|&v| v.into()).collect::<Vec<_>>(),
        [n, c, 1, 1],
        &w.iter().map(|&v| v.into()).collect::<Vec<_>>(),
        [m, 1, 1],
        1,
        1,
        0,
        (7, &w_zero.iter().map(|&v| v.into()).collect::<Vec<_>>()),
    );
    for (x_shape, w_shape) in [
        (vec![n, c, 1, 1], vec![m, c, 1, 1]),
        (vec![n, c, 1], vec![m, c, 1]),
    ] {
        let out = run(
            OpCode::ConvInteger,
            &[],
            &[
                Some(&t(&x_shape, &x)),
                Some(&t(&w_shape, &w)),
                Some(&Tensor::scalar(7u8)),
                Some(&t(&[m], &w_zero)),
            ],
        )
        .unwrap();
        assert_eq!(first::<i32>(&out), want, "{x_shape:?}");
    }
    // The same with i8 activations (shifted by 128 inside).
    let x_i8: Vec<i8> = x.iter().map(|&v| (v ^ 0x80) as i8).collect();
    let out = run(
        OpCode::ConvInteger,
        &[],
        &[
            Some(&t(&[n, c, 1, 1], &x_i8)),
            Some(&t(&[m, c, 1, 1], &w)),
            Some(&Tensor::scalar((7u8 ^ 0x80) as i8)),
            Some(&t(&[m], &w_zero)),
        ],
    )
    .unwrap();
    assert_eq!(first::<i32>(&out), want);
}
