//! Rejection rules of the header and the section table.

use super::helpers::*;
use crate::*;

#[test]
fn sample_parses() {
    let bytes = sample_bytes();
    let file = PnnFile::parse(&bytes).unwrap();
    assert_eq!(file.version(), (1, 1));
    assert_eq!(file.file_len(), bytes.len() as u64);
    assert_eq!(file.sections().len(), 4);
}

#[test]
fn too_short() {
    let bytes = sample_bytes();
    assert_eq!(
        parse_err(&bytes[..63]),
        FormatError::TooShort {
            len: 63,
            needed: 64
        }
    );
    assert_eq!(parse_err(&[]), FormatError::TooShort { len: 0, needed: 64 });
}

#[test]
fn table_does_not_fit() {
    let mut bytes = sample_bytes()[..100].to_vec();
    put_u64(&mut bytes, 16, 100);
    fix_header_crc(&mut bytes);
    assert_eq!(
        parse_err(&bytes),
        FormatError::TooShort {
            len: 100,
            needed: 64 + 4 * 32
        }
    );
}

#[test]
fn bad_magic() {
    let mut bytes = sample_bytes();
    bytes[0] = b'p';
    assert_eq!(
        parse_err(&bytes),
        FormatError::BadMagic {
            found: *b"pOCKETNN"
        }
    );
}

#[test]
fn unsupported_major_version() {
    let mut bytes = sample_bytes();
    put_u16(&mut bytes, 8, 2);
    put_u16(&mut bytes, 10, 7);
    fix_header_crc(&mut bytes);
    assert_eq!(
        parse_err(&bytes),
        FormatError::UnsupportedVersion { major: 2, minor: 7 }
    );
    put_u16(&mut bytes, 8, 0);
    fix_header_crc(&mut bytes);
    assert_eq!(
        parse_err(&bytes),
        FormatError::UnsupportedVersion { major: 0, minor: 7 }
    );
}

#[test]
fn unknown_header_flags() {
    let mut bytes = sample_bytes();
    put_u32(&mut bytes, 12, 0x10);
    fix_header_crc(&mut bytes);
    assert_eq!(parse_err(&bytes), FormatError::UnknownFlags { flags: 0x10 });
}

#[test]
fn file_len_mismatch_catches_truncation_and_appending() {
    let bytes = sample_bytes();
    let n = bytes.len() as u64;
    assert_eq!(
        parse_err(&bytes[..bytes.len() - 1]),
        FormatError::FileLenMismatch {
            declared: n,
            actual: n - 1
        }
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        parse_err(&longer),
        FormatError::FileLenMismatch {
            declared: n,
            actual: n + 1
        }
    );
}

#[test]
fn header_checksum() {
    let mut bytes = sample_bytes();
    let stored = get_u32(&bytes, 28);
    // Corrupt a byte of the section table (an entry's reserved field).
    bytes[entry_at(1) + 28] ^= 1;
    match parse_err(&bytes) {
        FormatError::HeaderChecksum {
            stored: s,
            computed,
        } => {
            assert_eq!(s, stored);
            assert_ne!(computed, stored);
        }
        e => panic!("{e}"),
    }
}

#[test]
fn reserved_bytes_must_be_zero_in_known_minors() {
    let mut bytes = sample_bytes();
    bytes[40] = 1;
    fix_header_crc(&mut bytes);
    assert_eq!(
        parse_err(&bytes),
        FormatError::ReservedNotZero { offset: 40 }
    );

    let mut bytes = sample_bytes();
    bytes[entry_at(2) + 29] = 5;
    fix_header_crc(&mut bytes);
    assert_eq!(
        parse_err(&bytes),
        FormatError::ReservedNotZero {
            offset: entry_at(2) as u64 + 29
        }
    );
}

