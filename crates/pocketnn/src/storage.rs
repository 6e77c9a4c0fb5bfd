//! The bytes of a loaded model: a read-only memory map of the file, or an
//! aligned in-memory copy. Tensor data is used in place from here.

use crate::error::{Error, Result};
use pocketnn_tensor::AlignedBuf;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The alignment tensor data needs in memory (`TENSOR_ALIGN` of the format).
const MODEL_ALIGN: u64 = 64;

/// Backing storage of a model's bytes.
pub(crate) enum Storage {
    /// A private, read-only mapping of a file.
    Mapped(memmap2::Mmap),
    /// An aligned heap copy (for `Model::from_bytes`).
    Owned(AlignedBuf),
}

impl Storage {
    /// Maps the file at `path` read-only.
    pub(crate) fn map(path: &Path) -> Result<Storage> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        // SAFETY: the map is read-only and private. Its contents are
        // validated before use and only ever read as plain bytes (through
        // bytemuck's checked casts), so any contents are sound to read. A
        // process that truncates the file while it is mapped can make later
        // reads fault (SIGBUS); that is the documented contract of
        // memory-mapped models (docs/security.md): do not modify a model file
        // while it is loaded.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Ok(Storage::Mapped(map))
    }

    /// Maps `len` bytes of `file` from byte `offset` read-only (the file may
    /// hold other data around the model, as an Android APK holds an asset).
    ///
    /// Tensor data must be 64-byte aligned in memory; a mapping starts at
    /// `offset % page_size` into its first page, so when `offset` is not a
    /// multiple of 64 the mapped bytes are copied once into aligned memory
    /// and the mapping is dropped.
    pub(crate) fn map_range(file: &File, offset: u64, len: u64) -> Result<Storage> {
        let described = || PathBuf::from(format!("<file range {offset}+{len}>"));
        let io = |source| Error::Io {
            path: described(),
            source,
        };
        let file_len = file.metadata().map_err(io)?.len();
        let end = offset.checked_add(len);
        if end.is_none_or(|end| end > file_len) {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("the range ends past the end of the {file_len}-byte file"),
            )));
        }
        let len = usize::try_from(len).map_err(|_| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the range is larger than the address space",
            ))
        })?;
        // SAFETY: as in `Storage::map`: a private read-only mapping whose
        // bytes are validated before use and only read as plain bytes. The
        // range was checked to lie inside the file, so no page of it lies
        // past the end of the file (which would fault on access), as long
        // as nobody truncates the file while it is loaded (the documented
        // contract, docs/security.md).
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len)
                .map(file)
        }
        .map_err(io)?;
        if offset.is_multiple_of(MODEL_ALIGN) {
            Ok(Storage::Mapped(map))
        } else {
            Ok(Storage::copy(&map))
        }
    }

    /// Copies `bytes` into aligned memory.
    pub(crate) fn copy(bytes: &[u8]) -> Storage {
        Storage::Owned(AlignedBuf::from_bytes(bytes))
    }

    /// The model's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Storage::Mapped(m) => m,
            Storage::Owned(b) => b.as_bytes(),
        }
    }

    /// True when the bytes are a file mapping.
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self, Storage::Mapped(_))
    }
}
