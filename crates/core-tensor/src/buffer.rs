//! 64-byte aligned, growable byte buffers for activations and scratch space.

use bytemuck::{Pod, Zeroable};

/// The alignment of every buffer, matching the `.pnn` tensor alignment.
pub const BUFFER_ALIGN: usize = 64;

/// One cache line; buffers are vectors of these so their start is aligned.
#[derive(Clone, Copy, Pod, Zeroable)]
#[repr(C, align(64))]
struct CacheLine([u8; BUFFER_ALIGN]);

/// A heap buffer whose start is aligned to [`BUFFER_ALIGN`] bytes.
///
/// Its contents are always initialised (zeroed when it grows), so any byte
/// view of it is sound. Growing keeps the existing bytes.
#[derive(Clone, Default)]
pub struct AlignedBuf {
    lines: Vec<CacheLine>,
    len: usize,
}

impl AlignedBuf {
    /// An empty buffer; no allocation.
    pub fn new() -> AlignedBuf {
        AlignedBuf::default()
    }

    /// A zeroed buffer of `len` bytes.
    pub fn zeroed(len: usize) -> AlignedBuf {
        let mut buf = AlignedBuf::new();
        buf.resize(len);
        buf
    }

    /// A buffer holding a copy of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> AlignedBuf {
        let mut buf = AlignedBuf::zeroed(bytes.len());
        buf.as_bytes_mut().copy_from_slice(bytes);
        buf
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the buffer holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the buffer can hold without reallocating.
    pub fn capacity(&self) -> usize {
        self.lines.capacity() * BUFFER_ALIGN
    }

    /// Sets the length to `len` bytes. New bytes are zero; the allocation only
    /// grows, so shrinking and growing back never reallocates.
    pub fn resize(&mut self, len: usize) {
        let lines = len.div_ceil(BUFFER_ALIGN);
        if lines > self.lines.len() {
            self.lines.resize(lines, CacheLine([0; BUFFER_ALIGN]));
        }
        self.len = len;
    }

    /// Makes sure `len` bytes fit, without changing the length.
    pub fn reserve_total(&mut self, len: usize) {
        let lines = len.div_ceil(BUFFER_ALIGN);
        if lines > self.lines.len() {
            self.lines.resize(lines, CacheLine([0; BUFFER_ALIGN]));
        }
    }

    /// Like [`AlignedBuf::resize`], but allocates exactly what `len` needs
    /// and reports an allocation failure instead of aborting.
    pub fn try_resize(&mut self, len: usize) -> Result<(), std::collections::TryReserveError> {
        self.try_reserve_total(len)?;
        self.len = len;
        Ok(())
    }

    /// Like [`AlignedBuf::reserve_total`], but allocates exactly what `len`
    /// needs and reports an allocation failure instead of aborting.
    pub fn try_reserve_total(
        &mut self,
        len: usize,
    ) -> Result<(), std::collections::TryReserveError> {
        let lines = len.div_ceil(BUFFER_ALIGN);
        if lines > self.lines.len() {
            self.lines.try_reserve_exact(lines - self.lines.len())?;
            self.lines.resize(lines, CacheLine([0; BUFFER_ALIGN]));
        }
        Ok(())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<CacheLine, u8>(&self.lines)[..self.len]
    }

    /// The bytes, mutably.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut::<CacheLine, u8>(&mut self.lines)[..self.len]
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_zeroed_and_keeps_bytes_when_growing() {
        let mut b = AlignedBuf::from_bytes(&[1, 2, 3]);
        assert_eq!(b.as_bytes().as_ptr() as usize % BUFFER_ALIGN, 0);
        b.resize(200);
        assert_eq!(&b.as_bytes()[..4], &[1, 2, 3, 0]);
        assert!(b.as_bytes()[3..].iter().all(|&x| x == 0));
        b.resize(1);
        assert_eq!(b.as_bytes(), &[1]);
        assert!(b.capacity() >= 200);
    }

    #[test]
    fn try_resize_allocates_exactly_and_reports_failure() {
        let mut b = AlignedBuf::from_bytes(&[7; 10]);
        b.try_resize(1000).unwrap();
        assert_eq!(b.len(), 1000);
        assert_eq!(b.capacity(), 1024); // 16 lines of 64, no doubling
        assert_eq!(&b.as_bytes()[..11], &[7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0]);
        assert!(b.try_resize(usize::MAX).is_err());
        assert_eq!(b.len(), 1000, "a failed resize changes nothing");
        b.try_reserve_total(2000).unwrap();
        assert_eq!((b.len(), b.capacity()), (1000, 2048));
    }

    #[test]
    fn empty_buffer_views_are_empty() {
        let mut b = AlignedBuf::new();
        assert!(b.is_empty());
        assert!(b.as_bytes().is_empty());
        assert!(b.as_bytes_mut().is_empty());
    }
}
