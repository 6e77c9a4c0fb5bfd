//! No lost work and no half-written model: `convert_file` writes a
//! temporary file next to the output and renames it into place, so an
//! interrupted or failed conversion never leaves a `.pnn` that loads
//! partially, and never damages the file already at the output path.
//!
//! The interruption is real: this test binary re-runs itself as a child
//! process that converts seed_cnn (26 MB of ONNX), and the parent kills it
//! (SIGKILL) at spread-out moments of the conversion.

use pocketnn::Model;
use pocketnn_convert::{ConvertOptions, convert_file};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Set in the child: convert `<input>` to `<output>` (separated by `|`).
const CHILD_ENV: &str = "POCKETNN_TEST_CONVERT_CHILD";
const CHILD_TEST: &str = "convert_in_a_child_process";

/// The child's side; does nothing in a normal test run.
#[test]
fn convert_in_a_child_process() {
    let Some(job) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let job = job.to_string_lossy().into_owned();
    let (input, output) = job.split_once('|').expect("input|output");
    convert_file(
        Path::new(input),
        Path::new(output),
        &ConvertOptions::default(),
    )
    .expect("child convert");
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pocketnn-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Starts the child converting `input` into `output`.
fn spawn_child(input: &Path, output: &Path) -> std::process::Child {
    let exe = std::env::current_exe().expect("test binary");
    // Under cross-testing (aarch64 under qemu-user), the emulator script
    // starts the binary; it `exec`s qemu, so killing it kills the child.
    let mut command = match std::env::var_os("POCKETNN_EXEC_WRAPPER") {
        Some(wrapper) => {
            let mut c = Command::new(wrapper);
            c.arg(exe);
            c
        }
        None => Command::new(exe),
    };
    command
        .args(["--exact", CHILD_TEST, "--test-threads", "1"])
        .env(
            CHILD_ENV,
            format!("{}|{}", input.display(), output.display()),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the test binary")
}

/// Names in `dir` other than `keep`.
fn others(dir: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| !keep.contains(&n.as_str()))
        .collect()
}

#[test]
fn a_killed_convert_leaves_the_old_file_or_the_complete_new_one() {
    let input = pocketnn_tests::shared_models_dir().join("seed_cnn.onnx");
    let dir = scratch_dir("interrupted-convert");
    let output = dir.join("model.pnn");

    // A full conversion: how long it takes, and the bytes it writes.
    let start = Instant::now();
    let status = spawn_child(&input, &output).wait().expect("child");
    let full = start.elapsed();
    assert!(status.success(), "a full conversion in the child failed");
    let complete = std::fs::read(&output).expect("converted file");
    Model::from_bytes(&complete).expect("the complete file loads");
    assert!(
        others(&dir, &["model.pnn"]).is_empty(),
        "temporary files left"
    );

    // An older, different model sits at the output path before each
    // interrupted conversion: it must survive untouched unless the new
    // one replaced it whole.
    let old = {
        let mlp = pocketnn_tests::workspace_root().join("models/seed_mlp.onnx");
        let old_path = dir.join("old.pnn");
        convert_file(&mlp, &old_path, &ConvertOptions::default()).expect("convert seed_mlp");
        let bytes = std::fs::read(&old_path).expect("old file");
        std::fs::remove_file(&old_path).expect("remove");
        bytes
    };
    let trials = 12;
    let (mut kept_old, mut replaced, mut temp_left) = (0, 0, 0);
    for trial in 0..trials {
        std::fs::write(&output, &old).expect("write the old model");
        let delay = full.mul_f64(f64::from(trial) / f64::from(trials - 2));
        let mut child = spawn_child(&input, &output);
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL; an error means it had already exited
        child.wait().expect("reap the child");
        let now = std::fs::read(&output).expect("the output path still holds a file");
        if now == old {
            kept_old += 1;
        } else {
            assert!(
                now == complete,
                "trial {trial}: the output is neither model"
            );
            replaced += 1;
        }
        Model::from_bytes(&now).expect("whatever is at the output path loads");
        // A killed child may leave its temporary file: hidden, not `.pnn`.
        for name in others(&dir, &["model.pnn"]) {
            assert!(
                name.starts_with(".model.pnn.") && name.ends_with(".tmp"),
                "unexpected file {name}"
            );
            let partial = std::fs::read(dir.join(&name)).expect("temp file");
            if partial != complete {
                assert!(
                    Model::from_bytes(&partial).is_err(),
                    "a partial file loaded"
                );
            }
            std::fs::remove_file(dir.join(&name)).expect("remove temp");
            temp_left += 1;
        }
    }
    println!(
        "{trials} conversions killed over {full:.2?}: {kept_old} left the old model, \
         {replaced} the complete new one, {temp_left} left a temporary file; none half-written"
    );
    assert!(
        kept_old > 0,
        "no kill landed before the rename: the test proved nothing"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A conversion that fails at the rename (the output path is a directory)
/// reports the error and removes its temporary file.
#[test]
fn a_failed_rename_leaves_no_temporary_file() {
    let dir = scratch_dir("failed-convert");
    let output = dir.join("model.pnn");
    std::fs::create_dir(&output).expect("a directory where the output goes");
    let input = pocketnn_tests::workspace_root().join("models/seed_mlp.onnx");
    let started = Instant::now();
    let e = convert_file(&input, &output, &ConvertOptions::default()).expect_err("must fail");
    assert!(e.to_string().contains("model.pnn"), "{e}");
    assert!(output.is_dir());
    assert!(
        others(&dir, &["model.pnn"]).is_empty(),
        "temporary files left"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    std::fs::remove_dir_all(&dir).ok();
}
