//! `--low-rank` on the shared seed models, MNIST test set: seed_cnn's fc1
//! factorized at rank 64 (the target: within 1.5 points of the
//! float model's 0.971), and seed_mlp at 0.5 and 0.25 of full rank. The
//! accuracies, ranks, sizes and conversion times are printed (run with
//! `--nocapture`).

use pocketnn::Model;
use pocketnn_convert::{ConvertOptions, ConvertReport, LowRank, convert};
use pocketnn_tests::mnist::TestSet;
use pocketnn_tests::shared_models_dir;
use std::time::Instant;

fn load(name: &str, low_rank: Option<(LowRank, &[&str])>) -> (Model, ConvertReport) {
    let bytes = std::fs::read(shared_models_dir().join(format!("{name}.onnx"))).expect("onnx");
    let mut options = ConvertOptions::default();
    if let Some((mode, layers)) = low_rank {
        options.low_rank = Some(mode);
        options.low_rank_layers = layers.iter().map(|s| s.to_string()).collect();
    }
    let start = Instant::now();
    let converted = convert(&bytes, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
    eprintln!(
        "{name} {:?}: converted in {:.2?}",
        low_rank.map(|l| l.0),
        start.elapsed()
    );
    let pnn = converted.to_pnn_bytes().expect("pnn bytes");
    (Model::from_bytes(&pnn).expect("load"), converted.report)
}

/// Accuracy of `model` and the share of images whose top-1 matches `float`'s.
fn accuracy(test_set: &TestSet, model: &Model) -> (f64, Vec<f32>) {
    let logits = test_set.logits(model);
    (test_set.accuracy(&logits), logits)
}

#[test]
fn seed_cnn_fc1_at_rank_64_keeps_mnist_accuracy() {
    let test_set = TestSet::load();
    let (float_model, _) = load("seed_cnn", None);
    let (float_accuracy, _) = accuracy(&test_set, &float_model);
    let mode = LowRank::Fraction(64.0 / 1024.0);
    let (model, report) = load("seed_cnn", Some((mode, &["/7/Gemm"])));
    assert_eq!(report.low_rank_layers.len(), 1, "{report}");
    let fc1 = &report.low_rank_layers[0];
    assert!(fc1.factorized(), "{report}");
    assert_eq!((fc1.rank, fc1.full_rank), (64, 1024));
    assert_eq!(fc1.params_after, 64 * (1024 + 6272) + 1024);
    assert_eq!(report.ops_after.get("LowRankLinear"), Some(&1), "{report}");
    let (low_rank_accuracy, _) = accuracy(&test_set, &model);
    eprintln!(
        "seed_cnn: fp32 accuracy {float_accuracy:.3}, fc1 rank 64: {low_rank_accuracy:.3} \
         (energy kept {:.4}, fc1 bytes {} -> {})",
        fc1.energy_kept.unwrap_or(f64::NAN),
        fc1.bytes_before,
        fc1.bytes_after
    );
    if test_set.is_full() {
        assert!((float_accuracy - 0.971).abs() < 1e-9);
        assert!(
            low_rank_accuracy >= float_accuracy - 0.015,
            "rank 64: {low_rank_accuracy} vs {float_accuracy}"
        );
    } else {
        assert!(low_rank_accuracy >= float_accuracy - 0.1);
    }
}

#[test]
fn seed_mlp_at_half_and_quarter_rank() {
    let test_set = TestSet::load();
    let (float_model, _) = load("seed_mlp", None);
    let (float_accuracy, _) = accuracy(&test_set, &float_model);
    let hidden: &[&str] = &["/1/Gemm", "/3/Gemm", "/5/Gemm"];
    let mut results = Vec::new();
    for (fraction, layers) in [
        (0.5f32, &[][..]),
        (0.25, &[]),
        (0.5, hidden),
        (0.25, hidden),
    ] {
        let (model, report) = load("seed_mlp", Some((LowRank::Fraction(fraction), layers)));
        eprint!("{report}");
        let factorized = report
            .low_rank_layers
            .iter()
            .filter(|l| l.factorized())
            .count();
        let (low_rank_accuracy, _) = accuracy(&test_set, &model);
        eprintln!(
            "seed_mlp: fp32 accuracy {float_accuracy:.3}, low-rank {fraction} of {}: \
             {low_rank_accuracy:.3}, {factorized} layer(s) factorized",
            if layers.is_empty() {
                "every layer"
            } else {
                "the hidden layers"
            }
        );
        results.push((factorized, low_rank_accuracy));
    }
    // 784→256, 256→128, 128→64, 64→10: M < K everywhere, so keeping half
    // the rank or less saves work (r·(M+K) < M·K) in every layer.
    let counts: Vec<usize> = results.iter().map(|r| r.0).collect();
    assert_eq!(counts, [4, 4, 3, 3]);
    // Measured 2026-11-29 on the full set (fp32 0.934): every layer 0.737 at
    // 0.5 and 0.412 at 0.25 — the 10-way classifier at rank 5 / 3 is what
    // breaks; the hidden layers alone 0.933 and 0.931.
    if test_set.is_full() {
        assert!(results[0].1 >= 0.70 && results[1].1 >= 0.35, "{results:?}");
        assert!(results[2].1 >= float_accuracy - 0.01, "{results:?}");
        assert!(results[3].1 >= float_accuracy - 0.02, "{results:?}");
    }
}
