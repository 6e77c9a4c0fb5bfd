//! `--quantize int8` on the real seed models in `../shared/models`:
//! calibrated on the first 200 training images, evaluated on the 1,000 test
//! images against the float model converted from the same ONNX file.

use pocketnn::{Model, Session, SessionOptions, Tensor, TensorView};
use pocketnn_convert::{Calibration, ConvertOptions, Quantization, convert};
use pocketnn_tests::shared_models_dir;
use std::path::Path;

fn read_npy_f32(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file)).expect("npy header");
    let shape = npy.shape().iter().map(|&d| d as usize).collect();
    (shape, npy.into_vec::<f32>().expect("f32 npy"))
}

fn read_npy_i64(path: &Path) -> Vec<i64> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    npyz::NpyFile::new(std::io::BufReader::new(file))
        .expect("npy header")
        .into_vec::<i64>()
        .expect("i64 npy")
}

fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// Top-1 accuracy of `model` on the MNIST-5k test images.
fn accuracy(model: &Model) -> f64 {
    let shared = shared_models_dir();
    let (shape, images) = read_npy_f32(&shared.join("mnist5k_test_x.npy"));
    let labels = read_npy_i64(&shared.join("mnist5k_test_y.npy"));
    let n = shape[0];
    let per_image: usize = shape[1..].iter().product();
    let mut session = Session::new(model, SessionOptions::default()).expect("session");
    let batch = 100;
    let mut correct = 0;
    for start in (0..n).step_by(batch) {
        let rows = batch.min(n - start);
        let input_shape = [rows, shape[1], shape[2], shape[3]];
        let data = &images[start * per_image..(start + rows) * per_image];
        let view = TensorView::from_slice(&input_shape, data).expect("input view");
        let outputs = session.run_views(&[("input", view)]).expect("run");
        let logits = outputs.get("logits").expect("logits");
        let logits = logits.as_slice::<f32>().expect("f32 logits");
        for r in 0..rows {
            correct +=
                usize::from(argmax(&logits[r * 10..(r + 1) * 10]) as i64 == labels[start + r]);
        }
    }
    correct as f64 / n as f64
}

/// Converts `name` float and int8; returns (fp32 accuracy, int8 accuracy,
/// fp32 bytes, int8 bytes).
fn float_and_int8(name: &str) -> (f64, f64, usize, usize) {
    let shared = shared_models_dir();
    let onnx = std::fs::read(shared.join(format!("{name}.onnx"))).expect("onnx");
    let (shape, train) = read_npy_f32(&shared.join("mnist5k_train_x.npy"));
    let per_image: usize = shape[1..].iter().product();
    let calibration_shape = [200, shape[1], shape[2], shape[3]];
    let samples =
        Tensor::from_slice(&calibration_shape, &train[..200 * per_image]).expect("tensor");

    let float = convert(&onnx, &ConvertOptions::default()).expect("float convert");
    let float_bytes = float.to_pnn_bytes().expect("pnn");
    let mut options = ConvertOptions::default();
    options.quantize = Some(Quantization::Int8);
    options.calibration = Some(Calibration::new(samples));
    let int8 = convert(&onnx, &options).expect("int8 convert");
    eprint!("{name}:\n{}", int8.report);
    let int8_bytes = int8.to_pnn_bytes().expect("pnn");

    let float_model = Model::from_bytes(&float_bytes).expect("load float");
    let int8_model = Model::from_bytes(&int8_bytes).expect("load int8");
    let (a_float, a_int8) = (accuracy(&float_model), accuracy(&int8_model));
    eprintln!(
        "{name}: accuracy fp32 {a_float:.3} int8 {a_int8:.3}; file {} -> {} bytes ({:.2}x smaller)",
        float_bytes.len(),
        int8_bytes.len(),
        float_bytes.len() as f64 / int8_bytes.len() as f64
    );
    (a_float, a_int8, float_bytes.len(), int8_bytes.len())
}

#[test]
fn seed_cnn_int8_keeps_accuracy_and_is_four_times_smaller() {
    let (a_float, a_int8, float_bytes, int8_bytes) = float_and_int8("seed_cnn");
    assert!((a_float - 0.971).abs() < 1e-9, "fp32 accuracy {a_float}");
    assert!(
        a_int8 >= a_float - 0.003,
        "int8 accuracy {a_int8} is more than 0.3 points below fp32 {a_float}"
    );
    let ratio = float_bytes as f64 / int8_bytes as f64;
    assert!(ratio >= 3.8, "int8 file only {ratio:.2}x smaller");
}

#[test]
fn seed_mlp_int8_keeps_accuracy_and_is_smaller() {
    let (a_float, a_int8, float_bytes, int8_bytes) = float_and_int8("seed_mlp");
    assert!((a_float - 0.934).abs() < 1e-9, "fp32 accuracy {a_float}");
    assert!(
        a_int8 >= a_float - 0.003,
        "int8 accuracy {a_int8} is more than 0.3 points below fp32 {a_float}"
    );
    let ratio = float_bytes as f64 / int8_bytes as f64;
    assert!(ratio >= 3.5, "int8 file only {ratio:.2}x smaller");
}
