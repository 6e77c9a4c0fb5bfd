//! `--quantize int8-dynamic` on a small model: which layers are replaced,
//! what their constants hold (checked against values computed here), and
//! what the report says.

use super::MIN_DEPTH;
use crate::test_onnx::*;
use crate::{ConvertOptions, Converted, Quantization, convert};
use pocketnn_format::{AttrValue, DType, OpCode};
use pocketnn_tensor::{Isa, Tensor, TensorView};

const K: usize = 32;
const N: usize = 24;
const N2: usize = 5;

/// Weights with a known pattern: column `j` spans `±(j + 1) / 10`.
fn gemm_weight_nk() -> Vec<f32> {
    (0..N * K)
        .map(|i| {
            let (j, p) = (i / K, i % K);
            (j as f32 + 1.0) / 10.0 * ((p as f32 * 0.37).sin())
        })
        .collect()
}

fn matmul_weight_kn() -> Vec<f32> {
    (0..N * N2)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0)
        .collect()
}

/// x [B, 32] -> Gemm(W [24, 32], C [24], transB, alpha 0.5, beta 2) ->
/// Relu -> MatMul(B2 [24, 5]) = m; then m · w3 (a graph input) and
/// m · B4 (K = 5, below MIN_DEPTH).
fn model_bytes() -> Vec<u8> {
    let w = tensor_f32("W", &[N as i64, K as i64], &gemm_weight_nk());
    let c = tensor_f32(
        "C",
        &[N as i64],
        &(0..N).map(|j| j as f32).collect::<Vec<_>>(),
    );
    let b2 = tensor_f32("B2", &[N as i64, N2 as i64], &matmul_weight_kn());
    let b4 = tensor_f32("B4", &[N2 as i64, 2], &[1.0; N2 * 2]);
    let nodes = vec![
        node(
            "Gemm",
            "fc1",
            &["x", "W", "C"],
            &["g"],
            vec![
                a_int("transB", 1),
                a_float("alpha", 0.5),
                a_float("beta", 2.0),
            ],
        ),
        node("Relu", "relu", &["g"], &["h"], vec![]),
        node("MatMul", "fc2", &["h", "B2"], &["m"], vec![]),
        node("MatMul", "fc3", &["m", "w3"], &["z"], vec![]),
        node("MatMul", "fc4", &["m", "B4"], &["s"], vec![]),
    ];
    let inputs = vec![
        value_info("x", FLOAT, &[D::S("B"), D::N(K as i64)]),
        value_info("w3", FLOAT, &[D::N(N2 as i64), D::N(3)]),
    ];
    let outputs = vec![value_info("z", FLOAT, &[]), value_info("s", FLOAT, &[])];
    model(13, graph(nodes, inputs, outputs, vec![w, c, b2, b4]))
}

fn quantized() -> Converted {
    let options = ConvertOptions {
        quantize: Some(Quantization::Int8Dynamic),
        ..ConvertOptions::default()
    };
    convert(&model_bytes(), &options).expect("convert")
}

/// The constant input `index` of `node` as a tensor.
fn constant_of(c: &Converted, node: &pocketnn_format::NodeDef, index: usize) -> Tensor {
    let g = &c.model.graph;
    let value = &g.values[node.inputs[index].unwrap() as usize];
    let t = value.constant.expect("constant") as usize;
    let entry = &c.model.tensors[t];
    let shape: Vec<usize> = entry.shape.iter().map(|&d| d as usize).collect();
    let view = TensorView::new(entry.dtype, &shape, &c.tensor_data[t]).unwrap();
    view.to_tensor()
}

#[test]
fn gemm_and_matmul_with_constant_weights_are_replaced() {
    let c = quantized();
    let nodes = &c.model.graph.bodies[0].nodes;
    let ops: Vec<(&str, OpCode)> = nodes.iter().map(|n| (n.name.as_str(), n.op)).collect();
    assert_eq!(
        ops,
        [
            ("fc1", OpCode::DynamicQuantMatMul),
            ("fc2", OpCode::DynamicQuantMatMul),
            ("fc3", OpCode::MatMul),
            ("fc4", OpCode::MatMul),
        ]
    );
    // The Relu fused before quantization stays with the node.
    assert_eq!(
        nodes[0]
            .attributes
            .iter()
            .find(|a| a.name == "activation")
            .map(|a| &a.value),
        Some(&AttrValue::String("relu".into()))
    );
    assert_eq!(nodes[1].inputs.len(), 3, "fc2 has no bias");
}

