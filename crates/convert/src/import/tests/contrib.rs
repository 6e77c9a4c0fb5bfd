//! `com.microsoft::QGemm` (onnxruntime's QOperator Gemm): converted, then
//! evaluated node by node, against values computed by hand.

use crate::onnx::proto::TensorProto;
use crate::test_onnx::*;
use crate::{ConvertOptions, convert};
use pocketnn_tensor::{Isa, Tensor, TensorView};
use std::collections::HashMap;

const INT8: i32 = 3;
const INT32: i32 = 6;

fn int_tensor(name: &str, data_type: i32, dims: &[i64], data: &[i32]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(data_type),
        int32_data: data.to_vec(),
        ..TensorProto::default()
    }
}

/// QGemm(A, 0.5, 1, B (transB), [0.25, 1], 0, C = [10, -4], y?) with alpha 2.
fn qgemm_model(quantized_output: bool) -> Vec<u8> {
    let mut inputs = vec!["a", "a_scale", "a_zero", "b", "b_scale", "b_zero", "c"];
    if quantized_output {
        inputs.extend(["y_scale", "y_zero"]);
    }
    let mut qgemm = node(
        "QGemm",
        "qgemm",
        &inputs,
        &["y"],
        vec![a_int("transB", 1), a_float("alpha", 2.0)],
    );
    qgemm.domain = Some("com.microsoft".into());
    let initializers = vec![
        tensor_f32("a_scale", &[], &[0.5]),
        int_tensor("a_zero", INT8, &[], &[1]),
        int_tensor("b", INT8, &[2, 3], &[2, -1, 0, 1, 1, 1]),
        tensor_f32("b_scale", &[2], &[0.25, 1.0]),
        int_tensor("b_zero", INT8, &[2], &[0, 0]),
        int_tensor("c", INT32, &[2], &[10, -4]),
        tensor_f32("y_scale", &[], &[0.5]),
        int_tensor("y_zero", INT8, &[], &[-3]),
    ];
    let g = graph(
        vec![qgemm],
        vec![value_info("a", INT8, &[D::N(2), D::N(3)])],
        vec![value_info(
            "y",
            if quantized_output { INT8 } else { FLOAT },
            &[],
        )],
        initializers,
    );
    model(17, g)
}

/// Converts `onnx` and evaluates its main graph on `a`; returns `y`.
fn run(onnx: &[u8], a: Tensor) -> Tensor {
    let c = convert(onnx, &ConvertOptions::default()).expect("convert");
    let g = &c.model.graph;
    let mut values: HashMap<u32, Tensor> = HashMap::new();
    for (id, value) in g.values.iter().enumerate() {
        if let Some(t) = value.constant {
            let entry = &c.model.tensors[t as usize];
            let shape: Vec<usize> = entry.shape.iter().map(|&d| d as usize).collect();
            let view = TensorView::new(entry.dtype, &shape, &c.tensor_data[t as usize]).unwrap();
            values.insert(id as u32, view.to_tensor());
        }
    }
    values.insert(g.inputs[0], a);
    for n in &g.bodies[0].nodes {
        let op = pocketnn_ops::build_operator(n.op, &n.attributes).unwrap();
        let inputs: Vec<_> = n
            .inputs
            .iter()
            .map(|i| i.map(|i| values[&i].view()))
            .collect();
        let outputs = pocketnn_ops::eval(op.as_ref(), &inputs, Isa::Scalar).unwrap();
        for (&id, t) in n.outputs.iter().zip(outputs) {
            values.insert(id, t);
        }
    }
    values.remove(&g.bodies[0].outputs[0]).expect("output")
}

// A - 1 = [[0, -3, 2], [3, -1, -2]]; B^T columns (2, -1, 0) and (1, 1, 1):
// sums [[3, -1], [7, 0]], plus C: [[13, -5], [17, -4]].
fn a() -> Tensor {
    Tensor::from_slice(&[2, 3], &[1i8, -2, 3, 4, 0, -1]).unwrap()
}

#[test]
fn qgemm_with_float_output() {
    // scale = 2 · 0.5 · [0.25, 1] = [0.25, 1].
    let y = run(&qgemm_model(false), a());
    assert_eq!(y.shape(), &[2, 2]);
    assert_eq!(y.as_slice::<f32>().unwrap(), &[3.25, -5.0, 4.25, -4.0]);
}

#[test]
fn qgemm_with_quantized_output_rounds_halves_to_even() {
    // scale / 0.5 = [0.5, 2]: [[6.5, -10], [8.5, -8]] rounds to
    // [[6, -10], [8, -8]], plus the zero point -3.
    let y = run(&qgemm_model(true), a());
    assert_eq!(y.as_slice::<i8>().unwrap(), &[3, -13, 5, -11]);
}
