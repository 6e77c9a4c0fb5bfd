//! Arbitrary bytes as an ONNX model into the converter. A model it accepts
//! must be writable as `.pnn`; the file is then loaded and run on small
//! inputs under tight limits. Nothing may panic, abort or hang.
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use pocketnn_convert::{ConvertOptions, convert};

#[path = "runner.rs"]
mod runner;

fuzz_target!(|data: &[u8]| {
    let Ok(converted) = convert(data, &ConvertOptions::default()) else {
        return;
    };
    let Ok(pnn) = converted.to_pnn_bytes() else {
        return;
    };
    // Input values come from the model bytes themselves: a fixed script.
    let mut u = Unstructured::new(data);
    runner::load_and_run(&pnn, &mut u);
});
