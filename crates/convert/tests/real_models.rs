//! The shared real models import and convert without error.

use pocketnn_convert::{ConvertOptions, convert};
use std::path::PathBuf;

/// The bytes of a shared model: from `$POCKETNN_MODELS`, the `shared/models`
/// folder beside the repository, or `/work/shared/models`.
fn model(name: &str) -> Option<Vec<u8>> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("POCKETNN_MODELS").map(PathBuf::from).into_iter().collect();
    dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models"));
    dirs.push(PathBuf::from("/work/shared/models"));
    let found = dirs.iter().find_map(|d| std::fs::read(d.join(name)).ok());
    assert!(found.is_some(), "{name} not found in {dirs:?} (set POCKETNN_MODELS)");
    found
}

#[test]
fn seed_mlp_converts() {
    let Some(bytes) = model("seed_mlp.onnx") else { return };
    let c = convert(&bytes, &ConvertOptions::default()).unwrap();
    println!("{}", c.report);
}

#[test]
fn seed_cnn_converts() {
    let Some(bytes) = model("seed_cnn.onnx") else { return };
    let c = convert(&bytes, &ConvertOptions::default()).unwrap();
    println!("{}", c.report);
}

#[test]
fn efficientnet_lite0_converts() {
    let Some(bytes) = model("efficientnet_lite0.onnx") else { return };
    let c = convert(&bytes, &ConvertOptions::default()).unwrap();
    println!("{}", c.report);
}
