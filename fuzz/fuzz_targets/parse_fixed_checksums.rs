//! Like `parse`, but the section and header CRCs of the mutated input are
//! recomputed first, so mutations reach the decoder and the validator
//! instead of stopping at a checksum. Files that parse are also rewritten
//! with the writer, which must accept them, and read back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    common::fix_checksums(&mut bytes);
    common::parse_and_touch(&bytes);
    common::rewrite_round_trip(&bytes);
});
