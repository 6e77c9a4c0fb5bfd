//! `pocketnn distill` end to end on the shipped model and digits: the
//! student is written (and loads), the summary names its size, and spec or
//! option mistakes are usage errors (exit 2) with the position, never panics.

mod common;

use common::*;

#[test]
fn distill_writes_a_student_that_loads() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let models = repo().join("models");
    let teacher = models.join("seed_mlp.onnx");
    let data = models.join("digits.npy");
    let labels = models.join("digits_labels.npy");
    let student = tmp.path().join("student.pnn");
    let out = pocketnn(&[
        "distill",
        path(&teacher),
        "--student",
        "mlp:784-8-10",
        "--data",
        path(&data),
        "--labels",
        path(&labels),
        "--epochs",
        "3",
        "--batch",
        "4",
        "--eval-data",
        path(&data),
        "--eval-labels",
        path(&labels),
        "-o",
        path(&student),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    // 784·8 + 8 + 8·10 + 10 = 6,370; seed_mlp has 242,762.
    assert!(
        stdout.contains("parameters   6370 (teacher 242762"),
        "{stdout}"
    );
    assert!(
        stdout.contains("9 train / 1 validation samples"),
        "{stdout}"
    );
    assert!(stdout.contains("test         student accuracy"), "{stdout}");
    assert!(
        text(&out.stderr).contains("epoch   3:"),
        "{}",
        text(&out.stderr)
    );
    let inspect = pocketnn(&["inspect", path(&student)]);
    assert!(inspect.status.success(), "{}", text(&inspect.stderr));
    assert!(
        text(&inspect.stdout).contains("Gemm"),
        "{}",
        text(&inspect.stdout)
    );
    // Only the student: no temporary file is left behind.
    assert_eq!(std::fs::read_dir(tmp.path()).expect("ls").count(), 1);
}

#[test]
fn distill_mistakes_are_usage_errors() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let models = repo().join("models");
    let teacher = models.join("seed_mlp.onnx");
    let data = models.join("digits.npy");
    let output = tmp.path().join("s.onnx");
    let run = |spec: &str, extra: &[&str]| {
        let mut args = vec![
            "distill",
            path(&teacher),
            "--student",
            spec,
            "--data",
            path(&data),
            "-o",
            path(&output),
        ];
        args.extend_from_slice(extra);
        pocketnn(&args)
    };
    for (spec, extra, message) in [
        ("mlp:784-x", &[][..], "position 8"),
        ("cnn:c16-f10", &[][..], "position 7"),
        ("mlp:100-10", &[][..], "takes 100 inputs"),
        ("mlp:784-10-7", &[][..], "classes"),
        ("mlp:784-10", &["--alpha", "2"][..], "alpha"),
        ("mlp:784-10", &["--batch", "0"][..], "batch"),
    ] {
        let out = run(spec, extra);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{spec}: {stderr}");
        assert!(!stderr.contains("panicked"), "{spec}: {stderr}");
        assert!(stderr.contains(message), "{spec}: {stderr}");
    }
    assert!(!output.exists());
}
