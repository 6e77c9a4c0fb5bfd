//! Shared by the C ABI tests: the seed MLP converted to `.pnn`, the ten
//! digits of `models/digits.npy` and onnxruntime's logits for them (the
//! independent reference, `tests/data/seed_mlp_digits_logits.txt`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `models/seed_mlp.onnx` converted to `.pnn` bytes.
pub fn seed_mlp_pnn() -> Vec<u8> {
    let onnx =
        std::fs::read(repo_root().join("models/seed_mlp.onnx")).expect("models/seed_mlp.onnx");
    pocketnn_convert::convert(&onnx, &pocketnn_convert::ConvertOptions::default())
        .expect("the seed MLP converts")
        .to_pnn_bytes()
        .expect("the seed MLP serializes")
}

/// The ten digits, f32 `[10, 1, 28, 28]`, flattened.
pub fn digits() -> Vec<f32> {
    let bytes = std::fs::read(repo_root().join("models/digits.npy")).expect("models/digits.npy");
    // NumPy format 1.0: magic (6), version (2), header length (u16 LE), header.
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let data = &bytes[10 + header_len..];
    assert_eq!(data.len(), 10 * 28 * 28 * 4);
    data.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// onnxruntime's logits for the ten digits, `[10][10]`.
pub fn reference_logits() -> Vec<Vec<f32>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/seed_mlp_digits_logits.txt");
    let text = std::fs::read_to_string(path).expect("reference logits");
    let rows: Vec<Vec<f32>> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            l.split_whitespace()
                .map(|v| v.parse().expect("a number"))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 10);
    assert!(rows.iter().all(|r| r.len() == 10));
    rows
}

/// Asserts `logits` (`[10 * 10]`) match onnxruntime within `1e-3` and
/// predict the digits 0..9 in order.
pub fn assert_matches_reference(logits: &[f32]) {
    let reference = reference_logits();
    assert_eq!(logits.len(), 100);
    for (row, (got, want)) in logits.chunks_exact(10).zip(&reference).enumerate() {
        for (col, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-3,
                "logit [{row}][{col}]: pocketnn {g}, onnxruntime {w}"
            );
        }
        let predicted = got
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i);
        assert_eq!(predicted, Some(row), "digit {row}");
    }
}
