//! `--quantize int8-dynamic` on the shared seed models: MNIST test accuracy
//! stays within half a point of the float model's.

use pocketnn::Model;
use pocketnn_convert::{ConvertOptions, Quantization, convert};
use pocketnn_tests::mnist::{TestSet, argmax};
use pocketnn_tests::shared_models_dir;

fn load(name: &str, quantize: Option<Quantization>) -> (Model, pocketnn_convert::ConvertReport) {
    let bytes = std::fs::read(shared_models_dir().join(format!("{name}.onnx"))).expect("onnx");
    let mut options = ConvertOptions::default();
    options.quantize = quantize;
    let converted = convert(&bytes, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
    let pnn = converted.to_pnn_bytes().expect("pnn bytes");
    (Model::from_bytes(&pnn).expect("load"), converted.report)
}

fn check(name: &str, quantized_layers: usize) {
    let test_set = TestSet::load();
    let (float_model, _) = load(name, None);
    let (int8_model, report) = load(name, Some(Quantization::Int8Dynamic));
    let quantized = report
        .layers
        .iter()
        .filter(|l| l.kept_float.is_none())
        .count();
    assert_eq!(quantized, quantized_layers, "{name}: {report}");
    let float_logits = test_set.logits(&float_model);
    let int8_logits = test_set.logits(&int8_model);
    let (float_accuracy, int8_accuracy) = (
        test_set.accuracy(&float_logits),
        test_set.accuracy(&int8_logits),
    );
    let same = float_logits
        .chunks_exact(10)
        .zip(int8_logits.chunks_exact(10))
        .filter(|(a, b)| argmax(a) == argmax(b))
        .count();
    let max_diff = float_logits
        .iter()
        .zip(&int8_logits)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    let (before, after) = report
        .layers
        .iter()
        .fold((0, 0), |(b, a), l| (b + l.bytes_before, a + l.bytes_after));
    eprintln!(
        "{name}: fp32 accuracy {float_accuracy:.3}, int8-dynamic {int8_accuracy:.3}, \
         same top-1 on {same}/{}, max |logit diff| {max_diff:.3}, layer bytes {before} -> {after}",
        test_set.len()
    );
    // On a subset (POCKETNN_MNIST_LIMIT) one image is a whole point or more.
    let images = test_set.len() as f64;
    let bound = if test_set.is_full() {
        0.005
    } else {
        2.0 / images
    };
    assert!(
        (int8_accuracy - float_accuracy).abs() <= bound + 1e-9,
        "{name}: accuracy {int8_accuracy} vs fp32 {float_accuracy}"
    );
    // Per-row activation quantization flips only near-ties.
    let flips = if test_set.is_full() {
        test_set.len() / 100
    } else {
        2
    };
    assert!(same + flips >= test_set.len(), "{name}: {same} same");
}

#[test]
fn seed_mlp_int8_dynamic_keeps_mnist_accuracy() {
    check("seed_mlp", 4);
}

#[test]
fn seed_cnn_int8_dynamic_keeps_mnist_accuracy() {
    check("seed_cnn", 2);
}