#[test]
fn higher_minor_ignores_reserved_and_skips_unknown_sections() {
    let meta = Bytes::default().str("m").str("").u32(0).0;
    let graph = crate::encode::graph(&relu_graph());
    let index = Bytes::default().u32(0).0;
    let mut bytes = build_file(
        3,
        &[
            section(77, vec![0xAB; 10]),
            section(METADATA, meta),
            section(GRAPH, graph),
            section(TENSOR_INDEX, index),
        ],
    );
    bytes[50] = 9; // reserved header byte
    bytes[entry_at(0) + 30] = 9; // reserved entry field
    let (_, offset, _) = find_section(&bytes, 77);
    bytes[offset] = 0; // corrupt the unknown section: its CRC is not checked
    fix_header_crc(&mut bytes);
    let file = PnnFile::parse(&bytes).unwrap();
    assert_eq!(file.version(), (1, 3));
    assert_eq!(file.model().metadata.name, "m");
    assert_eq!(file.model().graph, relu_graph());
    assert_eq!(file.sections()[0].kind, SectionKind::Unknown(77));

    // The same file claiming a minor this reader knows is rejected for its
    // reserved bytes.
    for minor in [0, 1] {
        put_u16(&mut bytes, 10, minor);
        fix_header_crc(&mut bytes);
        assert_eq!(
            parse_err(&bytes),
            FormatError::ReservedNotZero { offset: 50 }
        );
    }
}

#[test]
fn unknown_section_is_still_bounds_checked() {
    let meta = Bytes::default().str("").str("").u32(0).0;
    let graph = crate::encode::graph(&relu_graph());
    let mut bytes = build_file(
        0,
        &[
            section(METADATA, meta),
            section(GRAPH, graph),
            section(TENSOR_INDEX, Bytes::default().u32(0).0),
            section(9, vec![1, 2, 3]),
        ],
    );
    assert!(PnnFile::parse(&bytes).is_ok());
    put_u64(&mut bytes, entry_at(3) + 16, 4);
    fix_header_crc(&mut bytes);
    let offset = get_u64(&bytes, entry_at(3) + 8);
    assert_eq!(
        parse_err(&bytes),
        FormatError::SectionOutOfBounds {
            kind: SectionKind::Unknown(9),
            offset,
            len: 4
        }
    );
}

#[test]
fn unknown_section_flags() {
    let mut bytes = sample_bytes();
    put_u32(&mut bytes, entry_at(1) + 4, 2);
    fix_header_crc(&mut bytes);
    assert_eq!(
        parse_err(&bytes),
        FormatError::UnknownSectionFlags {
            kind: SectionKind::Graph,
            flags: 2
        }
    );
}

#[test]
fn section_out_of_bounds() {
    let bytes = sample_bytes();
    let (i, offset, len) = find_section(&bytes, GRAPH);
    let at = entry_at(i);
    let cases = [
        (offset as u64, bytes.len() as u64), // past the end
        (10, len as u64),                    // inside the header
        (entry_at(3) as u64, 8),             // inside the table
        (u64::MAX, 2),                       // offset + len overflows
    ];
    for (bad_offset, bad_len) in cases {
        let mut bytes = bytes.clone();
        put_u64(&mut bytes, at + 8, bad_offset);
        put_u64(&mut bytes, at + 16, bad_len);
        fix_header_crc(&mut bytes);
        assert_eq!(
            parse_err(&bytes),
            FormatError::SectionOutOfBounds {
                kind: SectionKind::Graph,
                offset: bad_offset,
                len: bad_len
            }
        );
    }
}

#[test]
fn sections_overlap() {
    let mut bytes = sample_bytes();
    let (_, meta_offset, _) = find_section(&bytes, METADATA);
    let (i, _, _) = find_section(&bytes, GRAPH);
    put_u64(&mut bytes, entry_at(i) + 8, meta_offset as u64 + 1);
    fix_checksums(&mut bytes);
    assert_eq!(
        parse_err(&bytes),
        FormatError::SectionsOverlap {
            first: SectionKind::Metadata,
            second: SectionKind::Graph,
            offset: meta_offset as u64 + 1
        }
    );
}

#[test]
fn missing_and_duplicate_sections() {
    let bytes = sample_bytes();
    for (kind, code) in [
        (SectionKind::Metadata, METADATA),
        (SectionKind::Graph, GRAPH),
        (SectionKind::TensorIndex, TENSOR_INDEX),
    ] {
        let mut missing = bytes.clone();
        let (i, _, _) = find_section(&missing, code);
        put_u32(&mut missing, entry_at(i), 1000);
        fix_header_crc(&mut missing);
        assert_eq!(parse_err(&missing), FormatError::MissingSection { kind });
    }
    for (kind, code) in [
        (SectionKind::Graph, GRAPH),
        (SectionKind::TensorData, TENSOR_DATA),
    ] {
        let mut duplicate = bytes.clone();
        let (i, _, _) = find_section(&duplicate, TENSOR_INDEX);
        put_u32(&mut duplicate, entry_at(i), code);
        fix_header_crc(&mut duplicate);
        let expected = if code == GRAPH {
            FormatError::DuplicateSection { kind }
        } else {
            // TENSOR_INDEX is checked (and missing) before TENSOR_DATA.
            FormatError::MissingSection {
                kind: SectionKind::TensorIndex,
            }
        };
        assert_eq!(parse_err(&duplicate), expected);
    }
}

