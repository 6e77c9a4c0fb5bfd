//! `QLinearConv` of a depthwise layer (one channel per group), which runs
//! the dedicated int8 depthwise kernel, against the same convolution written
//! as one group with block-diagonal weights, which runs the int8 GEMM: the
//! two must agree bit for bit, u8 and i8 outputs, strides, paddings, fused
//! ReLU ranges, per-channel weight zero points and a batch.

use super::tests::{int, run, t};
use pocketnn_format::{AttrValue, Attribute, OpCode};
use pocketnn_tensor::Tensor;

fn ints(name: &str, values: &[i64]) -> Attribute {
    Attribute {
        name: name.to_string(),
        value: AttrValue::Ints(values.to_vec()),
    }
}

/// Runs `QLinearConv` with weights `w` (`[M, C / group, k, k]`).
#[allow(clippy::too_many_arguments)]
fn qlinear_conv(
    x: &Tensor,
    w: &Tensor,
    w_zero: &Tensor,
    bias: &Tensor,
    y_zero: &Tensor,
    group: usize,
    stride: i64,
    pads: [i64; 4],
) -> Vec<u8> {
    let attrs = [
        int("group", group as i64),
        ints("strides", &[stride, stride]),
        ints("pads", &pads),
    ];
    let w_scale = Tensor::from_slice(&[w.shape()[0]], &vec![0.004f32; w.shape()[0]]).unwrap();
    let out = run(
        OpCode::QLinearConv,
        &attrs,
        &[
            Some(x),
            Some(&Tensor::scalar(0.05f32)),
            Some(&Tensor::scalar(3u8)),
            Some(w),
            Some(&w_scale),
            Some(w_zero),
            Some(&Tensor::scalar(0.02f32)),
            Some(y_zero),
            Some(bias),
        ],
    )
    .unwrap();
    out[0].bytes().to_vec()
}

#[test]
fn depthwise_kernel_matches_the_block_diagonal_gemm() {
    let (n, c) = (2, 5);
    for (k, stride, pads, (h, w)) in [
        (3, 1, [1, 1, 1, 1], (7, 19)),
        (3, 2, [0, 0, 1, 1], (9, 9)),
        (5, 1, [2, 2, 2, 2], (6, 17)),
        (5, 2, [1, 2, 2, 1], (11, 12)),
        (1, 1, [0, 0, 0, 0], (4, 4)),
    ] {
        let x: Vec<u8> = (0..n * c * h * w).map(|i| (i * 89 % 251) as u8).collect();
        let x = t(&[n, c, h, w], &x);
        let filters: Vec<i8> = (0..c * k * k).map(|i| (i * 37 % 255) as u8 as i8).collect();
        // Off the diagonal each weight is its channel's zero point: a tap
        // that adds nothing.
        let zeros = [0i8, 2, -3, 0, 1];
        let mut diagonal: Vec<i8> = (0..c * c * k * k).map(|i| zeros[i / (c * k * k)]).collect();
        for o in 0..c {
            diagonal[(o * c + o) * k * k..][..k * k]
                .copy_from_slice(&filters[o * k * k..][..k * k]);
        }
        let bias: Vec<i32> = (0..c as i32).map(|i| i * 700 - 1500).collect();
        let bias = t(&[c], &bias);
        let w_zero = t(&[c], &zeros[..c]);
        for y_zero in [Tensor::scalar(128u8), Tensor::scalar(-5i8)] {
            let depthwise = qlinear_conv(
                &x,
                &t(&[c, 1, k, k], &filters),
                &w_zero,
                &bias,
                &y_zero,
                c,
                stride,
                pads,
            );
            let dense = qlinear_conv(
                &x,
                &t(&[c, c, k, k], &diagonal),
                &w_zero,
                &bias,
                &y_zero,
                1,
                stride,
                pads,
            );
            assert_eq!(
                depthwise, dense,
                "k {k} stride {stride} pads {pads:?} {y_zero:?}"
            );
        }
    }
}
