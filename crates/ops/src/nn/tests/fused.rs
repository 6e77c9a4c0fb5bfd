//! The fused forms (`docs/ops/fusion.md`): Conv with residual `Z` and an
//! activation, Gemm and MatMul with an activation, on every tier and with
//! 1 and 2 threads, against the naive references followed by
//! `Activation::apply_reference`; and `B` operands stored pre-packed.

use super::reference::{self, Window};
use super::{Lcg, assert_close, build, int, ints, tiers};
use crate::fused::activation_attributes;
use crate::operator::{InputInfo, Operator, RunContext};
use pocketnn_format::{Attribute, OpCode};
use pocketnn_tensor::kernels::activation::Activation;
use pocketnn_tensor::kernels::gemm::{MatRef, PackedB, f32_gemm_kernel};
use pocketnn_tensor::{AlignedBuf, Isa, Tensor, TensorView, TensorViewMut};

const ACTIVATIONS: [Activation; 6] = [
    Activation::None,
    Activation::Relu,
    Activation::Clip { min: 0.0, max: 0.6 },
    Activation::LeakyRelu { alpha: 0.1 },
    Activation::HardSwish,
    Activation::Silu,
];

/// Runs `op` on `views` with `isa` and `threads`; output 0 starts as NaN.
fn run_views(
    op: &dyn Operator,
    views: &[Option<TensorView<'_>>],
    isa: Isa,
    threads: usize,
) -> Tensor {
    let infos: Vec<Option<InputInfo<'_>>> = views
        .iter()
        .map(|v| {
            v.map(|v| InputInfo {
                dtype: v.dtype(),
                shape: v.shape(),
                value: None,
            })
        })
        .collect();
    let specs = op.infer(&infos).unwrap();
    let mut y = Tensor::zeros(specs[0].dtype, &specs[0].shape).unwrap();
    y.as_slice_mut::<f32>().unwrap().fill(f32::NAN);
    let mut scratch = AlignedBuf::new();
    let mut ctx = RunContext {
        isa,
        threads,
        scratch: &mut scratch,
    };
    let mut outputs: Vec<TensorViewMut<'_>> = vec![y.view_mut()];
    op.run(&mut ctx, views, &mut outputs).unwrap();
    drop(outputs);
    y
}

fn run(op: &dyn Operator, inputs: &[Option<&Tensor>], isa: Isa, threads: usize) -> Tensor {
    let views: Vec<Option<TensorView<'_>>> = inputs.iter().map(|t| t.map(Tensor::view)).collect();
    run_views(op, &views, isa, threads)
}

fn activated(values: &[f32], act: Activation) -> Vec<f32> {
    values.iter().map(|&v| act.apply_reference(v)).collect()
}

#[test]
fn conv_with_residual_and_activation_matches_the_reference() {
    let mut rng = Lcg(5);
    // (x shape, w shape, group, pads, strides): im2col, pointwise, depthwise, grouped
    type Case<'s> = (&'s [usize], &'s [usize], usize, i64, usize);
    let cases: [Case<'_>; 5] = [
        (&[2, 3, 9, 8], &[5, 3, 3, 3], 1, 1, 1),
        (&[1, 8, 20, 20], &[16, 8, 3, 3], 1, 1, 2),
        (&[2, 6, 7, 5], &[4, 6, 1, 1], 1, 0, 1),
        (&[1, 4, 6, 6], &[4, 1, 3, 3], 4, 1, 1),
        (&[1, 4, 6, 6], &[6, 2, 3, 3], 2, 0, 1),
    ];
    for (case, &(xs, ws, group, pad, stride)) in cases.iter().enumerate() {
        let x = rng.tensor(xs);
        let w = rng.tensor(ws);
        let b = rng.tensor(&[ws[0]]);
        let out: Vec<usize> = (0..2)
            .map(|d| reference::conv_out(xs[2 + d], ws[2 + d], stride, 1, pad, pad).unwrap())
            .collect();
        let y_shape = [xs[0], ws[0], out[0], out[1]];
        let z = rng.tensor(&y_shape);
        let win = Window {
            strides: vec![stride; 2],
            dilations: vec![1; 2],
            pads_begin: vec![pad; 2],
            pads_end: vec![pad; 2],
        };
        let plain = reference::conv(&x, &w, Some(b.as_slice().unwrap()), group, &win, &out);
        for (i, &act) in ACTIVATIONS.iter().enumerate() {
            let mut attrs: Vec<Attribute> = vec![
                int("group", group as i64),
                ints("pads", &[pad; 4]),
                ints("strides", &[stride as i64; 2]),
            ];
            attrs.extend(activation_attributes(act));
            let op = build(OpCode::Conv, &attrs);
            let with_z = i % 2 == 0;
            let expected: Vec<f32> = plain
                .iter()
                .zip(z.as_slice::<f32>().unwrap())
                .map(|(&v, &r)| act.apply_reference(if with_z { v + r } else { v }))
                .collect();
            let inputs = if with_z {
                vec![Some(&x), Some(&w), Some(&b), Some(&z)]
            } else {
                vec![Some(&x), Some(&w), Some(&b)]
            };
            for isa in tiers() {
                for threads in [1, 2] {
                    let y = run(op.as_ref(), &inputs, isa, threads);
                    assert_eq!(y.shape(), y_shape);
                    let what = format!("case {case} {act:?} z={with_z} {isa} threads={threads}");
                    assert_close(y.as_slice().unwrap(), &expected, 1e-5, &what);
                }
            }
        }
    }
}

#[test]
fn conv_residual_of_the_wrong_shape_is_refused() {
    let op = build(OpCode::Conv, &[]);
    let (x, w) = (
        Tensor::zeros(pocketnn_format::DType::F32, &[1, 2, 4, 4]).unwrap(),
        Tensor::zeros(pocketnn_format::DType::F32, &[3, 2, 1, 1]).unwrap(),
    );
    let z = Tensor::zeros(pocketnn_format::DType::F32, &[1, 3, 4, 5]).unwrap();
    let infos: Vec<Option<InputInfo<'_>>> = [Some(&x), Some(&w), None, Some(&z)]
        .iter()
        .map(|t| t.map(|t| InputInfo::from(t.view())))
        .collect();
    assert!(op.infer(&infos).is_err());
}

fn float(name: &str, v: f32) -> Attribute {
    super::float(name, v)
}

#[test]
fn gemm_and_matmul_with_activation_match_the_reference() {
    let mut rng = Lcg(9);
    for (m, k, n) in [(1, 7, 5), (3, 33, 17), (40, 64, 70), (2, 300, 1000)] {
        let a = rng.tensor(&[m, k]);
        let w = rng.tensor(&[n, k]); // used transposed
        let c = rng.tensor(&[n]);
        let (av, wv, cv) = (
            a.as_slice::<f32>().unwrap(),
            w.as_slice::<f32>().unwrap(),
            c.as_slice::<f32>().unwrap(),
        );
        let product = reference::matmul(av, &reference::transpose(wv, n, k), m, k, n);
        for (i, &act) in ACTIVATIONS.iter().enumerate() {
            let (alpha, beta) = if i % 2 == 0 { (1.0, 1.0) } else { (0.5, -2.0) };
            let mut attrs = vec![int("transB", 1), float("alpha", alpha), float("beta", beta)];
            attrs.extend(activation_attributes(act));
            let gemm = build(OpCode::Gemm, &attrs);
            let expected: Vec<f32> = product
                .iter()
                .enumerate()
                .map(|(idx, &v)| act.apply_reference(alpha * v + beta * cv[idx % n]))
                .collect();
            let matmul = build(OpCode::MatMul, &activation_attributes(act));
            let wt = Tensor::from_slice(&[k, n], &reference::transpose(wv, n, k)).unwrap();
            let mm_expected = activated(&product, act);
            for isa in tiers() {
                for threads in [1, 2] {
                    let what = format!("m={m} k={k} n={n} {act:?} {isa} t={threads}");
                    let y = run(gemm.as_ref(), &[Some(&a), Some(&w), Some(&c)], isa, threads);
                    assert_close(
                        y.as_slice().unwrap(),
                        &expected,
                        1e-4,
                        &format!("Gemm {what}"),
                    );
                    let y = run(matmul.as_ref(), &[Some(&a), Some(&wt)], isa, threads);
                    assert_close(
                        y.as_slice().unwrap(),
                        &mm_expected,
                        1e-4,
                        &format!("MatMul {what}"),
                    );
                }
            }
        }
    }
}

/// A weight stored packed (for this tier, or for another one: the slow
/// path) gives the same results as the row-major weight.
#[test]
fn packed_weights_give_the_same_results() {
    let mut rng = Lcg(13);
    for (m, k, n) in [(1, 9, 5), (4, 40, 37), (20, 64, 100)] {
        let a = rng.tensor(&[m, k]);
        let w = rng.tensor(&[n, k]);
        let (av, wv) = (a.as_slice::<f32>().unwrap(), w.as_slice::<f32>().unwrap());
        let b_values = reference::transpose(wv, n, k);
        let expected = activated(&reference::matmul(av, &b_values, m, k, n), Activation::Relu);
        let gemm = build(
            OpCode::Gemm,
            &[
                vec![int("transB", 1)],
                activation_attributes(Activation::Relu),
            ]
            .concat(),
        );
        let matmul = build(OpCode::MatMul, &activation_attributes(Activation::Relu));
        assert!(gemm.accepts_packed_b(1) && matmul.accepts_packed_b(1));
        assert!(!gemm.accepts_packed_b(0) && !matmul.accepts_packed_b(0));
        let b_shape = [k, n];
        let b = MatRef::row_major(&b_values, k, n).unwrap();
        for isa in tiers() {
            for pack_for in [Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon] {
                let packed = PackedB::pack(pack_for, b).unwrap();
                let what = format!(
                    "m={m} k={k} n={n} packed for {pack_for} (nr {}), run on {isa} (nr {})",
                    packed.layout().nr,
                    f32_gemm_kernel(isa).nr
                );
                let w_shape = [n, k];
                let gemm_b = TensorView::packed_b(&w_shape, packed.view(), true).unwrap();
                let y = run_views(gemm.as_ref(), &[Some(a.view()), Some(gemm_b)], isa, 1);
                assert_close(
                    y.as_slice().unwrap(),
                    &expected,
                    1e-4,
                    &format!("Gemm {what}"),
                );
                let mm_b = TensorView::packed_b(&b_shape, packed.view(), false).unwrap();
                for threads in [1, 2] {
                    let y = run_views(matmul.as_ref(), &[Some(a.view()), Some(mm_b)], isa, threads);
                    assert_close(
                        y.as_slice().unwrap(),
                        &expected,
                        1e-4,
                        &format!("MatMul {what}"),
                    );
                }
                // A packed view is never read as rows.
                assert!(mm_b.as_slice::<f32>().is_err());
                assert_eq!(
                    mm_b.to_tensor().as_slice::<f32>().unwrap(),
                    b_values.as_slice()
                );
                // Packed as B but handed to Gemm as if it were transB's weight: refused.
                let gemm_plain = build(OpCode::Gemm, &[]);
                let views = [Some(a.view()), Some(mm_b)];
                let infos: Vec<Option<InputInfo<'_>>> = views
                    .iter()
                    .map(|v| {
                        v.map(|v| InputInfo {
                            dtype: v.dtype(),
                            shape: v.shape(),
                            value: None,
                        })
                    })
                    .collect();
                if gemm_plain.infer(&infos).is_ok() {
                    let y = run_views(gemm_plain.as_ref(), &views, isa, 1);
                    let plain = reference::matmul(av, &b_values, m, k, n);
                    assert_close(
                        y.as_slice().unwrap(),
                        &plain,
                        1e-4,
                        &format!("Gemm transB=0 {what}"),
                    );
                }
            }
        }
    }
}
