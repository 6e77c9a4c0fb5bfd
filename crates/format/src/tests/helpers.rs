//! Test helpers. The byte-level helpers here follow `docs/format.md`
//! directly and use `crc32fast` themselves, so tests do not rely on the
//! header code they are testing.

use crate::*;

pub(crate) const METADATA: u32 = 1;
pub(crate) const GRAPH: u32 = 2;
pub(crate) const TENSOR_INDEX: u32 = 3;
pub(crate) const TENSOR_DATA: u32 = 4;

/// A little-endian byte builder, written from the spec.
#[derive(Default, Clone)]
pub(crate) struct Bytes(pub(crate) Vec<u8>);

impl Bytes {
    pub(crate) fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    pub(crate) fn u16(mut self, v: u16) -> Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    pub(crate) fn u32(mut self, v: u32) -> Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    pub(crate) fn u64(mut self, v: u64) -> Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    pub(crate) fn raw(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self
    }
    pub(crate) fn str(self, s: &str) -> Self {
        self.u32(s.len() as u32).raw(s.as_bytes())
    }
}

/// One section for [`build_file`].
pub(crate) struct Section {
    pub(crate) kind: u32,
    pub(crate) bytes: Vec<u8>,
    /// Start it at a multiple of 64.
    pub(crate) aligned: bool,
}

pub(crate) fn section(kind: u32, bytes: Vec<u8>) -> Section {
    Section {
        kind,
        aligned: kind == TENSOR_DATA,
        bytes,
    }
}

/// A file with these sections laid out in order after the table, version
/// 1.`minor`, with correct lengths and checksums.
pub(crate) fn build_file(minor: u16, sections: &[Section]) -> Vec<u8> {
    let table_end = 64 + 32 * sections.len();
    let mut body = Vec::new();
    let mut entries = Vec::new();
    for s in sections {
        let mut offset = table_end + body.len();
        if s.aligned {
            while !offset.is_multiple_of(64) {
                body.push(0);
                offset += 1;
            }
        }
        entries.push((
            s.kind,
            offset as u64,
            s.bytes.len() as u64,
            crc32fast::hash(&s.bytes),
        ));
        body.extend_from_slice(&s.bytes);
    }
    let file_len = (table_end + body.len()) as u64;
    let mut file = Bytes::default()
        .raw(b"POCKETNN")
        .u16(1)
        .u16(minor)
        .u32(0)
        .u64(file_len)
        .u32(sections.len() as u32)
        .u32(0)
        .raw(&[0; 32]);
    for (kind, offset, len, crc) in entries {
        file = file.u32(kind).u32(0).u64(offset).u64(len).u32(crc).u32(0);
    }
    let mut file = file.raw(&body).0;
    fix_header_crc(&mut file);
    file
}

pub(crate) fn get_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

pub(crate) fn get_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

