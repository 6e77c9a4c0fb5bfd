//! `pocketnn distill` on the shared MNIST data: a small student distilled
//! from `seed_mlp.onnx` for 15 epochs on 1,000 images learns (test accuracy
//! far above the 0.1 of chance), the same seed gives bit-identical weights
//! with 1 and 2 threads, and the written student is a standard ONNX model:
//! `onnx.checker` accepts it, onnxruntime runs it, and onnxruntime and
//! pocketnn (from the written `.pnn`) give the training model's logits.
//!
//! The onnxruntime check runs `scripts/testdata/ort_run.py` with the Python
//! of `POCKETNN_PYTHON`, else the venv that `scripts/gen-testdata.sh` makes
//! (`POCKETNN_VENV`, default `<workspace>/.venv`); it fails, never skips,
//! without one.

use pocketnn_distill::{DistillOptions, Student, StudentSpec, TrainingData, distill, predict};
use pocketnn_tests::mnist::{TestSet, argmax, read_npy_f32, read_npy_i64};
use pocketnn_tests::{shared_models_dir, workspace_root};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// The first `n` training images (`[n, 1, 28, 28]`), their labels and the
/// teacher's logits for them.
fn training_subset(n: usize) -> (TrainingData, pocketnn::Model) {
    let dir = shared_models_dir();
    let (shape, images) = read_npy_f32(&dir.join("mnist5k_train_x.npy"));
    assert_eq!(shape[1..], [1, 28, 28]);
    let images = images[..n * 784].to_vec();
    let labels: Vec<usize> = read_npy_i64(&dir.join("mnist5k_train_y.npy"))[..n]
        .iter()
        .map(|&l| l as usize)
        .collect();
    let teacher = pocketnn_distill::load_teacher(&dir.join("seed_mlp.onnx")).expect("teacher");
    let (logits, classes) =
        pocketnn_distill::teacher_logits(&teacher, &images, &[1, 28, 28], 128).expect("logits");
    let data = TrainingData::new(images, 784, logits, classes, Some(labels)).expect("data");
    (data, teacher)
}

/// Fewer samples under qemu (`POCKETNN_MNIST_LIMIT` set), where each costs ~100x more.
fn scaled(n: usize) -> usize {
    if std::env::var_os("POCKETNN_MNIST_LIMIT").is_some() {
        n / 5
    } else {
        n
    }
}

fn options(epochs: usize, seed: u64) -> DistillOptions {
    let mut o = DistillOptions::default();
    o.epochs = epochs;
    o.batch = 32;
    o.seed = seed;
    o.temperature = 4.0;
    o.alpha = 0.7;
    o
}

/// Epochs of the MLP test.
const EPOCHS: usize = 15;

#[test]
fn a_distilled_mlp_learns_and_is_deterministic_for_a_seed() {
    let (data, _) = training_subset(scaled(1000));
    let spec = StudentSpec::parse("mlp:784-16-10").expect("spec");
    let run = |threads: usize, seed: u64| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| {
            let student = Student::new(&spec, &[1, 28, 28], seed).expect("student");
            distill(
                student,
                &data,
                &options(EPOCHS, seed),
                &AtomicBool::new(false),
                &mut |_| {},
            )
            .expect("distill")
        })
    };
    let started = std::time::Instant::now();
    let one = run(1, 7);
    let seconds = started.elapsed().as_secs_f64();
    let two = run(2, 7);
    assert!(
        one.student
            .params()
            .iter()
            .zip(two.student.params())
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "1 and 2 threads gave different weights"
    );
    assert_eq!(one.student.to_onnx(), two.student.to_onnx());
    let other_seed = run(2, 8);
    assert_ne!(one.student.params(), other_seed.student.params());

    let test = TestSet::load();
    let predictions = predict(&one.student, &test.images).expect("predict");
    let right = predictions
        .iter()
        .zip(&test.labels)
        .filter(|(p, l)| **p as i64 == **l)
        .count();
    let accuracy = right as f64 / test.len() as f64;
    eprintln!(
        "mlp:784-16-10 on {} images, {EPOCHS} epochs in {seconds:.1} s: best validation accuracy {:.3} \
         (epoch {}), test accuracy {accuracy:.3} on {}",
        data.len(),
        one.best_validation_accuracy,
        one.best_epoch,
        test.len()
    );
    // Chance is 0.1. Fewer training images (under qemu) learn less.
    let bound = if data.len() >= 1000 { 0.8 } else { 0.5 };
    assert!(
        accuracy > bound,
        "test accuracy {accuracy}: the student did not learn"
    );
    assert!(f64::from(one.best_validation_accuracy) > bound);
}

fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("POCKETNN_PYTHON") {
        return PathBuf::from(python);
    }
    std::env::var_os("POCKETNN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv"))
        .join("bin/python")
}

fn write_npy(path: &Path, shape: &[usize], values: &[f32]) {
    use npyz::WriterBuilder;
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create npy"));
    let mut w = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&shape)
        .writer(file)
        .begin_nd()
        .expect("npy header");
    w.extend(values.iter().copied()).expect("npy data");
    w.finish().expect("npy finish");
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn a_written_cnn_student_runs_in_onnxruntime_and_pocketnn() {
    let (data, _) = training_subset(scaled(300));
    let spec = StudentSpec::parse("cnn:c4k3-p2-c8k3-p2-f16-f10").expect("spec");
    let student = Student::new(&spec, &[1, 28, 28], 3).expect("student");
    let outcome = distill(
        student,
        &data,
        &options(1, 3),
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .expect("distill");
    let student = outcome.student;
    let dir = tempfile::tempdir().expect("temp dir");
    let (onnx_path, pnn_path) = (
        dir.path().join("student.onnx"),
        dir.path().join("student.pnn"),
    );
    student.save(&onnx_path).expect("save onnx");
    student.save(&pnn_path).expect("save pnn");

    let test = TestSet::load();
    let n = test.len().min(50);
    let images = &test.images[..n * 784];
    let want: Vec<f32> = images
        .chunks(784)
        .flat_map(|x| student.forward(x).expect("forward"))
        .collect();

    let model = pocketnn::Model::load(&pnn_path).expect("load pnn");
    let (got, _) = pocketnn_distill::teacher_logits(&model, images, &[1, 28, 28], 16).expect("run");
    let pocketnn_diff = max_diff(&got, &want);

    let input = dir.path().join("x.npy");
    let output = dir.path().join("logits.npy");
    write_npy(&input, &[n, 1, 28, 28], images);
    let script = workspace_root().join("scripts/testdata/ort_run.py");
    let python = python();
    let status = std::process::Command::new(&python)
        .arg(&script)
        .args([&onnx_path, &input, &output])
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): set POCKETNN_PYTHON to a Python with onnx and onnxruntime \
                 (scripts/gen-testdata.sh makes <workspace>/.venv)",
                python.display()
            )
        });
    assert!(
        status.success(),
        "{} {} failed",
        python.display(),
        script.display()
    );
    let (shape, ort) = read_npy_f32(&output);
    assert_eq!(shape, [n, 10]);
    let ort_diff = max_diff(&ort, &want);
    let same_top1 = ort
        .chunks(10)
        .zip(want.chunks(10))
        .filter(|(a, b)| argmax(a) == argmax(b))
        .count();
    eprintln!(
        "cnn student ({} parameters) on {n} test images: max |logit diff| pocketnn {pocketnn_diff:.2e}, \
         onnxruntime {ort_diff:.2e}; same top-1 as onnxruntime {same_top1}/{n}",
        student.param_count()
    );
    assert!(pocketnn_diff < 1e-4, "pocketnn: {pocketnn_diff}");
    assert!(ort_diff < 1e-4, "onnxruntime: {ort_diff}");
}
