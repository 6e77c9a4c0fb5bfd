//! `--quantize int8` end to end on a small Conv → Relu → MaxPool → Flatten
//! → Gemm model: the quantized model's outputs against a separate scalar
//! float implementation of the same network.

use super::Calibration;
use crate::test_onnx::*;
use crate::{ConvertError, ConvertOptions, Quantization, convert};
use pocketnn::{Model, Session, SessionOptions};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{Tensor, TensorView};

const C_IN: usize = 2;
const C_OUT: usize = 4;
const SIDE: usize = 6;
const CLASSES: usize = 5;
const FLAT: usize = C_OUT * (SIDE / 2) * (SIDE / 2);

/// Deterministic values in `[-1, 1)`.
fn pseudo_random(seed: u64, n: usize) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) as f32
        })
        .collect()
}

struct Weights {
    conv_w: Vec<f32>,
    conv_b: Vec<f32>,
    fc_w: Vec<f32>,
    fc_b: Vec<f32>,
}

fn weights() -> Weights {
    Weights {
        conv_w: pseudo_random(1, C_OUT * C_IN * 9),
        conv_b: pseudo_random(2, C_OUT),
        fc_w: pseudo_random(3, CLASSES * FLAT),
        fc_b: pseudo_random(4, CLASSES),
    }
}

fn model_bytes(w: &Weights) -> Vec<u8> {
    let nodes = vec![
        node(
            "Conv",
            "conv",
            &["x", "W", "B"],
            &["c"],
            vec![
                a_ints("kernel_shape", &[3, 3]),
                a_ints("pads", &[1, 1, 1, 1]),
            ],
        ),
        node("Relu", "relu", &["c"], &["r"], vec![]),
        node(
            "MaxPool",
            "pool",
            &["r"],
            &["p"],
            vec![a_ints("kernel_shape", &[2, 2]), a_ints("strides", &[2, 2])],
        ),
        node("Flatten", "flatten", &["p"], &["f"], vec![]),
        node(
            "Gemm",
            "fc",
            &["f", "FW", "FB"],
            &["y"],
            vec![a_int("transB", 1)],
        ),
    ];
    let inputs = vec![value_info(
        "x",
        FLOAT,
        &[
            D::S("N"),
            D::N(C_IN as i64),
            D::N(SIDE as i64),
            D::N(SIDE as i64),
        ],
    )];
    let init = vec![
        tensor_f32("W", &[C_OUT as i64, C_IN as i64, 3, 3], &w.conv_w),
        tensor_f32("B", &[C_OUT as i64], &w.conv_b),
        tensor_f32("FW", &[CLASSES as i64, FLAT as i64], &w.fc_w),
        tensor_f32("FB", &[CLASSES as i64], &w.fc_b),
    ];
    model(
        13,
        graph(nodes, inputs, vec![value_info("y", FLOAT, &[])], init),
    )
}

/// The network in plain f64 loops, one image `[C_IN, SIDE, SIDE]`.
fn reference(w: &Weights, x: &[f32]) -> Vec<f64> {
    let at = |c: usize, i: isize, j: isize| -> f64 {
        if i < 0 || j < 0 || i >= SIDE as isize || j >= SIDE as isize {
            0.0
        } else {
            f64::from(x[(c * SIDE + i as usize) * SIDE + j as usize])
        }
    };
    let mut conv = vec![0.0f64; C_OUT * SIDE * SIDE];
    for o in 0..C_OUT {
        for i in 0..SIDE {
            for j in 0..SIDE {
                let mut s = f64::from(w.conv_b[o]);
                for c in 0..C_IN {
                    for ki in 0..3 {
                        for kj in 0..3 {
                            let wv = f64::from(w.conv_w[((o * C_IN + c) * 3 + ki) * 3 + kj]);
                            s += wv
                                * at(
                                    c,
                                    i as isize + ki as isize - 1,
                                    j as isize + kj as isize - 1,
                                );
                        }
                    }
                }
                conv[(o * SIDE + i) * SIDE + j] = s.max(0.0);
            }
        }
    }
    let half = SIDE / 2;
    let mut flat = vec![0.0f64; FLAT];
    for o in 0..C_OUT {
        for i in 0..half {
            for j in 0..half {
                let v = |di: usize, dj: usize| conv[(o * SIDE + 2 * i + di) * SIDE + 2 * j + dj];
                flat[(o * half + i) * half + j] = v(0, 0).max(v(0, 1)).max(v(1, 0)).max(v(1, 1));
            }
        }
    }
    (0..CLASSES)
        .map(|k| {
            f64::from(w.fc_b[k])
                + (0..FLAT)
                    .map(|f| f64::from(w.fc_w[k * FLAT + f]) * flat[f])
                    .sum::<f64>()
        })
        .collect()
}

const PER_IMAGE: usize = C_IN * SIDE * SIDE;

fn int8_options(samples: usize) -> ConvertOptions {
    let data = pseudo_random(10, samples * PER_IMAGE);
    let tensor = Tensor::from_slice(&[samples, C_IN, SIDE, SIDE], &data).unwrap();
    ConvertOptions {
        quantize: Some(Quantization::Int8),
        calibration: Some(Calibration::new(tensor)),
        ..ConvertOptions::default()
    }
}

fn run(bytes: &[u8], x: &[f32], n: usize) -> Vec<f32> {
    let model = Model::from_bytes(bytes).unwrap();
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    let shape = [n, C_IN, SIDE, SIDE];
    let view = TensorView::from_slice(&shape, x).unwrap();
    let out = session.run_views(&[("x", view)]).unwrap();
    out.get("y").unwrap().as_slice::<f32>().unwrap().to_vec()
}