pub(crate) fn put_u16(bytes: &mut [u8], at: usize, v: u16) {
    bytes[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u64(bytes: &mut [u8], at: usize, v: u64) {
    bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Byte offset of section-table entry `index`.
pub(crate) fn entry_at(index: usize) -> usize {
    64 + 32 * index
}

/// `(entry index, offset, len)` of the first section of this kind.
pub(crate) fn find_section(bytes: &[u8], kind: u32) -> (usize, usize, usize) {
    let count = get_u32(bytes, 24) as usize;
    (0..count)
        .map(|i| (i, entry_at(i)))
        .find(|&(_, at)| get_u32(bytes, at) == kind)
        .map(|(i, at)| {
            (
                i,
                get_u64(bytes, at + 8) as usize,
                get_u64(bytes, at + 16) as usize,
            )
        })
        .expect("section present")
}

/// Recomputes the header CRC (over the header with the CRC zeroed and the
/// table). Does nothing if the table does not fit.
pub(crate) fn fix_header_crc(bytes: &mut [u8]) {
    if bytes.len() < 64 {
        return;
    }
    let count = get_u32(bytes, 24) as usize;
    let Some(table_end) = count.checked_mul(32).and_then(|t| t.checked_add(64)) else {
        return;
    };
    if table_end > bytes.len() {
        return;
    }
    put_u32(bytes, 28, 0);
    let crc = crc32fast::hash(&bytes[..table_end]);
    put_u32(bytes, 28, crc);
}

/// Recomputes every section CRC that lies inside the file, then the header
/// CRC, so that a patched file reaches the checks behind the checksums.
pub(crate) fn fix_checksums(bytes: &mut [u8]) {
    if bytes.len() < 64 {
        return;
    }
    let count = get_u32(bytes, 24) as usize;
    for i in 0..count {
        let at = entry_at(i);
        if at + 32 > bytes.len() {
            return;
        }
        let (offset, len) = (get_u64(bytes, at + 8), get_u64(bytes, at + 16));
        let Some(end) = offset.checked_add(len) else {
            continue;
        };
        if end <= bytes.len() as u64 {
            let crc = crc32fast::hash(&bytes[offset as usize..end as usize]);
            put_u32(bytes, at + 24, crc);
        }
    }
    fix_header_crc(bytes);
}

/// Parses with default options and returns the error.
pub(crate) fn parse_err(bytes: &[u8]) -> FormatError {
    match PnnFile::parse(bytes) {
        Ok(_) => panic!("the file was accepted"),
        Err(e) => e,
    }
}

pub(crate) fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub(crate) fn value(name: &str, dtype: DType) -> ValueDef {
    ValueDef {
        name: name.into(),
        dtype,
        shape: None,
        constant: None,
    }
}

pub(crate) fn node(name: &str, op: OpCode, inputs: &[u32], outputs: &[u32]) -> NodeDef {
    NodeDef {
        name: name.into(),
        op,
        inputs: inputs.iter().map(|&i| Some(i)).collect(),
        outputs: outputs.to_vec(),
        attributes: vec![],
    }
}

pub(crate) fn body_attr(name: &str, body: BodyId) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Body(body),
    }
}

/// A model exercising every structure: symbolic shapes, constants, a
/// quantized tensor, an `If` with two sub-bodies reading outer values, an
/// omitted optional input, every attribute type and metadata properties.
pub(crate) fn sample_writer() -> PnnWriter<'static> {
    let mut values = vec![
        ValueDef {
            name: "x".into(),
            dtype: DType::F32,
            shape: Some(vec![Dim::Symbolic("N".into()), Dim::Fixed(2)]),
            constant: None,
        },
        value("w", DType::F32),        // 1: tensor 0
        value("q", DType::I8),         // 2: tensor 1
        value("cond", DType::Bool),    // 3: input
        value("y", DType::F32),        // 4: MatMul(x, w)
        value("then_out", DType::F32), // 5
        value("else_out", DType::F32), // 6
        value("z", DType::F32),        // 7: If output
    ];
    values[1].constant = Some(0);
    values[2].constant = Some(1);
    let mut if_node = node("if", OpCode::If, &[3], &[7]);
    if_node.attributes = vec![body_attr("then_branch", 1), body_attr("else_branch", 2)];
    let mut clip = node("clip", OpCode::Clip, &[4], &[6]);
    clip.inputs.push(None);
    clip.attributes = vec![
        Attribute {
            name: "i".into(),
            value: AttrValue::Int(-3),
        },
        Attribute {
            name: "f".into(),
            value: AttrValue::Float(0.5),
        },
        Attribute {
            name: "s".into(),
            value: AttrValue::String("héllo".into()),
        },
        Attribute {
            name: "is".into(),
            value: AttrValue::Ints(vec![1, -2, i64::MAX]),
        },
        Attribute {
            name: "fs".into(),
            value: AttrValue::Floats(vec![1.5, -0.0]),
        },
        Attribute {
            name: "ss".into(),
            value: AttrValue::Strings(vec!["a".into(), "".into()]),
        },
    ];
    let graph = GraphDef {
        values,
        inputs: vec![0, 3],
        bodies: vec![
            Body {
                nodes: vec![node("mm", OpCode::MatMul, &[0, 1], &[4]), if_node],
                outputs: vec![7, 4],
            },
            Body {
                nodes: vec![node("relu", OpCode::Relu, &[4], &[5])],
                outputs: vec![5],
            },
            Body {
                nodes: vec![clip],
                outputs: vec![6],
            },
        ],
    };
    let metadata = Metadata {
        name: "sample".into(),
        producer: "tests".into(),
        properties: vec![
            ("source".into(), "hand".into()),
            ("recipe".into(), "int8".into()),
        ],
    };
    let mut writer = PnnWriter::new(metadata, graph);
    writer.add_tensor(
        TensorSpec::new("w", DType::F32, vec![2, 3]),
        f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
    );
    let quant = QuantParams {
        axis: Some(1),
        scales: vec![0.5, 0.25],
        zero_points: vec![0, 1],
    };
    writer.add_tensor(
        TensorSpec::new("q", DType::I8, vec![3, 2]).with_quant(quant),
        &[1u8, 2, 3, 4, 5, 6][..],
    );
    writer
}

pub(crate) fn sample_bytes() -> Vec<u8> {
    sample_writer().to_bytes().expect("sample model is valid")
}

/// A file for this model with no validation at all, laid out like the
/// writer's: for testing the reader's semantic checks on invalid models.
pub(crate) fn assemble(
    metadata: &Metadata,
    graph: &GraphDef,
    tensors: &[TensorEntry],
    data: Option<Vec<u8>>,
) -> Vec<u8> {
    let mut sections = vec![
        section(METADATA, crate::encode::metadata(metadata)),
        section(GRAPH, crate::encode::graph(graph)),
        section(TENSOR_INDEX, crate::encode::tensor_index(tensors)),
    ];
    if let Some(data) = data {
        sections.push(section(TENSOR_DATA, data));
    }
    build_file(0, &sections)
}

/// A graph with one input `x` and one output `Relu(x)`.
pub(crate) fn relu_graph() -> GraphDef {
    GraphDef {
        values: vec![value("x", DType::F32), value("y", DType::F32)],
        inputs: vec![0],
        bodies: vec![Body {
            nodes: vec![node("relu", OpCode::Relu, &[0], &[1])],
            outputs: vec![1],
        }],
    }
}
