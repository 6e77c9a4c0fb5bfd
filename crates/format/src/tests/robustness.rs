//! Damaged files: every truncation and random corruption is an error or a
//! valid file, never a panic.

use proptest::prelude::*;

use super::helpers::*;
use crate::*;

/// What any successfully parsed file guarantees about its tensors.
fn check_invariants(bytes: &[u8], file: &PnnFile<'_>) {
    for id in 0..file.model().tensors.len() as TensorId {
        let range = file.tensor_range(id).expect("every tensor has a range");
        assert_eq!(range.start % TENSOR_ALIGN, 0);
        assert!(range.end <= bytes.len());
        let data = file.tensor_data(id).expect("every tensor has data");
        assert_eq!(data, &bytes[range]);
    }
}

fn parse_any(bytes: &[u8]) {
    if let Ok(file) = PnnFile::parse(bytes) {
        check_invariants(bytes, &file);
    }
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = sample_bytes();
    for cut in 0..bytes.len() {
        let truncated = &bytes[..cut];
        assert!(PnnFile::parse(truncated).is_err(), "cut at {cut}");
        // Also when the header is patched to claim the shorter length and
        // the checksums are recomputed, so later checks have to catch it.
        let mut patched = truncated.to_vec();
        if patched.len() >= 64 {
            put_u64(&mut patched, 16, cut as u64);
            fix_checksums(&mut patched);
        }
        assert!(PnnFile::parse(&patched).is_err(), "patched cut at {cut}");
    }
}

#[test]
fn every_single_byte_flip_with_fixed_checksums() {
    // Flipping any bit pattern of any byte, then fixing the CRCs, reaches the
    // decoder and validator everywhere in the file.
    let bytes = sample_bytes();
    for at in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut corrupt = bytes.clone();
            corrupt[at] ^= mask;
            parse_any(&corrupt);
            fix_checksums(&mut corrupt);
            parse_any(&corrupt);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_flips_never_panic(flips in prop::collection::vec((any::<usize>(), 1u8..), 1..12), fix in any::<bool>()) {
        let mut bytes = sample_bytes();
        for (at, mask) in flips {
            let n = bytes.len();
            bytes[at % n] ^= mask;
        }
        if fix {
            fix_checksums(&mut bytes);
        }
        parse_any(&bytes);
    }

    #[test]
    fn random_sections_after_a_valid_header_never_panic(
        sections in prop::collection::vec((1u32..6, prop::collection::vec(any::<u8>(), 0..200)), 0..6),
    ) {
        let sections: Vec<Section> = sections.into_iter().map(|(kind, bytes)| section(kind, bytes)).collect();
        parse_any(&build_file(0, &sections));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        parse_any(&bytes);
    }
}
