//! Little-endian primitives: a bounds-checked cursor for reading a section and
//! a growable buffer for writing one.

use crate::{FormatError, SectionKind};

/// A cursor over one section's bytes. Every read is bounds-checked and
/// reports the absolute file offset on failure.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Absolute file offset of `bytes[0]`.
    base: u64,
    section: SectionKind,
}

impl<'a> Reader<'a> {
    /// A cursor over `bytes`, which start at file offset `base`.
    pub(crate) fn new(bytes: &'a [u8], base: u64, section: SectionKind) -> Self {
        Reader {
            bytes,
            pos: 0,
            base,
            section,
        }
    }

    /// The section being read.
    pub(crate) fn section(&self) -> SectionKind {
        self.section
    }

    /// Absolute file offset of the next byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base.saturating_add(self.pos as u64)
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn unexpected_end(&self) -> FormatError {
        FormatError::UnexpectedEnd {
            section: self.section,
            offset: self.offset(),
        }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| self.unexpected_end())?;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| self.unexpected_end())?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FormatError> {
        let rest = self.bytes.get(self.pos..).unwrap_or(&[]);
        let (head, _) = rest
            .split_first_chunk::<N>()
            .ok_or_else(|| self.unexpected_end())?;
        self.pos += N;
        Ok(*head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, FormatError> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, FormatError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn i32(&mut self) -> Result<i32, FormatError> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, FormatError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    pub(crate) fn f32(&mut self) -> Result<f32, FormatError> {
        Ok(f32::from_le_bytes(self.array()?))
    }

    /// A `u8` presence tag: `false` for 0, `true` for 1.
    pub(crate) fn presence(&mut self) -> Result<bool, FormatError> {
        let offset = self.offset();
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(FormatError::InvalidTag {
                section: self.section,
                offset,
                what: "option",
                tag,
            }),
        }
    }

    /// A `u32` list count. The count must not exceed `limit`, and `count *
    /// min_item_len` must fit in the remaining bytes, so that a crafted count
    /// cannot make the caller allocate more than the file holds.
    pub(crate) fn count(
        &mut self,
        what: &'static str,
        limit: usize,
        min_item_len: usize,
    ) -> Result<usize, FormatError> {
        let offset = self.offset();
        let found = self.u32()?;
        let count = usize::try_from(found).unwrap_or(usize::MAX);
        check_limit(what, count, limit)?;
        let needed = count.checked_mul(min_item_len);
        if needed.is_none_or(|needed| needed > self.remaining()) {
            return Err(FormatError::UnexpectedEnd {
                section: self.section,
                offset,
            });
        }
        Ok(count)
    }

    /// A `u32`-length-prefixed UTF-8 string of at most `limit` bytes.
    pub(crate) fn string(&mut self, limit: usize) -> Result<String, FormatError> {
        let offset = self.offset();
        let len = self.count("string bytes", limit, 1)?;
        let bytes = self.take(len)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(FormatError::InvalidUtf8 {
                section: self.section,
                offset,
            }),
        }
    }

    /// Succeeds if every byte was read.
    pub(crate) fn finish(self) -> Result<(), FormatError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(FormatError::TrailingBytes {
                section: self.section,
                offset: self.offset(),
                count: count as u64,
            }),
        }
    }
}

/// `Err(LimitExceeded)` unless `found <= limit` and `found` fits a `u32`
/// count that is not the reserved "none" id.
pub(crate) fn check_limit(
    what: &'static str,
    found: usize,
    limit: usize,
) -> Result<(), FormatError> {
    let limit = limit.min(NONE_ID as usize - 1);
    if found > limit {
        return Err(FormatError::LimitExceeded {
            what,
            found: found as u64,
            limit: limit as u64,
        });
    }
    Ok(())
}

/// The `u32` written for "no value" / "no tensor" / "per-tensor axis".
pub(crate) const NONE_ID: u32 = u32::MAX;

/// A little-endian byte buffer for one section. Counts are `u32`; the
/// caller has already checked every count against [`crate::Limits`].
#[derive(Default)]
pub(crate) struct Encoder {
    pub(crate) bytes: Vec<u8>,
}

impl Encoder {
    pub(crate) fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn i32(&mut self, v: i32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn i64(&mut self, v: i64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn f32(&mut self, v: f32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    /// A list count (checked against the limits before encoding, so it fits).
    pub(crate) fn count(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(NONE_ID));
    }

    pub(crate) fn string(&mut self, s: &str) {
        self.count(s.len());
        self.bytes.extend_from_slice(s.as_bytes());
    }

    pub(crate) fn presence(&mut self, present: bool) {
        self.u8(u8::from(present));
    }
}
