//! Helpers shared by the command's end-to-end tests.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the command. Under cross-testing (aarch64 binaries on an x86_64
/// host), `POCKETNN_EXEC_WRAPPER` names the emulator script to start it with.
pub fn pocketnn(args: &[&str]) -> Output {
    let bin = env!("CARGO_BIN_EXE_pocketnn");
    let mut cmd = match std::env::var_os("POCKETNN_EXEC_WRAPPER") {
        Some(wrapper) => {
            let mut c = Command::new(wrapper);
            c.arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.args(args).output().expect("start pocketnn")
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

/// A path as a command-line argument.
pub fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The command failed with `code` and a message, without a panic.
pub fn assert_clean_failure(out: &Output, code: i32) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(
        !stderr.contains("RUST_BACKTRACE"),
        "backtrace hint: {stderr}"
    );
    assert!(!stderr.trim().is_empty(), "no message");
}