#[test]
fn duplicate_tensor_data() {
    let meta = Bytes::default().str("").str("").u32(0).0;
    let bytes = build_file(
        0,
        &[
            section(METADATA, meta),
            section(GRAPH, crate::encode::graph(&relu_graph())),
            section(TENSOR_INDEX, Bytes::default().u32(0).0),
            section(TENSOR_DATA, vec![]),
            section(TENSOR_DATA, vec![1]),
        ],
    );
    assert_eq!(
        parse_err(&bytes),
        FormatError::DuplicateSection {
            kind: SectionKind::TensorData
        }
    );
}

#[test]
fn misaligned_tensor_data_section() {
    let mut bytes = sample_bytes();
    let (i, offset, len) = find_section(&bytes, TENSOR_DATA);
    put_u64(&mut bytes, entry_at(i) + 8, offset as u64 + 8);
    put_u64(&mut bytes, entry_at(i) + 16, len as u64 - 8);
    fix_checksums(&mut bytes);
    assert_eq!(
        parse_err(&bytes),
        FormatError::MisalignedSection {
            kind: SectionKind::TensorData,
            offset: offset as u64 + 8
        }
    );
}

#[test]
fn section_checksums() {
    let bytes = sample_bytes();
    for (kind, code) in [
        (SectionKind::Metadata, METADATA),
        (SectionKind::Graph, GRAPH),
        (SectionKind::TensorIndex, TENSOR_INDEX),
        (SectionKind::TensorData, TENSOR_DATA),
    ] {
        let mut corrupt = bytes.clone();
        let (i, offset, len) = find_section(&corrupt, code);
        corrupt[offset + len - 1] ^= 0x40;
        match parse_err(&corrupt) {
            FormatError::SectionChecksum {
                kind: k,
                stored,
                computed,
            } => {
                assert_eq!(k, kind);
                assert_eq!(stored, get_u32(&corrupt, entry_at(i) + 24));
                assert_eq!(computed, crc32fast::hash(&corrupt[offset..offset + len]));
            }
            e => panic!("{kind}: {e}"),
        }
    }
}

#[test]
fn data_checksum_can_be_skipped() {
    let mut bytes = sample_bytes();
    let (_, offset, _) = find_section(&bytes, TENSOR_DATA);
    bytes[offset] ^= 0xFF; // first byte of tensor 0
    assert!(matches!(
        parse_err(&bytes),
        FormatError::SectionChecksum { .. }
    ));
    let options = ReadOptions {
        verify_data_checksum: false,
        ..ReadOptions::default()
    };
    let file = PnnFile::parse_with(&bytes, &options).unwrap();
    assert_eq!(
        file.tensor_data(0).unwrap()[0],
        1.0f32.to_le_bytes()[0] ^ 0xFF
    );
    // Other sections are still verified.
    let (_, graph_offset, _) = find_section(&bytes, GRAPH);
    bytes[graph_offset] ^= 1;
    assert!(matches!(
        PnnFile::parse_with(&bytes, &options),
        Err(FormatError::SectionChecksum {
            kind: SectionKind::Graph,
            ..
        })
    ));
}

#[test]
fn too_many_sections() {
    let bytes = sample_bytes();
    let options = ReadOptions {
        limits: Limits {
            max_sections: 3,
            ..Limits::default()
        },
        ..ReadOptions::default()
    };
    assert_eq!(
        PnnFile::parse_with(&bytes, &options).unwrap_err(),
        FormatError::LimitExceeded {
            what: "sections",
            found: 4,
            limit: 3
        }
    );
    let mut huge = bytes.clone();
    put_u32(&mut huge, 24, u32::MAX);
    fix_header_crc(&mut huge);
    assert!(matches!(
        parse_err(&huge),
        FormatError::LimitExceeded {
            what: "sections",
            ..
        }
    ));
}
