//! The low-rank pass: the SVD checked against facts independent of faer
//! (Eckart–Young: the squared error of the rank-`r` truncation is the sum
//! of the discarded squared singular values; hand-built matrices of known
//! singular values), the rank choice, the option syntax, and converted
//! models against the same model converted without `--low-rank`, run by
//! the runtime.

use super::LowRank;
use super::svd::{decompose, energy_kept, rank_for};
use crate::test_onnx::*;
use crate::{ConvertOptions, Quantization, convert};
use pocketnn::{Model, Session, SessionOptions};
use pocketnn_format::OpCode;
use pocketnn_tensor::TensorView;

/// Deterministic values in `[-1, 1)`.
fn pseudo_random(seed: u64, n: usize) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
            bits as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// An `m × k` matrix of rank `rank`: a sum of `rank` outer products.
fn low_rank_matrix(seed: u64, m: usize, k: usize, rank: usize) -> Vec<f32> {
    let a = pseudo_random(seed, m * rank);
    let b = pseudo_random(seed + 1, rank * k);
    let mut w = vec![0.0f32; m * k];
    for i in 0..m {
        for p in 0..k {
            w[i * k + p] = (0..rank).map(|j| a[i * rank + j] * b[j * k + p]).sum();
        }
    }
    w
}

#[test]
fn truncation_error_is_the_discarded_energy() {
    let (m, k) = (20, 30);
    let w = pseudo_random(5, m * k);
    let d = decompose(&w, m, k).unwrap();
    assert_eq!(d.singular.len(), 20);
    assert!(d.singular.windows(2).all(|s| s[0] >= s[1]));
    // The squared singular values sum to ‖W‖²_F.
    let norm: f64 = w.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    let total: f64 = d.singular.iter().map(|&s| f64::from(s).powi(2)).sum();
    assert!((norm - total).abs() <= 1e-4 * norm, "{norm} vs {total}");
    for r in [1, 5, 12, 20] {
        let f = d.truncate(r);
        let mut error = 0.0f64;
        for i in 0..m {
            for p in 0..k {
                let approx: f32 = (0..r).map(|j| f.u[i * r + j] * f.v[j * k + p]).sum();
                error += f64::from(w[i * k + p] - approx).powi(2);
            }
        }
        let discarded: f64 = d.singular[r..].iter().map(|&s| f64::from(s).powi(2)).sum();
        assert!(
            (error - discarded).abs() <= 1e-4 * norm,
            "rank {r}: error {error}, discarded {discarded}"
        );
        let kept = energy_kept(&d.singular, r);
        assert!((kept - (1.0 - discarded / total)).abs() < 1e-9);
    }
}

