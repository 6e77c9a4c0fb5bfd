//! `--quantize fp16` on small hand-made models: which constants become f16
//! (their bytes checked against `half`'s rounding), which stay f32 and why,
//! and the per-layer report.

use crate::test_onnx::*;
use crate::{ConvertOptions, Quantization, convert};
use half::f16;
use pocketnn_format::{DType, OpCode};

fn fp16_options() -> ConvertOptions {
    ConvertOptions {
        quantize: Some(Quantization::Fp16),
        ..ConvertOptions::default()
    }
}

/// x[N,4] -> Gemm(W[3,4]ᵀ, B) -> MatMul(Big[3,2]) -> MatMul(S[2,2])
/// -> MatMul(S) -> y: `Big` has a value beyond f16's range, `S` is shared.
fn model_bytes() -> Vec<u8> {
    let w_values = [
        1.0, 0.1, -2.5e-8, 3.0e-5, 65504.0, -0.333, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0,
    ];
    let w = tensor_f32("W", &[3, 4], &w_values);
    let b = tensor_f32("B", &[3], &[0.1, 0.2, 0.3]);
    let big = tensor_f32("Big", &[3, 2], &[1.0, 2.0, 70000.0, 4.0, 5.0, 6.0]);
    let shared = tensor_f32("S", &[2, 2], &[0.5, -0.5, 0.25, 1.0 / 3.0]);
    let nodes = vec![
        node(
            "Gemm",
            "fc",
            &["x", "W", "B"],
            &["h"],
            vec![a_int("transB", 1)],
        ),
        node("MatMul", "big", &["h", "Big"], &["g"], vec![]),
        node("MatMul", "s1", &["g", "S"], &["s"], vec![]),
        node("MatMul", "s2", &["s", "S"], &["y"], vec![]),
    ];
    let inputs = vec![value_info("x", FLOAT, &[D::S("N"), D::N(4)])];
    let g = graph(
        nodes,
        inputs,
        vec![value_info("y", FLOAT, &[])],
        vec![w, b, big, shared],
    );
    model(17, g)
}

#[test]
fn weights_become_f16_biases_and_out_of_range_weights_stay_f32() {
    let c = convert(&model_bytes(), &fp16_options()).unwrap();
    let g = &c.model.graph;
    let nodes = &g.bodies[0].nodes;
    let ops: Vec<OpCode> = nodes.iter().map(|n| n.op).collect();
    assert_eq!(
        ops,
        [OpCode::Gemm, OpCode::MatMul, OpCode::MatMul, OpCode::MatMul]
    );
    let constant = |node: usize, input: usize| {
        let value = &g.values[nodes[node].inputs[input].unwrap() as usize];
        let tensor = value.constant.unwrap() as usize;
        (
            value.dtype,
            c.model.tensors[tensor].dtype,
            &c.tensor_data[tensor],
        )
    };
    // Gemm weight: f16, rounded to nearest even by `half`.
    let (dtype, stored, bytes) = constant(0, 1);
    assert_eq!((dtype, stored), (DType::F16, DType::F16));
    let w_values = [
        1.0, 0.1, -2.5e-8, 3.0e-5, 65504.0, -0.333, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0,
    ];
    let expected: Vec<u8> = w_values
        .iter()
        .flat_map(|&v| f16::from_f32(v).to_le_bytes())
        .collect();
    assert_eq!(bytes, &expected);
    // Its bias stays f32.
    assert_eq!(constant(0, 2).0, DType::F32);
    // 70000 is beyond f16: the weight stays f32.
    assert_eq!(constant(1, 1).0, DType::F32);
    // The shared weight is converted once, both nodes read the same value.
    assert_eq!(constant(2, 1).0, DType::F16);
    assert_eq!(nodes[2].inputs[1], nodes[3].inputs[1]);
    // The f32 originals are gone: W(12)+B(3)+Big(6)+S(4) values in tensors,
    // of which W and S are f16 now.
    let bytes: usize = c.tensor_data.iter().map(Vec::len).sum();
    assert_eq!(bytes, 12 * 2 + 3 * 4 + 6 * 4 + 4 * 2);
    assert_eq!(c.model.tensors.len(), 4);
    assert!(c.model.tensors.iter().all(|t| t.offset % 64 == 0));

    let layers = &c.report.layers;
    assert_eq!(layers.len(), 4);
    let fc = &layers[0];
    assert_eq!((fc.name.as_str(), fc.op.as_str()), ("fc", "Gemm"));
    assert_eq!(
        (fc.bytes_before, fc.bytes_after),
        (12 * 4 + 12, 12 * 2 + 12)
    );
    assert_eq!((fc.sqnr_db, fc.kept_float.as_deref()), (None, None));
    let big = &layers[1];
    assert_eq!((big.bytes_before, big.bytes_after), (24, 24));
    let reason = big.kept_float.as_deref().unwrap();
    assert!(
        reason.contains("65504") && reason.contains("7e4"),
        "{reason}"
    );
    for shared in &layers[2..] {
        assert_eq!((shared.bytes_before, shared.bytes_after), (16, 8));
        assert_eq!(shared.kept_float, None);
    }
    assert_eq!(c.report.quantization, Some(Quantization::Fp16));
}

#[test]
fn a_conv_weight_is_stored_after_batch_norm_folding() {
    let w = tensor_f32("W", &[2, 1, 3, 3], &[0.1; 18]);
    let b = tensor_f32("B", &[2], &[0.5, 0.25]);
    let nodes = vec![node("Conv", "conv", &["x", "W", "B"], &["y"], vec![])];
    let inputs = vec![value_info(
        "x",
        FLOAT,
        &[D::N(1), D::N(1), D::N(5), D::N(5)],
    )];
    let g = graph(nodes, inputs, vec![value_info("y", FLOAT, &[])], vec![w, b]);
    let c = convert(&model(13, g), &fp16_options()).unwrap();
    let conv = &c.model.graph.bodies[0].nodes[0];
    let w = &c.model.graph.values[conv.inputs[1].unwrap() as usize];
    assert_eq!(w.dtype, DType::F16);
    assert_eq!(c.report.layers.len(), 1);
    assert_eq!(c.report.layers[0].bytes_after, 18 * 2 + 2 * 4);
    // Without the option nothing changes.
    let g = graph(
        vec![node("Conv", "conv", &["x", "W", "B"], &["y"], vec![])],
        vec![value_info(
            "x",
            FLOAT,
            &[D::N(1), D::N(1), D::N(5), D::N(5)],
        )],
        vec![value_info("y", FLOAT, &[])],
        vec![
            tensor_f32("W", &[2, 1, 3, 3], &[0.1; 18]),
            tensor_f32("B", &[2], &[0.5, 0.25]),
        ],
    );
    let plain = convert(&model(13, g), &ConvertOptions::default()).unwrap();
    let conv = &plain.model.graph.bodies[0].nodes[0];
    let w = &plain.model.graph.values[conv.inputs[1].unwrap() as usize];
    assert_eq!(w.dtype, DType::F32);
    assert!(plain.report.layers.is_empty());
}
