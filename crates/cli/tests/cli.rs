//! The `pocketnn` command end to end: exact argument forms, outputs, and
//! errors (exit 1 for failures, 2 for usage, never a panic).

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// Converts the shipped MLP into `dir` and returns the .pnn path.
fn converted(dir: &Path) -> PathBuf {
    let pnn = dir.join("mlp.pnn");
    let onnx = repo().join("models/seed_mlp.onnx");
    let out = pocketnn(&[
        "convert",
        onnx.to_str().unwrap(),
        "-o",
        pnn.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "convert failed: {}",
        text(&out.stderr)
    );
    pnn
}

#[test]
fn convert_run_inspect_bench_on_the_shipped_model() {
    let tmp = tempfile::tempdir().unwrap();
    let pnn = converted(tmp.path());
    let digits = repo().join("models/digits.npy");
    let out_dir = tmp.path().join("out");
    let out = pocketnn(&[
        "run",
        pnn.to_str().unwrap(),
        "--input",
        &format!("input={}", digits.display()),
        "--output-dir",
        out_dir.to_str().unwrap(),
        "--threads",
        "2",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "run failed: {}", text(&out.stderr));
    assert!(
        stdout.contains("top-1 per row: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"),
        "{stdout}"
    );
    let file = std::fs::File::open(out_dir.join("logits.npy")).expect("logits.npy written");
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file)).unwrap();
    assert_eq!(npy.shape(), &[10, 10]);

    let out = pocketnn(&["inspect", pnn.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inspect --json is JSON");
    assert_eq!(v["inputs"][0]["name"], "input");
    assert_eq!(v["ops"]["Gemm"], 4);
    assert!(v["file_bytes"].as_u64().unwrap() > 900_000);
    let out = pocketnn(&["inspect", pnn.to_str().unwrap()]);
    assert!(text(&out.stdout).contains("logits"));

    let out = pocketnn(&[
        "bench",
        pnn.to_str().unwrap(),
        "--iters",
        "3",
        "--warmup",
        "1",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bench --json is JSON");
    for key in [
        "load_ms",
        "min_ms",
        "median_ms",
        "p90_ms",
        "peak_rss_bytes",
        "threads",
        "iters",
    ] {
        assert!(v.get(key).is_some(), "bench --json lacks {key}: {v}");
    }
    assert_eq!(v["iters"], 3);
    assert_eq!(v["threads"], 1);
}

#[test]
fn errors_are_messages_with_exit_codes_not_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing.pnn");
    assert_clean_failure(&pocketnn(&["inspect", missing.to_str().unwrap()]), 1);

    let garbage = tmp.path().join("garbage.pnn");
    std::fs::write(&garbage, b"this is not a model").unwrap();
    assert_clean_failure(&pocketnn(&["inspect", garbage.to_str().unwrap()]), 1);
    assert_clean_failure(&pocketnn(&["bench", garbage.to_str().unwrap()]), 1);

    let bad_onnx = tmp.path().join("bad.onnx");
    std::fs::write(&bad_onnx, [0xffu8; 64]).unwrap();
    let out_pnn = tmp.path().join("bad.pnn");
    assert_clean_failure(
        &pocketnn(&[
            "convert",
            bad_onnx.to_str().unwrap(),
            "-o",
            out_pnn.to_str().unwrap(),
        ]),
        1,
    );
    assert!(!out_pnn.exists(), "a failed convert must not leave a file");

    let pnn = converted(tmp.path());
    let p = pnn.to_str().unwrap();
    // usage errors: exit code 2
    assert_clean_failure(&pocketnn(&["run", p]), 2);
    assert_clean_failure(
        &pocketnn(&["run", p, "--input", "no-equals-sign", "--output-dir", "x"]),
        2,
    );
    assert_clean_failure(&pocketnn(&["frobnicate"]), 2);
    // wrong input name and wrong shape: exit code 1 with a message naming it
    let digits = repo().join("models/digits.npy");
    let out = pocketnn(&[
        "run",
        p,
        "--input",
        &format!("wrong={}", digits.display()),
        "--output-dir",
        "x",
    ]);
    assert_clean_failure(&out, 1);
    assert!(text(&out.stderr).contains("wrong"));
    let labels = repo().join("models/digits_labels.npy");
    let out = pocketnn(&[
        "run",
        p,
        "--input",
        &format!("input={}", labels.display()),
        "--output-dir",
        "x",
    ]);
    assert_clean_failure(&out, 1);
    assert!(text(&out.stderr).contains("input"));
}

#[test]
fn eval_reports_accuracy_and_agreement() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pnn = converted(dir.path());
    let onnx = repo().join("models/seed_mlp.onnx");
    let digits = repo().join("models/digits.npy");
    let labels = repo().join("models/digits_labels.npy");
    let (pnn, onnx, digits, labels) = (
        pnn.to_str().expect("utf-8"),
        onnx.to_str().expect("utf-8"),
        digits.to_str().expect("utf-8"),
        labels.to_str().expect("utf-8"),
    );
    let args = [
        "eval",
        pnn,
        "--data",
        digits,
        "--labels",
        labels,
        "--reference",
        onnx,
        "--json",
    ];
    let out = pocketnn(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["samples"], 10);
    // The shipped digits are ones seed_mlp classifies correctly (see
    // models/README.md), and the .pnn must agree with its ONNX source.
    assert_eq!(report["accuracy"], 1.0);
    assert_eq!(report["agreement"], 1.0);

    let text_out = pocketnn(&[
        "eval", pnn, "--data", digits, "--labels", labels, "--batch", "3",
    ]);
    assert!(text_out.status.success(), "{}", text(&text_out.stderr));
    assert!(text(&text_out.stdout).contains("top-1 accuracy  1.0000 (10/10)"));

    // Usage errors: nothing to compare with; labels that do not match.
    assert_clean_failure(&pocketnn(&["eval", pnn, "--data", digits]), 2);
    assert_clean_failure(
        &pocketnn(&["eval", pnn, "--data", labels, "--labels", labels]),
        2,
    );
    assert_clean_failure(
        &pocketnn(&[
            "eval",
            pnn,
            "--data",
            digits,
            "--labels",
            "/nonexistent.npy",
        ]),
        1,
    );
}

/// `pocketnn demo` needs no files: it prints pictures, predictions and the
/// table of built-in variants; with a model it needs `--data`.
#[test]
fn demo_runs_from_the_binary_alone_and_refuses_half_arguments() {
    let out = pocketnn(&["demo"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert!(stdout.contains("(right)"), "{stdout}");
    for variant in ["fp32", "fp16", "int8-dynamic", "int8"] {
        assert!(
            stdout.contains(&format!("  {variant} ")),
            "{variant}: {stdout}"
        );
    }
    assert!(stdout.contains('@'), "no picture: {stdout}");

    assert_clean_failure(&pocketnn(&["demo", "model.pnn"]), 2);
    assert_clean_failure(&pocketnn(&["demo", "--data", "x.npy"]), 2);
    assert_clean_failure(
        &pocketnn(&["demo", "/no/such/model.pnn", "--data", "/no/such.npy"]),
        1,
    );
}

#[test]
fn convert_prune_channel_prints_the_report_and_both_accuracies() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = repo().join("models/seed_mlp.onnx");
    let digits = repo().join("models/digits.npy");
    let labels = repo().join("models/digits_labels.npy");
    let pnn = dir.path().join("pruned.pnn");
    let out = pocketnn(&[
        "convert",
        onnx.to_str().unwrap(),
        "-o",
        pnn.to_str().unwrap(),
        "--prune",
        "0.25",
        "--prune-pattern",
        "channel",
        "--prune-per-layer",
        "--eval-data",
        digits.to_str().unwrap(),
        "--eval-labels",
        labels.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("pruning channel 0.25 (per layer):"),
        "{stdout}"
    );
    // 64 of 256 neurons of the first layer go, the last layer keeps its 10.
    assert!(
        stdout.contains("64 of 256 output channels removed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("its output reaches a model output"),
        "{stdout}"
    );
    assert!(
        stdout.contains("top-1 accuracy, original  1.0000 (10/10)"),
        "{stdout}"
    );
    assert!(stdout.contains("top-1 accuracy, converted"), "{stdout}");
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    let dense = converted(dir.path());
    assert!(
        size(&pnn) < size(&dense),
        "{} vs {}",
        size(&pnn),
        size(&dense)
    );

    // Usage errors: a fraction outside [0, 1), an unknown pattern, data
    // without labels.
    let pruned = |extra: &[&str]| {
        let mut args = vec![
            "convert",
            onnx.to_str().unwrap(),
            "-o",
            pnn.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        pocketnn(&args)
    };
    assert_clean_failure(&pruned(&["--prune", "1.5"]), 2);
    assert_clean_failure(&pruned(&["--prune", "0.5", "--prune-pattern", "3:4"]), 2);
    assert_clean_failure(&pruned(&["--eval-data", digits.to_str().unwrap()]), 2);
}

#[test]
fn convert_with_low_rank_prints_the_factorization_table() {
    let tmp = tempfile::tempdir().unwrap();
    let onnx = repo().join("models/seed_mlp.onnx");
    let pnn = tmp.path().join("low_rank.pnn");
    let (onnx, pnn) = (onnx.to_str().unwrap(), pnn.to_str().unwrap());
    let out = pocketnn(&[
        "convert",
        onnx,
        "-o",
        pnn,
        "--low-rank",
        "0.5",
        "--low-rank-layers",
        "/1/Gemm",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("low-rank 0.5:"), "{stdout}");
    assert!(stdout.contains("128/256"), "{stdout}");
    assert!(
        stdout.contains("total: 1 of 1 layer(s) factorized"),
        "{stdout}"
    );
    assert!(stdout.contains("LowRankLinear"), "{stdout}");
    // A value outside (0, 1], and the layer list without --low-rank.
    for args in [
        &["convert", onnx, "-o", pnn, "--low-rank", "1.5"][..],
        &["convert", onnx, "-o", pnn, "--low-rank", "energy:x"][..],
        &["convert", onnx, "-o", pnn, "--low-rank-layers", "/1/Gemm"][..],
    ] {
        assert_clean_failure(&pocketnn(args), 2);
    }
}
