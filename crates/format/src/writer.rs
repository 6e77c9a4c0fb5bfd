//! The writer: lays out a model and its tensor bytes as a `.pnn` file.

use std::borrow::Cow;
use std::convert::Infallible;

use crate::header::{self, HEADER_LEN, SECTION_ENTRY_LEN, SectionEntry, SectionKind};
use crate::limits::check_model_limits;
use crate::validate::{self, row_major_len};
use crate::{
    DType, FormatError, GraphDef, Layout, Limits, Metadata, ModelDef, QuantParams, TENSOR_ALIGN,
    TensorEntry, TensorId, WriteError, encode,
};

/// Describes a tensor to add to a file; the writer chooses where its bytes go.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorSpec {
    /// Tensor name.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Logical shape.
    pub shape: Vec<u64>,
    /// Byte layout.
    pub layout: Layout,
    /// Quantization parameters, for quantized tensors.
    pub quant: Option<QuantParams>,
}

impl TensorSpec {
    /// A row-major, unquantized tensor.
    pub fn new(name: impl Into<String>, dtype: DType, shape: Vec<u64>) -> TensorSpec {
        TensorSpec {
            name: name.into(),
            dtype,
            shape,
            layout: Layout::RowMajor,
            quant: None,
        }
    }

    /// The same tensor with quantization parameters.
    pub fn with_quant(mut self, quant: QuantParams) -> TensorSpec {
        self.quant = Some(quant);
        self
    }
}

/// Builds a `.pnn` file from a model and its tensor bytes.
///
/// The writer validates the model exactly as the reader will (with the same
/// [`Limits`]), so it never produces a file the reader rejects. Metadata
/// property keys are sorted; tensors are placed in the order they were added,
/// each at the next multiple of [`TENSOR_ALIGN`], with zero padding.
#[derive(Clone, Debug)]
pub struct PnnWriter<'a> {
    metadata: Metadata,
    graph: GraphDef,
    tensors: Vec<(TensorSpec, Cow<'a, [u8]>)>,
    limits: Limits,
}

/// Everything computed before the first byte is written.
struct Plan {
    tensors: Vec<TensorEntry>,
    /// METADATA, GRAPH and TENSOR_INDEX, encoded.
    encoded: [Vec<u8>; 3],
    header_and_table: Vec<u8>,
    data_offset: u64,
    file_len: u64,
}

fn align_up(n: u64) -> Option<u64> {
    let align = TENSOR_ALIGN as u64;
    n.checked_add(align - 1).map(|n| n / align * align)
}

/// Any overflow while laying out the file: only possible with absurd sizes.
fn too_large(what: &'static str) -> FormatError {
    FormatError::LimitExceeded {
        what,
        found: u64::MAX,
        limit: u64::MAX,
    }
}

