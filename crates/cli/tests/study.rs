//! `pocketnn study` end to end on seed_mlp (a short run: 100 test images,
//! one distillation epoch): the report has every variant, its fp32 row
//! matches figures computed here independently (onnxruntime's predictions,
//! the architecture's parameter and FLOP counts, `pocketnn convert`'s file
//! size), and the plot is an SVG naming every variant.

mod common;

use common::*;
use std::path::PathBuf;

/// `../shared/models` (or `POCKETNN_SHARED_MODELS`).
fn shared_models() -> PathBuf {
    std::env::var_os("POCKETNN_SHARED_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/models"))
}

fn read_npy<T: npyz::Deserialize>(path: &std::path::Path) -> Vec<T> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    npyz::NpyFile::new(&bytes[..])
        .expect("npy")
        .into_vec()
        .expect("npy values")
}

/// Top-1 accuracy of onnxruntime's seed_mlp logits on the first `n` test images.
fn onnxruntime_accuracy(n: usize) -> f64 {
    let testdata = std::env::var_os("POCKETNN_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("testdata"));
    let logits: Vec<f32> = read_npy(&testdata.join("shared/seed_mlp_logits.npy"));
    let labels: Vec<i64> = read_npy(&shared_models().join("mnist5k_test_y.npy"));
    let right = logits
        .chunks_exact(10)
        .zip(&labels)
        .take(n)
        .filter(|(row, label)| {
            let top = (0..10).fold(0, |best, i| if row[i] > row[best] { i } else { best });
            top as i64 == **label
        })
        .count();
    right as f64 / n as f64
}

/// The cells of the table row whose first cell is `variant`.
fn row<'a>(report: &'a str, variant: &str) -> Vec<&'a str> {
    report
        .lines()
        .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>())
        .find(|cells| {
            cells
                .get(1)
                .is_some_and(|c| *c == variant || c.starts_with(&format!("**{variant}**")))
        })
        .unwrap_or_else(|| panic!("no row {variant} in:\n{report}"))
}

#[test]
fn a_short_study_of_seed_mlp_writes_the_table_and_the_plot() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (report_path, plot_path) = (tmp.path().join("study.md"), tmp.path().join("study.svg"));
    let models = shared_models();
    let out = pocketnn(&[
        "study",
        "--models",
        path(&models),
        "--only",
        "seed_mlp",
        "--test-images",
        "100",
        "--runs",
        "3",
        "--distill-epochs",
        "1",
        "--out",
        path(&report_path),
        "--plot",
        path(&plot_path),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = std::fs::read_to_string(&report_path).expect("report");
    let variants = [
        "fp32",
        "fp16",
        "int8",
        "int8-dynamic",
        "prune 50%",
        "prune 80%",
        "prune 90%",
        "prune 95%",
        "channel prune 50%",
        "low-rank 0.5",
        "low-rank 0.25",
        "low-rank 0.1",
        "student",
        "student + int8",
        "student + 90% + int8",
        "90% 1x4 + int8",
        "low-rank 0.25 + int8",
    ];
    for v in variants {
        row(&report, v);
    }
    // fp32: the whole file, 784-256-128-64-10 weights and biases, 2 FLOPs
    // per weight, onnxruntime's accuracy, agreement 1 with itself.
    let fp32 = row(&report, "fp32");
    let params = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10;
    let flops = 2 * (784 * 256 + 256 * 128 + 128 * 64 + 64 * 10);
    let grouped = |n: usize| {
        let s = n.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    assert_eq!(fp32[4], grouped(params), "{fp32:?}");
    assert_eq!(fp32[5], grouped(flops), "{fp32:?}");
    assert_eq!(
        fp32[8],
        format!("{:.3}", onnxruntime_accuracy(100)),
        "{fp32:?}"
    );
    assert_eq!(fp32[10], "1.000");
    // int8-dynamic: the size `pocketnn convert` writes.
    let dynamic = tmp.path().join("dynamic.pnn");
    let onnx = models.join("seed_mlp.onnx");
    let convert = pocketnn(&[
        "convert",
        path(&onnx),
        "-o",
        path(&dynamic),
        "--quantize",
        "int8-dynamic",
    ]);
    assert!(convert.status.success(), "{}", text(&convert.stderr));
    let bytes = std::fs::metadata(&dynamic).expect("pnn").len() as usize;
    assert_eq!(row(&report, "int8-dynamic")[2], grouped(bytes));
    // The plot: an SVG with every variant's label.
    let svg = std::fs::read_to_string(&plot_path).expect("plot");
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    assert!(svg.trim_end().ends_with("</svg>"));
    for v in variants {
        // Off-scale variants carry their accuracy: "name (0.54, off scale)".
        let labelled = svg.contains(&format!("\n{v}\n")) || svg.contains(&format!("\n{v} ("));
        assert!(labelled, "plot lacks {v}");
    }
    assert!(report.contains("(study.svg)"), "the report shows the plot");
}

#[test]
fn study_refuses_an_unknown_model() {
    let out = pocketnn(&["study", "--only", "resnet", "--models", "/nonexistent"]);
    assert_clean_failure(&out, 2);
    assert!(text(&out.stderr).contains("seed_mlp and seed_cnn"));
}

/// A `.npy` file (version 1.0) of one f32 with `shape` (a Python tuple).
fn npy_f32(shape: &str, values: &[f32]) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes
}

#[test]
fn study_refuses_test_data_that_are_not_samples() {
    let tmp = tempfile::tempdir().expect("temp dir");
    for (shape, values) in [("()", &[1.0f32][..]), ("(1, 4)", &[0.0; 4][..])] {
        std::fs::write(
            tmp.path().join("mnist5k_test_x.npy"),
            npy_f32(shape, values),
        )
        .unwrap();
        let out = pocketnn(&["study", "--models", path(tmp.path())]);
        assert_clean_failure(&out, 2);
        assert!(
            text(&out.stderr).contains("at least two float32 samples"),
            "{}",
            text(&out.stderr)
        );
    }
}
