//! The real trained models in `../shared/models`: pocketnn must give the
//! same predictions as onnxruntime — seed_mlp and seed_cnn on all 1,000
//! MNIST test images, EfficientNet-Lite0 the same top-5 on the photos.

use pocketnn::{Session, SessionOptions, TensorView};
use pocketnn_tests::{convert_and_load, shared_models_dir, testdata_dir};
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

fn top_k(row: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..row.len()).collect();
    idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
    idx.truncate(k);
    idx
}

/// Runs an MNIST model on the 1,000 test images in batches and compares
/// with onnxruntime's logits.
fn check_mnist(name: &str, expected_accuracy: f64) {
    let shared = shared_models_dir();
    let model = convert_and_load(&shared.join(format!("{name}.onnx")))
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let (shape, images) = read_npy_f32(&shared.join("mnist5k_test_x.npy"));
    let labels = read_npy_i64(&shared.join("mnist5k_test_y.npy"));
    let (_, reference) = read_npy_f32(&testdata_dir("shared").join(format!("{name}_logits.npy")));
    let n = shape[0];
    let per_image: usize = shape[1..].iter().product();
    let mut session = Session::new(&model, SessionOptions::default()).expect("session");
    let batch = 100;
    let (mut same, mut correct, mut max_diff) = (0, 0, 0f32);
    for start in (0..n).step_by(batch) {
        let rows = batch.min(n - start);
        let input_shape = [rows, shape[1], shape[2], shape[3]];
        let data = &images[start * per_image..(start + rows) * per_image];
        let view = TensorView::from_slice(&input_shape, data).expect("input view");
        let outputs = session.run_views(&[("input", view)]).expect("run");
        let logits = outputs.get("logits").expect("logits");
        let logits = logits.as_slice::<f32>().expect("f32 logits");
        for r in 0..rows {
            let got = &logits[r * 10..(r + 1) * 10];
            let want = &reference[(start + r) * 10..(start + r + 1) * 10];
            for (a, b) in got.iter().zip(want) {
                max_diff = max_diff.max((a - b).abs());
            }
            same += usize::from(argmax(got) == argmax(want));
            correct += usize::from(argmax(got) as i64 == labels[start + r]);
        }
    }
    let accuracy = correct as f64 / n as f64;
    eprintln!(
        "{name}: same prediction as onnxruntime on {same}/{n}, accuracy {accuracy:.3}, max |logit diff| {max_diff:.2e}"
    );
    assert_eq!(same, n, "{name}: predictions differ from onnxruntime");
    assert!(
        (accuracy - expected_accuracy).abs() < 1e-9,
        "{name}: accuracy {accuracy}"
    );
}

#[test]
fn seed_mlp_matches_onnxruntime_on_mnist_test_set() {
    check_mnist("seed_mlp", 0.934);
}

#[test]
fn seed_cnn_matches_onnxruntime_on_mnist_test_set() {
    check_mnist("seed_cnn", 0.971);
}

#[test]
fn efficientnet_lite0_gives_onnxruntime_top5_on_photos() {
    let shared = shared_models_dir();
    let model = convert_and_load(&shared.join("efficientnet_lite0.onnx"))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let (shape, photos) = read_npy_f32(&shared.join("photos_x.npy"));
    let (_, reference) = read_npy_f32(&shared.join("photos_ort_logits.npy"));
    let mut session = Session::new(&model, SessionOptions::default()).expect("session");
    let per_photo: usize = shape[1..].iter().product();
    let mut max_diff = 0f32;
    for p in 0..shape[0] {
        let data = &photos[p * per_photo..(p + 1) * per_photo];
        let photo_shape = [1, shape[1], shape[2], shape[3]];
        let view = TensorView::from_slice(&photo_shape, data).expect("view");
        let outputs = session.run_views(&[("x", view)]).expect("run");
        let logits = outputs.get("logits").expect("logits");
        let got = logits.as_slice::<f32>().expect("f32");
        let want = &reference[p * 1000..(p + 1) * 1000];
        for (a, b) in got.iter().zip(want) {
            max_diff = max_diff.max((a - b).abs());
        }
        assert_eq!(top_k(got, 5), top_k(want, 5), "photo {p}: top-5 differs");
    }
    eprintln!(
        "efficientnet_lite0: same top-5 as onnxruntime on {} photos, max |logit diff| {max_diff:.2e}",
        shape[0]
    );
}