impl<'a> PnnWriter<'a> {
    /// A writer for this model with no tensors yet.
    pub fn new(metadata: Metadata, graph: GraphDef) -> PnnWriter<'a> {
        PnnWriter {
            metadata,
            graph,
            tensors: Vec::new(),
            limits: Limits::default(),
        }
    }

    /// Uses `limits` instead of the defaults. Files that exceed the default
    /// limits need a reader with the same (or larger) limits.
    pub fn with_limits(mut self, limits: Limits) -> PnnWriter<'a> {
        self.limits = limits;
        self
    }

    /// The metadata, for editing.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// The graph, for editing (e.g. to point values at tensors added later).
    pub fn graph_mut(&mut self) -> &mut GraphDef {
        &mut self.graph
    }

    /// Adds a tensor and returns its id (ids count up from 0 in call order).
    /// `data` must hold exactly the bytes the dtype, shape and layout
    /// require; that is checked when writing.
    pub fn add_tensor(&mut self, spec: TensorSpec, data: impl Into<Cow<'a, [u8]>>) -> TensorId {
        let id = TensorId::try_from(self.tensors.len()).unwrap_or(TensorId::MAX);
        self.tensors.push((spec, data.into()));
        id
    }

    /// The model the file will hold, exactly as the reader will return it
    /// (offsets filled in, properties sorted), after validation.
    pub fn model(&self) -> Result<ModelDef, FormatError> {
        let plan = self.plan()?;
        Ok(ModelDef {
            metadata: self.sorted_metadata(),
            graph: self.graph.clone(),
            tensors: plan.tensors,
        })
    }

    /// Writes the file to `sink`, streaming the tensor bytes, and returns
    /// the number of bytes written. Nothing is written if the model is invalid.
    pub fn write_to<W: std::io::Write>(&self, mut sink: W) -> Result<u64, WriteError> {
        let plan = self.plan()?;
        self.emit(&plan, |bytes| sink.write_all(bytes))?;
        sink.flush()?;
        Ok(plan.file_len)
    }

    /// The whole file in memory.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FormatError> {
        let plan = self.plan()?;
        let mut out = Vec::with_capacity(usize::try_from(plan.file_len).unwrap_or(0));
        let written: Result<(), Infallible> = self.emit(&plan, |bytes| {
            out.extend_from_slice(bytes);
            Ok(())
        });
        match written {
            Ok(()) => Ok(out),
            Err(never) => match never {},
        }
    }

    fn sorted_metadata(&self) -> Metadata {
        let mut metadata = self.metadata.clone();
        metadata.properties.sort_by(|a, b| a.0.cmp(&b.0));
        metadata
    }

    /// Places the tensors, validates everything, encodes the sections and
    /// the header.
    fn plan(&self) -> Result<Plan, FormatError> {
        let mut tensors = Vec::with_capacity(self.tensors.len());
        let mut cursor = 0u64;
        for (index, (spec, data)) in self.tensors.iter().enumerate() {
            let id = TensorId::try_from(index).unwrap_or(TensorId::MAX);
            let found = data.len() as u64;
            let expected = row_major_len(spec.dtype.size(), &spec.shape).ok_or_else(|| {
                FormatError::ShapeOverflow {
                    tensor: id,
                    name: spec.name.clone(),
                }
            })?;
            if found != expected {
                return Err(FormatError::TensorLengthMismatch {
                    tensor: id,
                    name: spec.name.clone(),
                    expected,
                    found,
                });
            }
            let offset = align_up(cursor).ok_or_else(|| too_large("tensor bytes"))?;
            cursor = offset
                .checked_add(found)
                .ok_or_else(|| too_large("tensor bytes"))?;
            tensors.push(TensorEntry {
                name: spec.name.clone(),
                dtype: spec.dtype,
                shape: spec.shape.clone(),
                layout: spec.layout.clone(),
                quant: spec.quant.clone(),
                offset,
                len: found,
            });
        }
        let data_len = cursor;
        let metadata = self.sorted_metadata();
        check_model_limits(&metadata, &self.graph, &tensors, &self.limits)?;
        validate::model(&metadata, &self.graph, &tensors, data_len, &self.limits)?;

        let encoded = [
            encode::metadata(&metadata),
            encode::graph(&self.graph),
            encode::tensor_index(&tensors),
        ];
        let kinds = [
            SectionKind::Metadata,
            SectionKind::Graph,
            SectionKind::TensorIndex,
        ];
        let has_data = !tensors.is_empty();
        let section_count = kinds.len() + usize::from(has_data);
        if section_count > self.limits.max_sections as usize {
            return Err(FormatError::LimitExceeded {
                what: "sections",
                found: section_count as u64,
                limit: u64::from(self.limits.max_sections),
            });
        }
        let mut offset = (HEADER_LEN + section_count * SECTION_ENTRY_LEN) as u64;
        let mut sections = Vec::with_capacity(section_count);
        for (kind, bytes) in kinds.into_iter().zip(&encoded) {
            sections.push(SectionEntry {
                kind,
                offset,
                len: bytes.len() as u64,
                crc32: crc32fast::hash(bytes),
            });
            offset = offset
                .checked_add(bytes.len() as u64)
                .ok_or_else(|| too_large("section bytes"))?;
        }
        let data_offset = align_up(offset).ok_or_else(|| too_large("section bytes"))?;
        let file_len = if has_data {
            sections.push(SectionEntry {
                kind: SectionKind::TensorData,
                offset: data_offset,
                len: data_len,
                crc32: self.data_crc(&tensors),
            });
            data_offset
                .checked_add(data_len)
                .ok_or_else(|| too_large("file bytes"))?
        } else {
            offset
        };
        Ok(Plan {
            tensors,
            encoded,
            header_and_table: header::encode_header_and_table(
                self.minor_version(),
                file_len,
                &sections,
            ),
            data_offset,
            file_len,
        })
    }

    /// The lowest minor version (at least 1) with every operator the graph
    /// uses.
    fn minor_version(&self) -> u16 {
        let nodes = self.graph.bodies.iter().flat_map(|b| &b.nodes);
        nodes.map(|n| n.op.since_minor()).fold(1, u16::max)
    }

    /// CRC-32 of the TENSOR_DATA section: the tensors with their padding.
    fn data_crc(&self, entries: &[TensorEntry]) -> u32 {
        let mut hasher = crc32fast::Hasher::new();
        let _ = self.emit_data(entries, |bytes| {
            hasher.update(bytes);
            Ok::<(), Infallible>(())
        });
        hasher.finalize()
    }

    /// Emits the file, in order, through `put`.
    fn emit<E>(&self, plan: &Plan, mut put: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        put(&plan.header_and_table)?;
        let mut position = plan.header_and_table.len() as u64;
        for section in &plan.encoded {
            put(section)?;
            position += section.len() as u64;
        }
        if !plan.tensors.is_empty() {
            put_zeros(&mut put, plan.data_offset.saturating_sub(position))?;
            self.emit_data(&plan.tensors, put)?;
        }
        Ok(())
    }

    /// Emits the TENSOR_DATA section: each tensor's bytes at its offset.
    fn emit_data<E>(
        &self,
        entries: &[TensorEntry],
        mut put: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut position = 0u64;
        for (entry, (_, data)) in entries.iter().zip(&self.tensors) {
            put_zeros(&mut put, entry.offset.saturating_sub(position))?;
            put(data)?;
            position = entry.offset + entry.len;
        }
        Ok(())
    }
}

fn put_zeros<E>(put: &mut impl FnMut(&[u8]) -> Result<(), E>, mut count: u64) -> Result<(), E> {
    const ZEROS: [u8; TENSOR_ALIGN] = [0; TENSOR_ALIGN];
    while count > 0 {
        let chunk = count.min(ZEROS.len() as u64) as usize;
        put(ZEROS.get(..chunk).unwrap_or(&ZEROS))?;
        count -= chunk as u64;
    }
    Ok(())
}
