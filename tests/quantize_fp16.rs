//! `--quantize fp16` on the shared real models: the file is about half the
//! f32 file, and on all 1,000 MNIST test images the fp16 model predicts the
//! same digit as the f32 model (the f32 model itself matches onnxruntime,
//! see `shared_models.rs`). Both files are written to disk and memory-mapped,
//! so the f16 weights are used straight from the mapping.

use pocketnn::Model;
use pocketnn_convert::{ConvertOptions, Quantization, convert_file};
use pocketnn_tests::mnist::{TestSet, argmax};
use pocketnn_tests::shared_models_dir;
use std::path::{Path, PathBuf};

/// A fresh directory for this test's files.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pocketnn-fp16-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn check(name: &str) {
    let shared = shared_models_dir();
    let dir = scratch_dir(name);
    let onnx = shared.join(format!("{name}.onnx"));
    let (f32_path, f16_path) = (dir.join("f32.pnn"), dir.join("f16.pnn"));
    convert_file(&onnx, &f32_path, &ConvertOptions::default()).expect("f32 convert");
    let mut options = ConvertOptions::default();
    options.quantize = Some(Quantization::Fp16);
    let report = convert_file(&onnx, &f16_path, &options).expect("fp16 convert");
    assert!(report.layers.iter().all(|l| l.kept_float.is_none()));
    assert!(!report.layers.is_empty());
    let size = |p: &Path| std::fs::metadata(p).expect("file").len();
    let (f32_size, f16_size) = (size(&f32_path), size(&f16_path));
    let ratio = f16_size as f64 / f32_size as f64;
    let f32_model = Model::load(&f32_path).expect("load f32");
    let f16_model = Model::load(&f16_path).expect("load f16");
    let test_set = TestSet::load();
    let (want, got) = (test_set.logits(&f32_model), test_set.logits(&f16_model));
    let n = test_set.len();
    let mut same = 0;
    let mut max_diff = 0f32;
    for (w, g) in want.chunks_exact(10).zip(got.chunks_exact(10)) {
        same += usize::from(argmax(w) == argmax(g));
        for (a, b) in w.iter().zip(g) {
            max_diff = max_diff.max((a - b).abs());
        }
    }
    eprintln!(
        "{name}: f32 {f32_size} B, fp16 {f16_size} B ({ratio:.4}x); same prediction on {same}/{n}, max |logit diff| {max_diff:.2e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        ratio <= 0.51,
        "{name}: fp16 file is {ratio:.4} of the f32 file"
    );
    assert_eq!(same, n, "{name}: fp16 predictions differ from f32");
    assert!(max_diff > 0.0, "{name}: fp16 weights changed nothing?");
}

#[test]
fn seed_mlp_fp16_is_half_the_size_with_the_same_predictions() {
    check("seed_mlp");
}

#[test]
fn seed_cnn_fp16_is_half_the_size_with_the_same_predictions() {
    check("seed_cnn");
}
