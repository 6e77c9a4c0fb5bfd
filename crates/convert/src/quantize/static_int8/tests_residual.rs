//! `--quantize int8` on a residual block (`relu(conv2(relu(conv1(x))) +
//! x)`) and a convolution with a fused sigmoid: both convolutions whose
//! result the integer path cannot requantize become `QLinearConvF32`, and
//! the outputs stay close to a float reference written here.

use super::Calibration;
use crate::test_onnx::*;
use crate::{ConvertOptions, Quantization, convert};
use pocketnn::{Model, Session, SessionOptions};
use pocketnn_format::OpCode;
use pocketnn_tensor::{Tensor, TensorView};

const C: usize = 4;
const SIDE: usize = 5;
const PER_IMAGE: usize = C * SIDE * SIDE;

/// Deterministic values in `[-1, 1)`.
fn values(seed: u64, n: usize) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) as f32
        })
        .collect()
}

/// A 3×3 convolution with padding 1, `C` channels in and out, in f64.
fn conv3x3(x: &[f64], w: &[f32], b: &[f32]) -> Vec<f64> {
    let mut y = vec![0.0; PER_IMAGE];
    for o in 0..C {
        for i in 0..SIDE {
            for j in 0..SIDE {
                let mut s = f64::from(b[o]);
                for c in 0..C {
                    for (ki, kj) in (0..9).map(|t| (t / 3, t % 3)) {
                        let (ii, jj) = ((i + ki) as isize - 1, (j + kj) as isize - 1);
                        if (0..SIDE as isize).contains(&ii) && (0..SIDE as isize).contains(&jj) {
                            let xv = x[(c * SIDE + ii as usize) * SIDE + jj as usize];
                            s += f64::from(w[(o * C + c) * 9 + ki * 3 + kj]) * xv;
                        }
                    }
                }
                y[(o * SIDE + i) * SIDE + j] = s;
            }
        }
    }
    y
}

struct Weights([Vec<f32>; 6]);

fn weights() -> Weights {
    let w = |seed| values(seed, C * C * 9).iter().map(|v| v * 0.4).collect();
    let b = |seed| values(seed, C);
    Weights([w(1), b(2), w(3), b(4), w(5), b(6)])
}

fn model_bytes(w: &Weights) -> Vec<u8> {
    let conv = |name: &str, inputs: &[&str], output: &str| {
        node(
            "Conv",
            name,
            inputs,
            &[output],
            vec![a_ints("kernel_shape", &[3, 3]), a_ints("pads", &[1; 4])],
        )
    };
    let nodes = vec![
        conv("conv1", &["x", "W1", "B1"], "c1"),
        node("Relu", "relu1", &["c1"], &["r1"], vec![]),
        conv("conv2", &["r1", "W2", "B2"], "c2"),
        node("Add", "add", &["c2", "x"], &["s"], vec![]),
        node("Relu", "relu2", &["s"], &["r2"], vec![]),
        conv("conv3", &["r2", "W3", "B3"], "c3"),
        node("Sigmoid", "sigmoid", &["c3"], &["y"], vec![]),
    ];
    let dims = [
        D::S("N"),
        D::N(C as i64),
        D::N(SIDE as i64),
        D::N(SIDE as i64),
    ];
    let shape = [C as i64, C as i64, 3, 3];
    let init = (0..3)
        .flat_map(|i| {
            [
                tensor_f32(&format!("W{}", i + 1), &shape, &w.0[2 * i]),
                tensor_f32(&format!("B{}", i + 1), &[C as i64], &w.0[2 * i + 1]),
            ]
        })
        .collect();
    let inputs = vec![value_info("x", FLOAT, &dims)];
    model(
        13,
        graph(nodes, inputs, vec![value_info("y", FLOAT, &[])], init),
    )
}

fn reference(w: &Weights, x: &[f32]) -> Vec<f64> {
    let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let r1: Vec<f64> = conv3x3(&x, &w.0[0], &w.0[1])
        .iter()
        .map(|v| v.max(0.0))
        .collect();
    let c2 = conv3x3(&r1, &w.0[2], &w.0[3]);
    let r2: Vec<f64> = c2.iter().zip(&x).map(|(a, b)| (a + b).max(0.0)).collect();
    let c3 = conv3x3(&r2, &w.0[4], &w.0[5]);
    c3.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect()
}

#[test]
fn residual_and_sigmoid_convolutions_get_an_f32_result() {
    let w = weights();
    let samples = 32;
    let data = values(10, samples * PER_IMAGE);
    let options = ConvertOptions {
        quantize: Some(Quantization::Int8),
        calibration: Some(Calibration::new(
            Tensor::from_slice(&[samples, C, SIDE, SIDE], &data).unwrap(),
        )),
        ..ConvertOptions::default()
    };
    let converted = convert(&model_bytes(&w), &options).unwrap();
    let ops: Vec<OpCode> = converted.model.graph.bodies[0]
        .nodes
        .iter()
        .map(|n| n.op)
        .collect();
    let count = |op| ops.iter().filter(|&&o| o == op).count();
    assert_eq!(
        (count(OpCode::QLinearConv), count(OpCode::QLinearConvF32)),
        (1, 2),
        "{ops:?}"
    );
    assert!(
        !ops.contains(&OpCode::Conv) && !ops.contains(&OpCode::Sigmoid),
        "{ops:?}"
    );
    assert!(
        converted
            .report
            .layers
            .iter()
            .all(|l| l.kept_float.is_none())
    );

    let bytes = converted.to_pnn_bytes().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    let x = values(99, 2 * PER_IMAGE);
    let view = TensorView::from_slice(&[2, C, SIDE, SIDE], &x).unwrap();
    let out = session.run_views(&[("x", view)]).unwrap();
    let got = out.get("y").unwrap().as_slice::<f32>().unwrap().to_vec();
    let want: Vec<f64> = x.chunks(PER_IMAGE).flat_map(|x| reference(&w, x)).collect();
    let worst = got
        .iter()
        .zip(&want)
        .map(|(&g, &w)| (f64::from(g) - w).abs())
        .fold(0.0, f64::max);
    // Sigmoid outputs in (0, 1): int8 inputs and weights keep them within 0.02.
    assert!(worst < 0.02, "largest error {worst}");
}
