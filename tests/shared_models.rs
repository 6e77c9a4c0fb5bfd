//! The real trained models in `../shared/models`: pocketnn must give the
//! same predictions as onnxruntime — seed_mlp and seed_cnn on all 1,000
//! MNIST test images (the first `POCKETNN_MNIST_LIMIT` under qemu),
//! EfficientNet-Lite0 the same top-5 on the photos.

use pocketnn::{Session, SessionOptions, TensorView};
use pocketnn_tests::mnist::{TestSet, argmax, read_npy_f32};
use pocketnn_tests::{convert_and_load, shared_models_dir, testdata_dir};

fn top_k(row: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..row.len()).collect();
    idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
    idx.truncate(k);
    idx
}

/// Runs an MNIST model on the test images in batches and compares with
/// onnxruntime's logits: all 1,000, or the first `POCKETNN_MNIST_LIMIT`
/// under qemu (the accuracy is then not checked).
fn check_mnist(name: &str, expected_accuracy: f64) {
    let shared = shared_models_dir();
    let model = convert_and_load(&shared.join(format!("{name}.onnx")))
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let test_set = TestSet::load();
    let (_, reference) = read_npy_f32(&testdata_dir("shared").join(format!("{name}_logits.npy")));
    let logits = test_set.logits(&model);
    let n = test_set.len();
    let (mut same, mut max_diff) = (0, 0f32);
    for (got, want) in logits.chunks_exact(10).zip(reference.chunks_exact(10)) {
        for (a, b) in got.iter().zip(want) {
            max_diff = max_diff.max((a - b).abs());
        }
        same += usize::from(argmax(got) == argmax(want));
    }
    let accuracy = test_set.accuracy(&logits);
    eprintln!(
        "{name}: same prediction as onnxruntime on {same}/{n}, accuracy {accuracy:.3}, max |logit diff| {max_diff:.2e}"
    );
    assert_eq!(logits.len(), n * 10, "{name}: logits for every image");
    assert_eq!(same, n, "{name}: predictions differ from onnxruntime");
    if test_set.is_full() {
        assert!(
            (accuracy - expected_accuracy).abs() < 1e-9,
            "{name}: accuracy {accuracy}"
        );
    }
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
