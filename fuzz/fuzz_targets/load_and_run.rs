//! A valid `.pnn` file, structurally mutated and re-encoded, then loaded and
//! run on small inputs under tight limits: every outcome must be a result
//! or a typed error — never a panic, a sanitizer report, an abort or a hang.
//!
//! Input layout: a little-endian `u32` length `n`, then `n` bytes of a
//! `.pnn` file (its checksums are recomputed, so byte-level mutations reach
//! the decoder), then the bytes that choose the structural mutations and
//! the input values. `fuzz/make_seeds.sh` writes seeds in this layout from
//! real models.
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use pocketnn_format::PnnFile;

#[path = "common.rs"]
mod common;
#[path = "mutate.rs"]
mod mutate;
#[path = "runner.rs"]
mod runner;

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (file, script) = rest.split_at(len);
    let mut bytes = file.to_vec();
    common::fix_checksums(&mut bytes);
    let mut u = Unstructured::new(script);
    let Ok(parsed) = PnnFile::parse(&bytes) else {
        return;
    };
    let mut model = mutate::editable(&parsed);
    if model.mutate(&mut u).is_err() {
        return;
    }
    let Some(mutated) = model.to_bytes() else {
        return;
    };
    runner::load_and_run(&mutated, &mut u);
});
