//! The bytes of a loaded model: a read-only memory map of the file, or an
//! aligned in-memory copy. Tensor data is used in place from here.

use crate::error::{Error, Result};
use pocketnn_tensor::AlignedBuf;
use std::fs::File;
use std::path::Path;

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
