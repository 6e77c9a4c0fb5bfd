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
