//! f16 weights (`--quantize fp16`): `Conv`, `ConvTranspose`, `Gemm` and
//! `MatMul` with an f16 weight must give, bit for bit, what they give with
//! an f32 weight holding the widened values (the arithmetic is the same f32
//! arithmetic; the f32 paths are checked against the naive references in
//! the other tests). Widened here with `half`, not the code under test.

use super::{Lcg, build, eval_tiers, int, ints};
use crate::operator::{InputInfo, Operator};
use pocketnn_format::{Attribute, OpCode};
use pocketnn_tensor::{Tensor, f16};

/// The f16 tensor of `t`'s values (scaled, so that rounding happens) and
/// the f32 tensor of the same values widened.
fn halves(t: &Tensor) -> (Tensor, Tensor) {
    let values: Vec<f16> = t
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|&v| f16::from_f32(v * 1.7))
        .collect();
    let widened: Vec<f32> = values.iter().map(|h| h.to_f32()).collect();
    (
        Tensor::from_slice(t.shape(), &values).unwrap(),
        Tensor::from_slice(t.shape(), &widened).unwrap(),
    )
}

/// Runs `op` with the weight (input 1) in f16 and widened to f32 on every
/// tier; the outputs must have equal bits.
#[track_caller]
fn check_same(op: &dyn Operator, inputs: &[Option<&Tensor>], what: &str) {
    let weight = inputs[1].expect("a weight");
    let (w16, w32) = halves(weight);
    let mut with16: Vec<Option<&Tensor>> = inputs.to_vec();
    with16[1] = Some(&w16);
    let mut with32: Vec<Option<&Tensor>> = inputs.to_vec();
    with32[1] = Some(&w32);
    let got = eval_tiers(op, &with16);
    let want = eval_tiers(op, &with32);
    for ((isa, g), (_, w)) in got.iter().zip(&want) {
        let bits = |t: &Tensor| -> Vec<u32> {
            t.as_slice::<f32>()
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect()
        };
        assert_eq!(g[0].shape(), w[0].shape(), "{what} on {isa}");
        assert_eq!(bits(&g[0]), bits(&w[0]), "{what} on {isa}");
        assert!(
            g[0].as_slice::<f32>()
                .unwrap()
                .iter()
                .all(|v| v.is_finite()),
            "{what} on {isa}: not every element written"
        );
    }
}

#[test]
fn gemm_with_f16_b() {
    let mut rng = Lcg(3);
    for (m, k, n) in [(1, 37, 5), (1, 300, 70), (5, 20, 33), (40, 64, 17)] {
        for trans_b in [0, 1] {
            let a = rng.tensor(&[m, k]);
            let b_shape = if trans_b == 1 { [n, k] } else { [k, n] };
            let b = rng.tensor(&b_shape);
            let c = rng.tensor(&[n]);
            let op = build(OpCode::Gemm, &[int("transB", trans_b)]);
            check_same(op.as_ref(), &[Some(&a), Some(&b), Some(&c)], "Gemm");
            check_same(op.as_ref(), &[Some(&a), Some(&b)], "Gemm without C");
        }
    }
}

#[test]
fn matmul_with_f16_b() {
    let mut rng = Lcg(4);
    let op = build(OpCode::MatMul, &[]);
    let a = rng.tensor(&[2, 3, 19]);
    check_same(
        op.as_ref(),
        &[Some(&a), Some(&rng.tensor(&[19, 11]))],
        "MatMul",
    );
    // A batch of B matrices.
    let b = rng.tensor(&[2, 19, 6]);
    check_same(op.as_ref(), &[Some(&a), Some(&b)], "batched MatMul");
    let v = rng.tensor(&[19]);
    check_same(
        op.as_ref(),
        &[Some(&v), Some(&rng.tensor(&[19, 9]))],
        "vector MatMul",
    );
}

/// A Conv case: name, X shape, W shape, attributes.
type ConvCase = (&'static str, [usize; 4], [usize; 4], Vec<Attribute>);

#[test]
fn conv_with_f16_w() {
    let mut rng = Lcg(5);
    let cases: [ConvCase; 5] = [
        (
            "3x3 im2col",
            [1, 3, 9, 8],
            [4, 3, 3, 3],
            vec![ints("pads", &[1, 1, 1, 1])],
        ),
        ("pointwise", [2, 5, 4, 4], [7, 5, 1, 1], vec![]),
        (
            "depthwise 3x3 (SIMD path)",
            [1, 6, 10, 12],
            [6, 1, 3, 3],
            vec![int("group", 6), ints("pads", &[1, 1, 1, 1])],
        ),
        (
            "depthwise 7x7 (direct path)",
            [1, 4, 9, 9],
            [4, 1, 7, 7],
            vec![int("group", 4), ints("pads", &[3, 3, 3, 3])],
        ),
        (
            "grouped strided",
            [1, 4, 11, 7],
            [6, 2, 3, 3],
            vec![int("group", 2), ints("strides", &[2, 2])],
        ),
    ];
    for (what, x_shape, w_shape, attrs) in cases {
        let x = rng.tensor(&x_shape);
        let w = rng.tensor(&w_shape);
        let bias = rng.tensor(&[w_shape[0]]);
        let op = build(OpCode::Conv, &attrs);
        check_same(op.as_ref(), &[Some(&x), Some(&w), Some(&bias)], what);
        check_same(op.as_ref(), &[Some(&x), Some(&w)], what);
    }
}

#[test]
fn conv_transpose_with_f16_w() {
    let mut rng = Lcg(6);
    let x = rng.tensor(&[1, 3, 5, 4]);
    let w = rng.tensor(&[3, 2, 3, 3]);
    let op = build(OpCode::ConvTranspose, &[ints("strides", &[2, 2])]);
    check_same(op.as_ref(), &[Some(&x), Some(&w)], "ConvTranspose");
}

#[test]
fn f16_activations_and_other_weight_types_are_refused() {
    let mut rng = Lcg(7);
    let (x16, _) = halves(&rng.tensor(&[1, 2, 4, 4]));
    let w = rng.tensor(&[2, 2, 3, 3]);
    let conv = build(OpCode::Conv, &[]);
    let infos = [
        Some(InputInfo::from(x16.view())),
        Some(InputInfo::from(w.view())),
    ];
    assert!(conv.infer(&infos).is_err(), "an f16 X is not a weight");
    let x = rng.tensor(&[1, 2, 4, 4]);
    let w_int = Tensor::from_slice(&[2, 2, 3, 3], &[1i32; 36]).unwrap();
    let infos = [
        Some(InputInfo::from(x.view())),
        Some(InputInfo::from(w_int.view())),
    ];
    assert!(conv.infer(&infos).is_err(), "an i32 weight");
    let gemm = build(OpCode::Gemm, &[]);
    let a = rng.tensor(&[2, 3]);
    let b_int = Tensor::from_slice(&[3, 2], &[1i32; 6]).unwrap();
    let infos = [
        Some(InputInfo::from(a.view())),
        Some(InputInfo::from(b_int.view())),
    ];
    assert!(gemm.infer(&infos).is_err(), "an i32 B");
}
