//! Real architectures from the onnx wheel ("light" models: squeezenet,
//! resnet50, ...) with deterministic random weights: pocketnn must match
//! onnxruntime's outputs (`scripts/testdata/light_models.py` makes them).

use pocketnn::{Model, Session, SessionOptions, TensorView};
use pocketnn_tests::{Tolerance, compare, convert_and_load, read_set, testdata_dir};

/// Compares with tolerance relative to the output's scale: max abs diff
/// ≤ 1e-4 × max |expected|.
fn check_model(name: &str) {
    let dir = testdata_dir("light").join(name);
    let model: Model =
        convert_and_load(&dir.join("model.onnx")).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let set = dir.join("test_data_set_0");
    let inputs = read_set(&set, "input").unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let expected = read_set(&set, "output").unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let mut session = Session::new(&model, SessionOptions::default()).expect("session");
    let names: Vec<String> = model.inputs().iter().map(|i| i.name.clone()).collect();
    let feeds: Vec<(&str, TensorView<'_>)> = names
        .iter()
        .map(String::as_str)
        .zip(inputs.iter().map(|t| t.view()))
        .collect();
    let outputs = session
        .run_views(&feeds)
        .unwrap_or_else(|e| panic!("{name}: run: {e}"));
    assert_eq!(outputs.len(), expected.len(), "{name}: output count");
    for (k, want) in expected.iter().enumerate() {
        let (out_name, got) = outputs.at(k).expect("output");
        let scale = want
            .view()
            .to_f32_vec()
            .expect("f32 output")
            .iter()
            .fold(0f32, |m, v| m.max(v.abs()));
        let tol = Tolerance {
            atol: 1e-4 * scale,
            rtol: 0.0,
        };
        compare(&got, &want.view(), tol)
            .unwrap_or_else(|e| panic!("{name} output {out_name} (scale {scale}): {e}"));
        eprintln!("{name}: output {out_name} matches onnxruntime (scale {scale:.3e})");
    }
}

macro_rules! light_model_tests {
    ($($test:ident => $name:literal,)*) => {
        $(#[test] fn $test() { check_model($name); })*
    };
}

light_model_tests! {
    squeezenet => "squeezenet",
    shufflenet => "shufflenet",
    resnet50 => "resnet50",
    densenet121 => "densenet121",
    inception_v1 => "inception_v1",
    inception_v2 => "inception_v2",
    bvlc_alexnet => "bvlc_alexnet",
    vgg19 => "vgg19",
    zfnet512 => "zfnet512",
}

/// The outputs of `name` run with `threads` threads, as f32 vectors.
fn outputs_with_threads(
    model: &Model,
    inputs: &[pocketnn::Tensor],
    threads: usize,
) -> Vec<Vec<f32>> {
    let mut session = Session::new(model, SessionOptions::with_threads(threads)).expect("session");
    assert_eq!(session.threads(), threads);
    let names: Vec<String> = model.inputs().iter().map(|i| i.name.clone()).collect();
    let feeds: Vec<(&str, TensorView<'_>)> = names
        .iter()
        .map(String::as_str)
        .zip(inputs.iter().map(|t| t.view()))
        .collect();
    let outputs = session.run_views(&feeds).expect("run");
    (0..outputs.len())
        .map(|k| {
            let (_, view) = outputs.at(k).expect("output");
            view.to_f32_vec().expect("f32 output")
        })
        .collect()
}

/// Two threads give exactly the outputs of one: the GEMM gives each output
/// element to one thread, which sums it in the same order (so this also
/// checks that the thread split covers every element once). Run twice with
/// two threads to catch a race.
fn check_threads_agree(name: &str) {
    let dir = testdata_dir("light").join(name);
    let model: Model =
        convert_and_load(&dir.join("model.onnx")).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let inputs = read_set(&dir.join("test_data_set_0"), "input").expect("inputs");
    let one = outputs_with_threads(&model, &inputs, 1);
    for round in 0..2 {
        let two = outputs_with_threads(&model, &inputs, 2);
        assert_eq!(one.len(), two.len());
        for (k, (a, b)) in one.iter().zip(&two).enumerate() {
            let differ = a
                .iter()
                .zip(b)
                .filter(|(x, y)| x.to_bits() != y.to_bits())
                .count();
            assert_eq!(
                differ, 0,
                "{name} output {k} round {round}: {differ} values differ"
            );
        }
    }
    eprintln!("{name}: 2 threads give exactly the outputs of 1 thread");
}

#[test]
fn squeezenet_two_threads_equal_one() {
    check_threads_agree("squeezenet");
}

#[test]
fn resnet50_two_threads_equal_one() {
    check_threads_agree("resnet50");
}
