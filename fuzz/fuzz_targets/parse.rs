//! Arbitrary bytes into the reader: it must return an error or a file whose
//! every tensor is readable, in bounds and aligned — never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::parse_and_touch(data);
});