#[test]
fn weights_scales_and_bias_follow_the_formulas() {
    let c = quantized();
    let fc1 = &c.model.graph.bodies[0].nodes[0];
    let q = constant_of(&c, fc1, 1);
    let scales = constant_of(&c, fc1, 2);
    let bias = constant_of(&c, fc1, 3);
    assert_eq!((q.dtype(), q.shape()), (DType::I8, &[K, N][..]));
    assert_eq!(scales.shape(), &[N]);
    let (q, scales, bias) = (
        q.as_slice::<i8>().unwrap(),
        scales.as_slice::<f32>().unwrap(),
        bias.as_slice::<f32>().unwrap(),
    );
    let w = gemm_weight_nk();
    for j in 0..N {
        // alpha · W, transposed to k × n: column j is row j of W.
        let column: Vec<f32> = (0..K).map(|p| 0.5 * w[j * K + p]).collect();
        let max = column.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!((scales[j] - max / 127.0).abs() <= 1e-7, "scale {j}");
        assert_eq!(bias[j], 2.0 * j as f32, "bias {j}");
        let mut saw_extreme = false;
        for p in 0..K {
            let back = f32::from(q[p * N + j]) * scales[j];
            assert!(
                (back - column[p]).abs() <= scales[j] / 2.0 + 1e-6,
                "w[{p}, {j}]"
            );
            saw_extreme |= q[p * N + j].unsigned_abs() == 127;
        }
        assert!(saw_extreme, "column {j} uses the full range");
    }
}

#[test]
fn the_quantized_layer_is_close_to_the_float_one() {
    let c = quantized();
    let fc2 = &c.model.graph.bodies[0].nodes[1];
    let op = pocketnn_ops::build_operator(fc2.op, &fc2.attributes).unwrap();
    let (q, scales) = (constant_of(&c, fc2, 1), constant_of(&c, fc2, 2));
    let rows = 3;
    let a: Vec<f32> = (0..rows * N)
        .map(|i| ((i * 13 % 17) as f32) / 8.0)
        .collect();
    let a_tensor = Tensor::from_slice(&[rows, N], &a).unwrap();
    let views = [Some(a_tensor.view()), Some(q.view()), Some(scales.view())];
    let out = pocketnn_ops::eval(op.as_ref(), &views, Isa::Scalar).unwrap();
    let out = out[0].as_slice::<f32>().unwrap();
    let b = matmul_weight_kn();
    for i in 0..rows {
        for j in 0..N2 {
            let exact: f32 = (0..N).map(|p| a[i * N + p] * b[p * N2 + j]).sum();
            // Row step 2/255 · |b| ≤ 1.25 · 24 terms, plus the weights' half
            // step: a loose bound, far below the values (~10).
            assert!((out[i * N2 + j] - exact).abs() < 0.15, "y[{i}, {j}]");
        }
    }
}

#[test]
fn the_report_lists_every_layer_with_reasons() {
    let c = quantized();
    let layers = &c.report.layers;
    let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["fc1", "fc2", "fc3", "fc4"]);
    assert_eq!(layers[0].op, "Gemm");
    assert_eq!(layers[0].bytes_before, ((N * K + N) * 4) as u64);
    assert_eq!(layers[0].bytes_after, (N * K + N * 4 + N * 4) as u64);
    assert_eq!(layers[1].bytes_after, (N * N2 + N2 * 4) as u64);
    assert!(layers[..2].iter().all(|l| l.kept_float.is_none()));
    let reason = |i: usize| layers[i].kept_float.clone().unwrap_or_default();
    assert!(reason(2).contains("not a constant"), "{}", reason(2));
    assert!(
        reason(3).contains(&format!("below {MIN_DEPTH}")),
        "{}",
        reason(3)
    );
    assert_eq!(layers[3].bytes_before, layers[3].bytes_after);
    let text = c.report.to_string();
    assert!(
        text.contains("fc1") && text.contains("kept float"),
        "{text}"
    );
}
