//! The errors the reader and the writer report.

use crate::{BodyId, SectionKind, TensorId, ValueId};

/// Where in the graph a reference or definition appears, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GraphSite {
    /// The graph's input list ([`crate::GraphDef::inputs`]).
    GraphInputs,
    /// A node.
    Node {
        /// The body holding the node.
        body: BodyId,
        /// The node's index in its body.
        node: u32,
        /// The node's name (may be empty).
        name: String,
    },
    /// A body's output list.
    BodyOutputs {
        /// The body.
        body: BodyId,
    },
}

impl std::fmt::Display for GraphSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GraphSite::GraphInputs => f.write_str("graph inputs"),
            GraphSite::Node { body, node, name } => {
                write!(f, "node {node} {name:?} of body {body}")
            }
            GraphSite::BodyOutputs { body } => write!(f, "outputs of body {body}"),
        }
    }
}

/// Why a `.pnn` file (or a model about to be written) is invalid.
///
/// Offsets are absolute byte offsets in the file. Every rule of
/// `docs/format.md` that the reader enforces has its own variant.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    // ----- header and section table
    /// The buffer cannot even hold the header and the section table.
    #[error("file is {len} bytes, shorter than the {needed} bytes of header and section table")]
    TooShort {
        /// Buffer length.
        len: u64,
        /// Bytes the header (and table) need.
        needed: u64,
    },
    /// The first 8 bytes are not `POCKETNN`.
    #[error("not a .pnn file: magic is {found:?}")]
    BadMagic {
        /// The bytes found.
        found: [u8; 8],
    },
    /// The major version is not one this reader knows.
    #[error("unsupported .pnn version {major}.{minor}")]
    UnsupportedVersion {
        /// Major version in the file.
        major: u16,
        /// Minor version in the file.
        minor: u16,
    },
    /// Header flags this reader does not know are set.
    #[error("unknown header flags {flags:#x}")]
    UnknownFlags {
        /// The flags field.
        flags: u32,
    },
    /// A section-table entry has flags set (none are defined).
    #[error("section {kind}: unknown flags {flags:#x}")]
    UnknownSectionFlags {
        /// The section.
        kind: SectionKind,
        /// The flags field.
        flags: u32,
    },
    /// `file_len` in the header differs from the buffer length (truncated or padded file).
    #[error("header says the file is {declared} bytes but it is {actual} bytes")]
    FileLenMismatch {
        /// Length declared in the header.
        declared: u64,
        /// Actual buffer length.
        actual: u64,
    },
    /// The header checksum does not match.
    #[error("header checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    HeaderChecksum {
        /// CRC stored in the header.
        stored: u32,
        /// CRC of the bytes.
        computed: u32,
    },
    /// A reserved byte of the header or a section entry is not zero in a file
    /// whose minor version this reader knows.
    #[error("reserved byte at offset {offset} is not zero")]
    ReservedNotZero {
        /// Offset of the byte.
        offset: u64,
    },
    /// A section does not lie between the end of the section table and the end of the file.
    #[error("section {kind} at offset {offset} with length {len} lies outside the file body")]
    SectionOutOfBounds {
        /// The section.
        kind: SectionKind,
        /// Its offset.
        offset: u64,
        /// Its length.
        len: u64,
    },
    /// Two sections share bytes.
    #[error("sections {first} and {second} overlap at offset {offset}")]
    SectionsOverlap {
        /// The section that starts first.
        first: SectionKind,
        /// The section that starts inside it.
        second: SectionKind,
        /// Where the second one starts.
        offset: u64,
    },
    /// A required section is absent.
    #[error("missing section {kind}")]
    MissingSection {
        /// The section.
        kind: SectionKind,
    },
    /// A known section appears more than once.
    #[error("section {kind} appears more than once")]
    DuplicateSection {
        /// The section.
        kind: SectionKind,
    },
    /// The tensor-data section does not start on a 64-byte boundary.
    #[error("section {kind} at offset {offset} is not 64-byte aligned")]
    MisalignedSection {
        /// The section.
        kind: SectionKind,
        /// Its offset.
        offset: u64,
    },
    /// A section's bytes do not match its checksum.
    #[error("section {kind}: checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    SectionChecksum {
        /// The section.
        kind: SectionKind,
        /// CRC in the section table.
        stored: u32,
        /// CRC of the bytes.
        computed: u32,
    },

    // ----- section contents
    /// A structure runs past the end of its section (or a count promises more
    /// items than the remaining bytes can hold).
    #[error("section {section}: unexpected end of data at offset {offset}")]
    UnexpectedEnd {
        /// The section being decoded.
        section: SectionKind,
        /// Where the missing bytes were expected.
        offset: u64,
    },
    /// A section has bytes left over after its contents.
    #[error("section {section}: {count} trailing bytes at offset {offset}")]
    TrailingBytes {
        /// The section.
        section: SectionKind,
        /// Where its contents end.
        offset: u64,
        /// How many bytes follow.
        count: u64,
    },
    /// A string is not valid UTF-8.
    #[error("section {section}: invalid UTF-8 in the string at offset {offset}")]
    InvalidUtf8 {
        /// The section.
        section: SectionKind,
        /// Offset of the string's length prefix.
        offset: u64,
    },
    /// A presence tag or a dimension tag has a value other than the defined ones.
    #[error("section {section}: invalid {what} tag {tag} at offset {offset}")]
    InvalidTag {
        /// The section.
        section: SectionKind,
        /// Offset of the tag.
        offset: u64,
        /// Which kind of tag (`"option"`, `"dim"`).
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// A dtype code that is not a [`crate::DType`].
    #[error("section {section}: unknown dtype code {code} at offset {offset}")]
    UnknownDType {
        /// The section.
        section: SectionKind,
        /// Offset of the code.
        offset: u64,
        /// The code found.
        code: u8,
    },
    /// An operator code that is not an [`crate::OpCode`].
    #[error("section {section}: unknown op code {code} at offset {offset}")]
    UnknownOp {
        /// The section.
        section: SectionKind,
        /// Offset of the code.
        offset: u64,
        /// The code found.
        code: u16,
    },
    /// A layout code that is not a [`crate::Layout`].
    #[error("section {section}: unknown layout code {code} at offset {offset}")]
    UnknownLayout {
        /// The section.
        section: SectionKind,
        /// Offset of the code.
        offset: u64,
        /// The code found.
        code: u16,
    },
    /// An attribute type tag that is not defined.
    #[error("section {section}: unknown attribute tag {tag} at offset {offset}")]
    UnknownAttributeTag {
        /// The section.
        section: SectionKind,
        /// Offset of the tag.
        offset: u64,
        /// The tag found.
        tag: u8,
    },
    /// A count or size exceeds a [`crate::Limits`] bound.
    #[error("too many {what}: {found} > limit {limit}")]
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// The count found.
        found: u64,
        /// The limit.
        limit: u64,
    },

    // ----- metadata
    /// Two metadata properties have the same key.
    #[error("duplicate metadata property key {key:?}")]
    DuplicatePropertyKey {
        /// The key.
        key: String,
    },
    /// Metadata property keys are not in ascending byte order.
    #[error("metadata property key {key:?} is out of order")]
    UnsortedPropertyKeys {
        /// The first key that is smaller than its predecessor.
        key: String,
    },

    // ----- tensors
    /// The byte size of a tensor's shape overflows `u64`.
    #[error("tensor {tensor} {name:?}: shape size overflows")]
    ShapeOverflow {
        /// Tensor index.
        tensor: TensorId,
        /// Tensor name.
        name: String,
    },
    /// A tensor's offset is not a multiple of [`crate::TENSOR_ALIGN`].
    #[error("tensor {tensor} {name:?}: offset {offset} is not 64-byte aligned")]
    TensorMisaligned {
        /// Tensor index.
        tensor: TensorId,
        /// Tensor name.
        name: String,
        /// Its offset in the tensor-data section.
        offset: u64,
    },
    /// A tensor's bytes do not lie within the tensor-data section.
    #[error(
        "tensor {tensor} {name:?}: bytes {offset}+{len} exceed the {data_len}-byte data section"
    )]
    TensorOutOfBounds {
        /// Tensor index.
        tensor: TensorId,
        /// Tensor name.
        name: String,
        /// Its offset in the tensor-data section.
        offset: u64,
        /// Its length.
        len: u64,
        /// Length of the tensor-data section (0 if absent).
        data_len: u64,
    },
    /// Two tensors share bytes.
    #[error("tensors {first} and {second} overlap")]
    TensorsOverlap {
        /// The tensor that starts first.
        first: TensorId,
        /// The tensor that starts inside it.
        second: TensorId,
    },
    /// A tensor's length is not what its dtype and shape require.
    #[error("tensor {tensor} {name:?}: length {found}, expected {expected}")]
    TensorLengthMismatch {
        /// Tensor index.
        tensor: TensorId,
        /// Tensor name.
        name: String,
        /// Bytes the dtype and shape require.
        expected: u64,
        /// Bytes given.
        found: u64,
    },
    /// Quantization scales and zero points differ in number, or there are none.
    #[error("tensor {tensor} {name:?}: {scales} scales but {zero_points} zero points")]
    QuantCountMismatch {
        /// Tensor index.
        tensor: TensorId,
        /// Tensor name.
        name: String,
        /// Number of scales.
        scales: u64,
        /// Number of zero points.
        zero_points: u64,
    },
    /// The quantization axis is not below the tensor's rank.
    #[error("tensor {tensor} {name:?}: quantization axis {axis} but rank {rank}")]
    QuantAxisOutOfRange {
        /// Tensor index.
        tensor: TensorId,
        /// Tensor name.
        name: String,
        /// The axis.
        axis: u32,
        /// The tensor's rank.
        rank: u64,
    },
    /// The number of quantization parameters is neither 1 nor the size of the axis.
    #[error("tensor {tensor} {name:?}: {count} quantization parameters for axis size {dim:?}")]
    QuantChannelMismatch {
        /// Tensor index.
        tensor: TensorId,
        /// Tensor name.
        name: String,
        /// Number of scales.
        count: u64,
        /// Size of the quantization axis (`None` for per-tensor parameters).
        dim: Option<u64>,
    },

    // ----- graph
    /// The graph has no body 0 (main graph).
    #[error("the graph has no main body")]
    MissingMainBody,
    /// A value id is not below the number of values.
    #[error("{site}: value {value} out of range ({count} values)")]
    ValueOutOfRange {
        /// Where the reference appears.
        site: GraphSite,
        /// The id.
        value: ValueId,
        /// Number of values.
        count: u64,
    },
    /// A value's constant tensor id is not below the number of tensors.
    #[error("value {value}: tensor {tensor} out of range ({count} tensors)")]
    TensorOutOfRange {
        /// The value.
        value: ValueId,
        /// The tensor id.
        tensor: TensorId,
        /// Number of tensors.
        count: u64,
    },
    /// A body id in an attribute is not below the number of bodies.
    #[error("{site}: body {body} out of range ({count} bodies)")]
    BodyOutOfRange {
        /// The node with the attribute.
        site: GraphSite,
        /// The id.
        body: BodyId,
        /// Number of bodies.
        count: u64,
    },
    /// An attribute references body 0, the main graph.
    #[error("{site}: references the main body")]
    MainBodyReferenced {
        /// The node with the attribute.
        site: GraphSite,
    },
    /// A body is referenced by more than one attribute.
    #[error("{site}: body {body} is already referenced by another attribute")]
    BodyReferencedTwice {
        /// The body.
        body: BodyId,
        /// The second reference.
        site: GraphSite,
    },
    /// A body other than 0 is referenced by no attribute.
    #[error("body {body} is not referenced by any attribute")]
    BodyUnreferenced {
        /// The body.
        body: BodyId,
    },
    /// A body is (indirectly) referenced from inside itself.
    #[error("body {body} is part of a reference cycle")]
    BodyCycle {
        /// A body on the cycle.
        body: BodyId,
    },
    /// A value is defined more than once (as graph input, constant or node output).
    #[error("value {value} {name:?} is defined more than once")]
    ValueDefinedTwice {
        /// The value.
        value: ValueId,
        /// Its name.
        name: String,
    },
    /// A value is read where it is not (yet) defined.
    #[error("{site}: value {value} {name:?} is used before it is defined")]
    UseBeforeDefinition {
        /// Where it is read.
        site: GraphSite,
        /// The value.
        value: ValueId,
        /// Its name.
        name: String,
    },
    /// A node has two attributes with the same name.
    #[error("{site}: duplicate attribute {name:?}")]
    DuplicateAttribute {
        /// The node.
        site: GraphSite,
        /// The attribute name.
        name: String,
    },
    /// Two values have the same name.
    #[error("values {first} and {second} are both named {name:?}")]
    DuplicateValueName {
        /// The name.
        name: String,
        /// The first value with it.
        first: ValueId,
        /// The second value with it.
        second: ValueId,
    },
}

/// Why [`crate::PnnWriter::write_to`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The model is invalid; nothing was written.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The sink failed; part of the file may have been written.
    #[error("writing the .pnn file failed: {0}")]
    Io(#[from] std::io::Error),
}
