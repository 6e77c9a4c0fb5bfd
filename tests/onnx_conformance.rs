//! ONNX backend node conformance: every case generated from the `onnx`
//! wheel (`scripts/gen-testdata.sh`) is converted, run and compared with its
//! expected outputs. Cases using something pocketnn does not support are
//! counted as unsupported; every supported case must pass.

use pocketnn::SessionOptions;
use pocketnn_tests::{CaseError, Tolerance, run_case, testdata_dir};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The onnx backend tests' default relative tolerance, with a slightly
/// looser absolute one (float32 accumulation order differs from numpy's).
const TOLERANCE: Tolerance = Tolerance {
    atol: 1e-5,
    rtol: 1e-3,
};

#[test]
fn onnx_node_conformance() {
    let dir = testdata_dir("node");
    let filter = std::env::var("POCKETNN_CASE_FILTER").unwrap_or_default();
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .expect("read node dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").is_file())
        .filter(|p| p.to_string_lossy().contains(&filter))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", dir.display());
    let (mut passed, mut unsupported) = (Vec::new(), Vec::new());
    let mut failed = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let result = catch_unwind(AssertUnwindSafe(|| {
            run_case(case, TOLERANCE, SessionOptions::default())
        }));
        match result {
            Ok(Ok(())) => passed.push(name),
            Ok(Err(CaseError::Unsupported(why))) => unsupported.push((name, why)),
            Ok(Err(CaseError::Failed(why))) => failed.push((name, why)),
            Err(_) => failed.push((name, "PANIC".to_string())),
        }
    }
    let mut report = format!(
        "ONNX node conformance: {} cases: {} passed, {} failed, {} unsupported\n",
        cases.len(),
        passed.len(),
        failed.len(),
        unsupported.len()
    );
    for (name, why) in &failed {
        report.push_str(&format!("FAILED {name}: {why}\n"));
    }
    for (name, why) in &unsupported {
        report.push_str(&format!("unsupported {name}: {why}\n"));
    }
    let _ = std::fs::write(dir.join("../node-report.txt"), &report);
    eprintln!("{}", report.lines().next().unwrap_or_default());
    for (name, why) in &failed {
        eprintln!("FAILED {name}: {why}");
    }
    assert!(failed.is_empty(), "{} supported cases failed", failed.len());
}
