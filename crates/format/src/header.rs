//! The fixed 64-byte header and the section table.

use crate::{FormatError, Limits, TENSOR_ALIGN};

/// The first eight bytes of every `.pnn` file.
pub const MAGIC: [u8; 8] = *b"POCKETNN";
/// The major version this crate reads and writes.
pub const VERSION_MAJOR: u16 = 1;
/// The newest minor version this crate knows (it reads any minor of major
/// 1). It writes the lowest minor, 1 or more, that has every operator the
/// file uses, so that a file readable by an older reader stays so.
pub const VERSION_MINOR: u16 = 2;
/// Size of the fixed header in bytes.
pub const HEADER_LEN: usize = 64;
/// Size of one section-table entry in bytes.
pub const SECTION_ENTRY_LEN: usize = 32;

/// Offset of `header_crc` inside the header.
pub(crate) const HEADER_CRC_OFFSET: usize = 28;

/// The kind of a section, as stored in the section table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SectionKind {
    /// Model name, producer and properties (code 1).
    Metadata,
    /// Values, graph inputs and bodies (code 2).
    Graph,
    /// One entry per constant tensor (code 3).
    TensorIndex,
    /// The tensor bytes (code 4).
    TensorData,
    /// A kind this reader does not know; such sections are skipped.
    Unknown(u32),
}

impl SectionKind {
    /// The kind with this code.
    pub fn from_code(code: u32) -> SectionKind {
        match code {
            1 => SectionKind::Metadata,
            2 => SectionKind::Graph,
            3 => SectionKind::TensorIndex,
            4 => SectionKind::TensorData,
            other => SectionKind::Unknown(other),
        }
    }

    /// The code stored in the section table.
    pub fn code(self) -> u32 {
        match self {
            SectionKind::Metadata => 1,
            SectionKind::Graph => 2,
            SectionKind::TensorIndex => 3,
            SectionKind::TensorData => 4,
            SectionKind::Unknown(code) => code,
        }
    }
}

impl std::fmt::Display for SectionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SectionKind::Metadata => f.write_str("METADATA"),
            SectionKind::Graph => f.write_str("GRAPH"),
            SectionKind::TensorIndex => f.write_str("TENSOR_INDEX"),
            SectionKind::TensorData => f.write_str("TENSOR_DATA"),
            SectionKind::Unknown(code) => write!(f, "unknown({code})"),
        }
    }
}

/// One entry of the section table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SectionEntry {
    /// What the section holds.
    pub kind: SectionKind,
    /// Absolute offset of its first byte.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
    /// CRC-32 (ISO-HDLC) of its bytes.
    pub crc32: u32,
}

impl SectionEntry {
    /// The entry's bytes as a range of the file (checked by the reader to fit).
    pub(crate) fn range(&self) -> Option<std::ops::Range<usize>> {
        let start = usize::try_from(self.offset).ok()?;
        let end = start.checked_add(usize::try_from(self.len).ok()?)?;
        Some(start..end)
    }
}

/// Reads fixed-size little-endian fields from a slice whose length was checked.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        match self.0.split_first_chunk::<N>() {
            Some((head, rest)) => {
                self.0 = rest;
                *head
            }
            // Unreachable: callers check the length first. Zeros keep it panic-free.
            None => [0; N],
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
}

/// The checked header and section table of a file.
pub(crate) struct FileLayout {
    pub(crate) version: (u16, u16),
    pub(crate) sections: Vec<SectionEntry>,
}

/// Parses and checks the header and the section table: everything about the
/// file's layout, but not the section contents or their checksums.
pub(crate) fn parse_layout(bytes: &[u8], limits: &Limits) -> Result<FileLayout, FormatError> {
    let actual_len = bytes.len() as u64;
    let too_short = |needed: usize| FormatError::TooShort {
        len: actual_len,
        needed: needed as u64,
    };
    let header = bytes
        .get(..HEADER_LEN)
        .ok_or_else(|| too_short(HEADER_LEN))?;
    let mut fields = Fields(header);
    let magic: [u8; 8] = fields.take();
    if magic != MAGIC {
        return Err(FormatError::BadMagic { found: magic });
    }
    let major = fields.u16();
    let minor = fields.u16();
    if major != VERSION_MAJOR {
        return Err(FormatError::UnsupportedVersion { major, minor });
    }
    let flags = fields.u32();
    let declared = fields.u64();
    if declared != actual_len {
        return Err(FormatError::FileLenMismatch {
            declared,
            actual: actual_len,
        });
    }
    let section_count = fields.u32();
    let stored_crc = fields.u32();
    if section_count > limits.max_sections {
        return Err(FormatError::LimitExceeded {
            what: "sections",
            found: u64::from(section_count),
            limit: u64::from(limits.max_sections),
        });
    }
    // section_count <= max_sections (u32), so this cannot overflow usize on 64-bit;
    // checked anyway for 32-bit targets.
    let table_end = (section_count as usize)
        .checked_mul(SECTION_ENTRY_LEN)
        .and_then(|t| t.checked_add(HEADER_LEN))
        .ok_or_else(|| too_short(usize::MAX))?;
    let table = bytes
        .get(HEADER_LEN..table_end)
        .ok_or_else(|| too_short(table_end))?;

    let computed = header_crc(header, table);
    if computed != stored_crc {
        return Err(FormatError::HeaderChecksum {
            stored: stored_crc,
            computed,
        });
    }
    if flags != 0 {
        return Err(FormatError::UnknownFlags { flags });
    }
    // Reserved bytes are zero in every minor this reader knows; a newer
    // minor may have given them a meaning, so they are ignored there.
    let strict_reserved = minor <= VERSION_MINOR;
    if strict_reserved {
        check_zero(header, 32..HEADER_LEN)?;
    }

    let mut sections = Vec::with_capacity(section_count as usize);
    for (i, entry) in table.chunks_exact(SECTION_ENTRY_LEN).enumerate() {
        let entry_offset = HEADER_LEN + i * SECTION_ENTRY_LEN;
        let mut fields = Fields(entry);
        let kind = SectionKind::from_code(fields.u32());
        let flags = fields.u32();
        let offset = fields.u64();
        let len = fields.u64();
        let crc32 = fields.u32();
        if flags != 0 {
            return Err(FormatError::UnknownSectionFlags { kind, flags });
        }
        if strict_reserved {
            check_zero(bytes, entry_offset + 28..entry_offset + 32)?;
        }
        let end = offset.checked_add(len);
        if offset < table_end as u64 || end.is_none_or(|end| end > actual_len) {
            return Err(FormatError::SectionOutOfBounds { kind, offset, len });
        }
        sections.push(SectionEntry {
            kind,
            offset,
            len,
            crc32,
        });
    }
    check_overlaps(&sections)?;
    check_required(&sections)?;
    Ok(FileLayout {
        version: (major, minor),
        sections,
    })
}

