//! The `.pnn` file format.
//!
//! A `.pnn` file holds one compressed neural network: a header, a section
//! table, and sections for metadata, the graph, the tensor index and the
//! tensor data. Every tensor's bytes start on a 64-byte boundary and are
//! stored in the layout the kernels read, so a memory-mapped file is used in
//! place. `docs/format.md` is the normative specification; the reader rejects
//! everything it forbids with a typed [`FormatError`].
//!
//! - [`PnnWriter`] lays out a [`GraphDef`], [`Metadata`] and tensor bytes
//!   ([`TensorSpec`] + bytes) as a file, streaming the tensor bytes to any
//!   [`std::io::Write`]. It validates the model exactly as the reader will,
//!   so it never writes a file the reader rejects.
//! - [`PnnFile::parse`] checks a whole buffer (typically a memory map) and
//!   returns the decoded [`ModelDef`] plus zero-copy tensor slices
//!   ([`PnnFile::tensor_data`]). [`ReadOptions`] can skip the tensor-data
//!   checksum, so a large model loads in time proportional to its structure,
//!   and sets the [`Limits`] that bound what a hostile file can make the
//!   reader allocate.
//!
//! This crate depends on no other pocketnn crate and contains no `unsafe`.
//!
//! ```
//! use pocketnn_format::*;
//!
//! // A graph with one input `x` and one output `y = Relu(x)`.
//! let graph = GraphDef {
//!     values: vec![
//!         ValueDef { name: "x".into(), dtype: DType::F32, shape: Some(vec![Dim::Symbolic("N".into()), Dim::Fixed(4)]), constant: None },
//!         ValueDef { name: "y".into(), dtype: DType::F32, shape: None, constant: None },
//!     ],
//!     inputs: vec![0],
//!     bodies: vec![Body {
//!         nodes: vec![NodeDef { name: "relu".into(), op: OpCode::Relu, inputs: vec![Some(0)], outputs: vec![1], attributes: vec![] }],
//!         outputs: vec![1],
//!     }],
//! };
//! let writer = PnnWriter::new(Metadata::default(), graph);
//! let bytes = writer.to_bytes()?;
//! let file = PnnFile::parse(&bytes)?;
//! assert_eq!(file.model().graph.values[1].name, "y");
//! # Ok::<(), FormatError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bytes;
mod decode;
mod dtype;
mod encode;
mod error;
mod header;
mod limits;
mod model;
mod op;
mod reader;
mod validate;
mod writer;

#[cfg(test)]
mod tests;

pub use dtype::DType;
pub use error::{FormatError, GraphSite, WriteError};
pub use header::{
    HEADER_LEN, MAGIC, SECTION_ENTRY_LEN, SectionEntry, SectionKind, VERSION_MAJOR, VERSION_MINOR,
};
pub use limits::{Limits, ReadOptions};
pub use model::*;
pub use op::OpCode;
pub use reader::PnnFile;
pub use writer::{PnnWriter, TensorSpec};

/// Every tensor's bytes start at a multiple of this many bytes from the
/// start of the file (and of the TENSOR_DATA section).
pub const TENSOR_ALIGN: usize = 64;
