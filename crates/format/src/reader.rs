//! The zero-copy, validating reader.

use crate::bytes::Reader;
use crate::header::{self, SectionEntry, SectionKind};
use crate::{FormatError, ModelDef, ReadOptions, TensorEntry, TensorId, decode, validate};

/// A parsed and fully validated `.pnn` file, borrowing the tensor bytes from
/// the input buffer (typically a memory map).
///
/// Once `parse` succeeds, every id in the model is in range, every tensor's
/// bytes lie inside the buffer with the length its dtype and shape require,
/// and every tensor starts at a multiple of [`crate::TENSOR_ALIGN`] bytes
/// from the start of the buffer.
#[derive(Clone)]
pub struct PnnFile<'a> {
    version: (u16, u16),
    file_len: u64,
    sections: Vec<SectionEntry>,
    model: ModelDef,
    /// The TENSOR_DATA section (empty when absent).
    data: &'a [u8],
    /// Its offset in the buffer.
    data_offset: usize,
}

fn section_bytes<'a>(bytes: &'a [u8], section: &SectionEntry) -> Result<&'a [u8], FormatError> {
    section
        .range()
        .and_then(|range| bytes.get(range))
        .ok_or(FormatError::SectionOutOfBounds {
            kind: section.kind,
            offset: section.offset,
            len: section.len,
        })
}

impl std::fmt::Debug for PnnFile<'_> {
    /// Shows the structure, not the (possibly huge) tensor bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PnnFile")
            .field("version", &self.version)
            .field("file_len", &self.file_len)
            .field("sections", &self.sections)
            .field("model", &self.model)
            .field("data_offset", &self.data_offset)
            .field("data_len", &self.data.len())
            .finish()
    }
}

impl<'a> PnnFile<'a> {
    /// Parses and validates `bytes` with the default [`ReadOptions`].
    pub fn parse(bytes: &'a [u8]) -> Result<PnnFile<'a>, FormatError> {
        PnnFile::parse_with(bytes, &ReadOptions::default())
    }

    /// Parses and validates `bytes`.
    pub fn parse_with(bytes: &'a [u8], options: &ReadOptions) -> Result<PnnFile<'a>, FormatError> {
        let limits = &options.limits;
        let layout = header::parse_layout(bytes, limits)?;
        for section in &layout.sections {
            let verify = match section.kind {
                SectionKind::Unknown(_) => false,
                SectionKind::TensorData => options.verify_data_checksum,
                _ => true,
            };
            if verify {
                let computed = crc32fast::hash(section_bytes(bytes, section)?);
                if computed != section.crc32 {
                    return Err(FormatError::SectionChecksum {
                        kind: section.kind,
                        stored: section.crc32,
                        computed,
                    });
                }
            }
        }
        let find = |kind| layout.sections.iter().find(|s| s.kind == kind);
        let reader = |kind| -> Result<Reader<'a>, FormatError> {
            let section = find(kind).ok_or(FormatError::MissingSection { kind })?;
            Ok(Reader::new(
                section_bytes(bytes, section)?,
                section.offset,
                kind,
            ))
        };
        let metadata = decode::metadata(reader(SectionKind::Metadata)?, limits)?;
        let graph = decode::graph(reader(SectionKind::Graph)?, limits)?;
        let tensors = decode::tensor_index(reader(SectionKind::TensorIndex)?, limits)?;
        let (data, data_offset) = match find(SectionKind::TensorData) {
            Some(section) => (
                section_bytes(bytes, section)?,
                usize::try_from(section.offset).unwrap_or(usize::MAX),
            ),
            None if tensors.is_empty() => (&[][..], 0),
            None => {
                return Err(FormatError::MissingSection {
                    kind: SectionKind::TensorData,
                });
            }
        };
        validate::model(&metadata, &graph, &tensors, data.len() as u64, limits)?;
        Ok(PnnFile {
            version: layout.version,
            file_len: bytes.len() as u64,
            sections: layout.sections,
            model: ModelDef {
                metadata,
                graph,
                tensors,
            },
            data,
            data_offset,
        })
    }

    /// The file's `(major, minor)` version.
    pub fn version(&self) -> (u16, u16) {
        self.version
    }

    /// The file's length in bytes (the buffer's length).
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The section table, in file order of the table.
    pub fn sections(&self) -> &[SectionEntry] {
        &self.sections
    }

    /// The decoded model.
    pub fn model(&self) -> &ModelDef {
        &self.model
    }

    /// The decoded model, dropping the borrow of the buffer.
    pub fn into_model(self) -> ModelDef {
        self.model
    }

    /// The bytes of tensor `id`, borrowed from the input buffer, or `None`
    /// if there is no such tensor.
    pub fn tensor_data(&self, id: TensorId) -> Option<&'a [u8]> {
        let range = self.data_range(self.model.tensors.get(id as usize)?)?;
        self.data.get(range)
    }

    /// Where tensor `id`'s bytes lie in the input buffer (absolute offsets),
    /// for callers that keep the buffer and the model apart. The start is a
    /// multiple of [`crate::TENSOR_ALIGN`].
    pub fn tensor_range(&self, id: TensorId) -> Option<std::ops::Range<usize>> {
        let range = self.data_range(self.model.tensors.get(id as usize)?)?;
        let start = self.data_offset.checked_add(range.start)?;
        let end = self.data_offset.checked_add(range.end)?;
        Some(start..end)
    }

    fn data_range(&self, tensor: &TensorEntry) -> Option<std::ops::Range<usize>> {
        let start = usize::try_from(tensor.offset).ok()?;
        let end = start.checked_add(usize::try_from(tensor.len).ok()?)?;
        Some(start..end)
    }
}