/// CRC-32 of the header with its CRC field zeroed, followed by the table.
pub(crate) fn header_crc(header: &[u8], table: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    let crc_end = HEADER_CRC_OFFSET + 4;
    hasher.update(header.get(..HEADER_CRC_OFFSET).unwrap_or(&[]));
    hasher.update(&[0; 4]);
    hasher.update(header.get(crc_end..).unwrap_or(&[]));
    hasher.update(table);
    hasher.finalize()
}

fn check_zero(bytes: &[u8], range: std::ops::Range<usize>) -> Result<(), FormatError> {
    let start = range.start;
    let slice = bytes.get(range).unwrap_or(&[]);
    match slice.iter().position(|&b| b != 0) {
        None => Ok(()),
        Some(i) => Err(FormatError::ReservedNotZero {
            offset: (start + i) as u64,
        }),
    }
}

/// Non-empty sections must not share bytes (empty ones occupy none).
fn check_overlaps(sections: &[SectionEntry]) -> Result<(), FormatError> {
    let mut by_offset: Vec<&SectionEntry> = sections.iter().filter(|s| s.len > 0).collect();
    by_offset.sort_by_key(|s| s.offset);
    for pair in by_offset.windows(2) {
        if let [first, second] = pair {
            // Bounds were checked, so offset + len does not overflow.
            if first.offset.saturating_add(first.len) > second.offset {
                return Err(FormatError::SectionsOverlap {
                    first: first.kind,
                    second: second.kind,
                    offset: second.offset,
                });
            }
        }
    }
    Ok(())
}

/// METADATA, GRAPH and TENSOR_INDEX exactly once; TENSOR_DATA at most once
/// and 64-byte aligned.
fn check_required(sections: &[SectionEntry]) -> Result<(), FormatError> {
    for kind in [
        SectionKind::Metadata,
        SectionKind::Graph,
        SectionKind::TensorIndex,
        SectionKind::TensorData,
    ] {
        let mut of_kind = sections.iter().filter(|s| s.kind == kind);
        let first = of_kind.next();
        if of_kind.next().is_some() {
            return Err(FormatError::DuplicateSection { kind });
        }
        match first {
            None if kind != SectionKind::TensorData => {
                return Err(FormatError::MissingSection { kind });
            }
            Some(s) if kind == SectionKind::TensorData && s.offset % TENSOR_ALIGN as u64 != 0 => {
                return Err(FormatError::MisalignedSection {
                    kind,
                    offset: s.offset,
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// The header (of format version `1.minor`) followed by the section
/// table, with the header CRC filled in.
pub(crate) fn encode_header_and_table(
    minor: u16,
    file_len: u64,
    sections: &[SectionEntry],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + sections.len() * SECTION_ENTRY_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION_MAJOR.to_le_bytes());
    out.extend_from_slice(&minor.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // flags
    out.extend_from_slice(&file_len.to_le_bytes());
    out.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // header_crc, filled below
    out.resize(HEADER_LEN, 0); // reserved
    for s in sections {
        out.extend_from_slice(&s.kind.code().to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // flags
        out.extend_from_slice(&s.offset.to_le_bytes());
        out.extend_from_slice(&s.len.to_le_bytes());
        out.extend_from_slice(&s.crc32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // reserved
    }
    let (header, table) = out.split_at(HEADER_LEN);
    let crc = header_crc(header, table);
    if let Some(field) = out.get_mut(HEADER_CRC_OFFSET..HEADER_CRC_OFFSET + 4) {
        field.copy_from_slice(&crc.to_le_bytes());
    }
    out
}