#[test]
fn known_singular_values_are_found() {
    // diag(3, -2, 1) padded with a zero column: singular values 3, 2, 1.
    let w = [3.0, 0.0, 0.0, 0.0, 0.0, -2.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    let d = decompose(&w, 3, 4).unwrap();
    for (s, want) in d.singular.iter().zip([3.0, 2.0, 1.0]) {
        assert!((s - want).abs() < 1e-5, "{:?}", d.singular);
    }
    // 5 · a·bᵀ with unit a, b: one singular value 5, the rest 0.
    let (a, b) = ([0.6f32, 0.8], [0.0f32, 1.0, 0.0]);
    let w: Vec<f32> = a
        .iter()
        .flat_map(|x| b.iter().map(move |y| 5.0 * x * y))
        .collect();
    let d = decompose(&w, 2, 3).unwrap();
    assert!((d.singular[0] - 5.0).abs() < 1e-5 && d.singular[1].abs() < 1e-5);
    assert_eq!(rank_for(LowRank::Energy(0.999), 2, Some(&d.singular)), 1);
}

#[test]
fn ranks_follow_the_option() {
    assert_eq!(rank_for(LowRank::Fraction(0.25), 64, None), 16);
    assert_eq!(rank_for(LowRank::Fraction(0.3), 10, None), 3);
    assert_eq!(rank_for(LowRank::Fraction(1e-6), 64, None), 1);
    assert_eq!(rank_for(LowRank::Fraction(1.0), 64, None), 64);
    // Squares 4, 1, 1 of 6: one value holds 0.667, two hold 0.833.
    let s = [2.0, 1.0, 1.0];
    assert_eq!(rank_for(LowRank::Energy(0.6), 3, Some(&s)), 1);
    assert_eq!(rank_for(LowRank::Energy(0.7), 3, Some(&s)), 2);
    assert_eq!(rank_for(LowRank::Energy(1.0), 3, Some(&s)), 3);
}

#[test]
fn the_option_syntax() {
    assert_eq!("0.5".parse(), Ok(LowRank::Fraction(0.5)));
    assert_eq!("1".parse(), Ok(LowRank::Fraction(1.0)));
    assert_eq!("energy:0.9".parse(), Ok(LowRank::Energy(0.9)));
    for bad in ["0", "1.5", "-0.2", "energy:", "energy:0", "x", "NaN", ""] {
        assert!(bad.parse::<LowRank>().is_err(), "{bad}");
    }
    assert_eq!(LowRank::Energy(0.9).to_string(), "energy:0.9");
}

const K: usize = 40;
const M: usize = 24;

/// `x [N, K]` → `op` with weight `w` (+ bias for Gemm) → Relu → `y [N, M]`.
fn linear_model(op: &str, w: &[f32]) -> Vec<u8> {
    let (nodes, init) = if op == "Gemm" {
        (
            vec![node(
                "Gemm",
                "fc",
                &["x", "W", "B"],
                &["h"],
                vec![a_int("transB", 1)],
            )],
            vec![
                tensor_f32("W", &[M as i64, K as i64], w),
                tensor_f32("B", &[M as i64], &pseudo_random(9, M)),
            ],
        )
    } else {
        // MatMul stores W transposed: [K, M].
        let mut wt = vec![0.0f32; K * M];
        for i in 0..M {
            for p in 0..K {
                wt[p * M + i] = w[i * K + p];
            }
        }
        (
            vec![node("MatMul", "fc", &["x", "W"], &["h"], vec![])],
            vec![tensor_f32("W", &[K as i64, M as i64], &wt)],
        )
    };
    let mut nodes = nodes;
    nodes.push(node("Relu", "relu", &["h"], &["y"], vec![]));
    let inputs = vec![value_info("x", FLOAT, &[D::S("N"), D::N(K as i64)])];
    model(
        13,
        graph(nodes, inputs, vec![value_info("y", FLOAT, &[])], init),
    )
}

fn run(bytes: &[u8], shape: &[usize], x: &[f32]) -> Vec<f32> {
    let model = Model::from_bytes(bytes).unwrap();
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    let view = TensorView::from_slice(shape, x).unwrap();
    let out = session.run_views(&[("x", view)]).unwrap();
    out.get("y").unwrap().as_slice::<f32>().unwrap().to_vec()
}

fn convert_with(onnx: &[u8], options: ConvertOptions) -> (Vec<u8>, crate::Converted) {
    let converted = convert(onnx, &options).unwrap();
    (converted.to_pnn_bytes().unwrap(), converted)
}

fn low_rank(mode: LowRank) -> ConvertOptions {
    ConvertOptions {
        low_rank: Some(mode),
        ..ConvertOptions::default()
    }
}

fn ops_of(converted: &crate::Converted) -> Vec<OpCode> {
    converted.model.graph.bodies[0]
        .nodes
        .iter()
        .map(|n| n.op)
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn a_low_rank_weight_is_reproduced_through_the_fused_operator() {
    let w = low_rank_matrix(3, M, K, 4);
    let x = pseudo_random(4, 5 * K);
    for op in ["Gemm", "MatMul"] {
        let onnx = linear_model(op, &w);
        let (dense, _) = convert_with(&onnx, ConvertOptions::default());
        let (factored, converted) = convert_with(&onnx, low_rank(LowRank::Energy(0.999_999)));
        assert_eq!(ops_of(&converted), [OpCode::LowRankLinear], "{op}");
        let row = &converted.report.low_rank_layers[0];
        assert_eq!(
            (row.rank, row.full_rank, row.factorized()),
            (4, M, true),
            "{op}"
        );
        for rows in [1, 5] {
            let x = &x[..rows * K];
            let want = run(&dense, &[rows, K], x);
            let got = run(&factored, &[rows, K], x);
            assert!(max_abs_diff(&got, &want) < 1e-4, "{op} rows {rows}");
        }
    }
}

#[test]
fn a_truncated_weight_gives_sensible_outputs_and_a_report() {
    let w = pseudo_random(7, M * K);
    let onnx = linear_model("Gemm", &w);
    let x = pseudo_random(8, 16 * K);
    let (dense, _) = convert_with(&onnx, ConvertOptions::default());
    let want = run(&dense, &[16, K], &x);
    let scale = want.iter().fold(0.0f32, |a, &v| a.max(v.abs()));
    let mut errors = Vec::new();
    for fraction in [0.25, 0.5] {
        let (bytes, converted) = convert_with(&onnx, low_rank(LowRank::Fraction(fraction)));
        let row = &converted.report.low_rank_layers[0];
        let r = (fraction * M as f32).ceil() as u64;
        assert_eq!(row.rank as u64, r);
        assert_eq!(row.params_before, (M * K + M) as u64);
        assert_eq!(row.params_after, r * (M + K) as u64 + M as u64);
        assert_eq!(row.bytes_after, row.params_after * 4);
        assert_eq!(row.flops_before, 2 * (M * K) as u64);
        assert_eq!(row.flops_after, 2 * r * (M + K) as u64);
        assert!(row.energy_kept.is_some_and(|e| e > 0.0 && e < 1.0));
        let got = run(&bytes, &[16, K], &x);
        errors.push(max_abs_diff(&got, &want) / scale);
        let text = converted.report.to_string();
        assert!(
            text.contains("low-rank") && text.contains("factorized"),
            "{text}"
        );
    }
    // A random matrix has a flat spectrum: half the rank loses much, but
    // less than a quarter, and the outputs stay on the same scale.
    assert!(errors[1] < errors[0] && errors[0] < 1.0, "{errors:?}");
}

#[test]
fn a_layer_that_would_not_get_cheaper_is_kept() {
    let w = pseudo_random(7, M * K);
    let (_, converted) = convert_with(&linear_model("Gemm", &w), low_rank(LowRank::Fraction(1.0)));
    assert_eq!(ops_of(&converted), [OpCode::Gemm]);
    let row = &converted.report.low_rank_layers[0];
    assert!(!row.factorized());
    assert!(row.kept.as_deref().unwrap().contains("would not save work"));
    assert_eq!(row.params_after, row.params_before);
}

#[test]
fn low_rank_composes_with_quantization() {
    let w = low_rank_matrix(11, M, K, 3);
    let onnx = linear_model("Gemm", &w);
    let x = pseudo_random(12, 8 * K);
    let (dense, _) = convert_with(&onnx, ConvertOptions::default());
    let want = run(&dense, &[8, K], &x);
    let scale = want.iter().fold(0.0f32, |a, &v| a.max(v.abs()));
    let options = ConvertOptions {
        quantize: Some(Quantization::Int8Dynamic),
        ..low_rank(LowRank::Energy(0.9999))
    };
    let (bytes, converted) = convert_with(&onnx, options);
    let ops = ops_of(&converted);
    // The factors are quantized as layers of their own (the dynamic
    // quantizer may keep the thin second one float), so nothing is fused.
    assert!(!ops.contains(&OpCode::LowRankLinear), "{ops:?}");
    assert!(ops.contains(&OpCode::DynamicQuantMatMul), "{ops:?}");
    eprint!("{}", converted.report);
    let got = run(&bytes, &[8, K], &x);
    assert!(max_abs_diff(&got, &want) < 0.05 * scale, "{ops:?}");
}

/// `x [1, C, 6, 6]` → 3×3 Conv (pads 1) with `M` outputs and bias → Relu.
fn conv_model(w: &[f32], c: usize, m: usize) -> Vec<u8> {
    let nodes = vec![
        node(
            "Conv",
            "conv",
            &["x", "W", "B"],
            &["h"],
            vec![
                a_ints("kernel_shape", &[3, 3]),
                a_ints("pads", &[1, 1, 1, 1]),
            ],
        ),
        node("Relu", "relu", &["h"], &["y"], vec![]),
    ];
    let inputs = vec![value_info(
        "x",
        FLOAT,
        &[D::N(1), D::N(c as i64), D::N(6), D::N(6)],
    )];
    let init = vec![
        tensor_f32("W", &[m as i64, c as i64, 3, 3], w),
        tensor_f32("B", &[m as i64], &pseudo_random(13, m)),
    ];
    model(
        13,
        graph(nodes, inputs, vec![value_info("y", FLOAT, &[])], init),
    )
}

#[test]
fn a_convolution_becomes_a_thin_convolution_and_a_pointwise_one() {
    let (c, m) = (8, 16);
    let w = low_rank_matrix(14, m, c * 9, 3);
    let onnx = conv_model(&w, c, m);
    let x = pseudo_random(15, c * 36);
    let (dense, _) = convert_with(&onnx, ConvertOptions::default());
    let (factored, converted) = convert_with(&onnx, low_rank(LowRank::Energy(0.999_999)));
    assert_eq!(ops_of(&converted), [OpCode::Conv, OpCode::Conv]);
    let row = &converted.report.low_rank_layers[0];
    assert_eq!((row.rank, row.full_rank), (3, 16));
    // 36 output pixels, 2 FLOPs per multiply-add.
    assert_eq!(row.flops_before, 2 * 36 * (m * c * 9) as u64);
    assert_eq!(row.flops_after, 2 * 36 * 3 * (m + c * 9) as u64);
    let want = run(&dense, &[1, c, 6, 6], &x);
    let got = run(&factored, &[1, c, 6, 6], &x);
    assert!(max_abs_diff(&got, &want) < 1e-4);
}