#[test]
fn quantized_conv_gemm_model_matches_the_float_reference() {
    let w = weights();
    let converted = convert(&model_bytes(&w), &int8_options(64)).unwrap();
    let ops: Vec<OpCode> = converted.model.graph.bodies[0]
        .nodes
        .iter()
        .map(|n| n.op)
        .collect();
    assert!(
        !ops.contains(&OpCode::Conv) && !ops.contains(&OpCode::Gemm),
        "{ops:?}"
    );
    assert_eq!(
        ops.iter().filter(|&&op| op == OpCode::QLinearConv).count(),
        2
    );
    // MaxPool and Flatten run on u8 between the two integer layers: the
    // only QuantizeLinear is the model input's, the only DequantizeLinear
    // the model output's.
    let graph = &converted.model.graph;
    let flatten = graph.bodies[0]
        .nodes
        .iter()
        .find(|n| n.op == OpCode::Flatten)
        .unwrap();
    assert_eq!(graph.values[flatten.outputs[0] as usize].dtype, DType::U8);
    assert_eq!(
        ops.iter()
            .filter(|&&op| op == OpCode::QuantizeLinear)
            .count(),
        1
    );
    assert_eq!(
        ops.iter()
            .filter(|&&op| op == OpCode::DequantizeLinear)
            .count(),
        1
    );

    let layers = &converted.report.layers;
    assert_eq!(layers.len(), 2);
    for layer in layers {
        assert!(layer.kept_float.is_none(), "{layer:?}");
        assert!(layer.sqnr_db.is_some_and(|db| db > 25.0), "{layer:?}");
    }
    // Conv: 72 f32 weights + 4 biases = 304 bytes -> 72 i8 + 4 scales +
    // 4 i32 biases + 1 zero point = 105 bytes.
    assert_eq!((layers[0].bytes_before, layers[0].bytes_after), (304, 105));

    // Fresh inputs, not the calibration samples.
    let n = 8;
    let x = pseudo_random(99, n * PER_IMAGE);
    let got = run(&converted.to_pnn_bytes().unwrap(), &x, n);
    let want: Vec<f64> = (0..n)
        .flat_map(|image| reference(&w, &x[image * PER_IMAGE..][..PER_IMAGE]))
        .collect();
    let largest = want.iter().fold(0.0f64, |m, r| m.max(r.abs()));
    let (mut signal, mut noise) = (0.0, 0.0);
    for (i, (&g, &r)) in got.iter().zip(&want).enumerate() {
        let g = f64::from(g);
        signal += r * r;
        noise += (g - r) * (g - r);
        // Within 8 % of the largest logit everywhere.
        assert!(
            (g - r).abs() < 0.08 * largest,
            "output {i}: {g} vs {r} (largest {largest})"
        );
    }
    let sqnr = 10.0 * (signal / noise).log10();
    eprintln!("output SQNR {sqnr:.1} dB, largest logit {largest:.1}");
    assert!(sqnr > 25.0, "output SQNR {sqnr:.1} dB");
}

#[test]
fn float_model_matches_the_reference_too() {
    // Checks the reference itself against the unquantized conversion.
    let w = weights();
    let converted = convert(&model_bytes(&w), &ConvertOptions::default()).unwrap();
    let x = pseudo_random(99, PER_IMAGE);
    let got = run(&converted.to_pnn_bytes().unwrap(), &x, 1);
    for (g, r) in got.iter().zip(reference(&w, &x)) {
        assert!((f64::from(*g) - r).abs() < 1e-4, "{g} vs {r}");
    }
}

#[test]
fn int8_without_calibration_data_is_an_error() {
    let options = ConvertOptions {
        quantize: Some(Quantization::Int8),
        ..ConvertOptions::default()
    };
    let err = convert(&model_bytes(&weights()), &options).unwrap_err();
    assert!(
        matches!(&err, ConvertError::Quantization { reason } if reason.contains("--calibrate")),
        "{err}"
    );
}

#[test]
fn keep_float_and_low_sqnr_layers_stay_float() {
    let w = weights();
    let mut options = int8_options(16);
    options.keep_float = vec!["fc".into()];
    let c = convert(&model_bytes(&w), &options).unwrap();
    let ops: Vec<OpCode> = c.model.graph.bodies[0].nodes.iter().map(|n| n.op).collect();
    assert!(
        ops.contains(&OpCode::Gemm) && ops.contains(&OpCode::QLinearConv),
        "{ops:?}"
    );
    let fc = &c.report.layers[1];
    assert_eq!(fc.kept_float.as_deref(), Some("--keep-float"));
    assert_eq!(fc.bytes_after, fc.bytes_before);

    // An impossible SQNR bar puts the first layer back to float.
    let mut options = int8_options(16);
    if let Some(cal) = options.calibration.as_mut() {
        cal.min_sqnr_db = 1000.0;
    }
    let c = convert(&model_bytes(&w), &options).unwrap();
    let conv = &c.report.layers[0];
    assert!(
        conv.kept_float
            .as_deref()
            .is_some_and(|r| r.contains("SQNR")),
        "{conv:?}"
    );
}

#[test]
fn calibration_data_must_fit_the_input() {
    let wrong =
        Tensor::from_slice(&[4, 3, SIDE, SIDE], &vec![0.0f32; 4 * 3 * SIDE * SIDE]).unwrap();
    let options = ConvertOptions {
        quantize: Some(Quantization::Int8),
        calibration: Some(Calibration::new(wrong)),
        ..ConvertOptions::default()
    };
    let err = convert(&model_bytes(&weights()), &options).unwrap_err();
    assert!(err.to_string().contains("does not fit"), "{err}");
}
