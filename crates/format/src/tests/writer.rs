//! The writer's output, compared byte for byte with a file built by hand
//! from `docs/format.md`, and its error behaviour.

use std::io::Write;

use super::helpers::*;
use crate::*;

const NONE: u32 = u32::MAX;

fn two_tensor_writer() -> PnnWriter<'static> {
    let metadata = Metadata {
        name: "m".into(),
        producer: "p".into(),
        properties: vec![("z".into(), "1".into()), ("a".into(), "2".into())],
    };
    let mut writer = PnnWriter::new(metadata, relu_graph());
    let t0 = writer.add_tensor(
        TensorSpec::new("t0", DType::F32, vec![2]),
        f32_bytes(&[1.5, -2.0]),
    );
    let quant = QuantParams {
        axis: None,
        scales: vec![0.5],
        zero_points: vec![-3],
    };
    let t1 = writer.add_tensor(
        TensorSpec::new("t1", DType::U8, vec![3]).with_quant(quant),
        &[7u8, 8, 9][..],
    );
    assert_eq!((t0, t1), (0, 1));
    writer
}

#[test]
fn output_matches_the_spec_byte_for_byte() {
    let meta = Bytes::default()
        .str("m")
        .str("p")
        .u32(2)
        .str("a")
        .str("2")
        .str("z")
        .str("1")
        .0;
    let graph = Bytes::default()
        .u32(2)
        .str("x")
        .u8(1)
        .u8(0)
        .u32(NONE)
        .str("y")
        .u8(1)
        .u8(0)
        .u32(NONE)
        .u32(1)
        .u32(0)
        .u32(1)
        .u32(1)
        .str("relu")
        .u16(31)
        .u32(1)
        .u32(0)
        .u32(1)
        .u32(1)
        .u32(0)
        .u32(1)
        .u32(1)
        .0;
    let index = Bytes::default()
        .u32(2)
        .str("t0")
        .u8(1)
        .u32(1)
        .u64(2)
        .u16(0)
        .u8(0)
        .u64(0)
        .u64(8)
        .str("t1")
        .u8(2)
        .u32(1)
        .u64(3)
        .u16(0)
        .u8(1)
        .u32(NONE)
        .u32(1)
        .raw(&0.5f32.to_le_bytes())
        .u32(1)
        .raw(&(-3i32).to_le_bytes())
        .u64(64)
        .u64(3)
        .0;
    let data = Bytes::default()
        .raw(&f32_bytes(&[1.5, -2.0]))
        .raw(&[0; 56])
        .raw(&[7, 8, 9])
        .0;
    let expected = build_file(
        1,
        &[
            section(METADATA, meta),
            section(GRAPH, graph),
            section(TENSOR_INDEX, index),
            section(TENSOR_DATA, data),
        ],
    );
    let bytes = two_tensor_writer().to_bytes().unwrap();
    assert_eq!(bytes, expected);
    // A few fields by absolute offset, as a hex dump would show them.
    assert_eq!(&bytes[..8], b"POCKETNN");
    assert_eq!(get_u32(&bytes, 8), 0x0001_0001); // major 1, minor 1
    assert_eq!(get_u64(&bytes, 16), bytes.len() as u64);
    assert_eq!(get_u32(&bytes, 24), 4);
    assert_eq!(get_u64(&bytes, entry_at(0) + 8), 64 + 4 * 32);
    assert_eq!(find_section(&bytes, TENSOR_DATA).1 % 64, 0);
}

#[test]
fn write_to_streams_the_same_bytes() {
    let writer = two_tensor_writer();
    let mut sink = Vec::new();
    let written = writer.write_to(&mut sink).unwrap();
    assert_eq!(written, sink.len() as u64);
    assert_eq!(sink, writer.to_bytes().unwrap());
}

/// A sink that accepts `budget` bytes, then fails.
struct FailAfter(usize);

impl Write for FailAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0 == 0 {
            return Err(std::io::Error::other("disk full"));
        }
        let n = buf.len().min(self.0);
        self.0 -= n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn io_errors_are_reported() {
    let error = two_tensor_writer().write_to(FailAfter(300)).unwrap_err();
    assert!(
        matches!(error, WriteError::Io(ref e) if e.to_string() == "disk full"),
        "{error}"
    );
}

#[test]
fn invalid_model_writes_nothing() {
    let mut writer = PnnWriter::new(Metadata::default(), relu_graph());
    writer.add_tensor(TensorSpec::new("t", DType::F32, vec![2]), vec![0u8; 7]);
    let mut sink = Vec::new();
    let error = writer.write_to(&mut sink).unwrap_err();
    assert!(matches!(
        error,
        WriteError::Format(FormatError::TensorLengthMismatch { .. })
    ));
    assert!(sink.is_empty());
}

#[test]
fn no_tensors_means_no_data_section() {
    let bytes = PnnWriter::new(Metadata::default(), relu_graph())
        .to_bytes()
        .unwrap();
    let file = PnnFile::parse(&bytes).unwrap();
    let kinds: Vec<SectionKind> = file.sections().iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [
            SectionKind::Metadata,
            SectionKind::Graph,
            SectionKind::TensorIndex
        ]
    );
}

#[test]
fn empty_tensors_take_no_space() {
    let mut writer = PnnWriter::new(Metadata::default(), relu_graph());
    writer.add_tensor(TensorSpec::new("e", DType::F32, vec![0, 3]), Vec::new());
    writer.add_tensor(TensorSpec::new("f", DType::I8, vec![2]), vec![1, 2]);
    let bytes = writer.to_bytes().unwrap();
    let file = PnnFile::parse(&bytes).unwrap();
    assert_eq!(file.tensor_data(0), Some(&[][..]));
    assert_eq!(file.tensor_data(1), Some(&[1u8, 2][..]));
    assert_eq!(file.model().tensors[1].offset, 0);
}

#[test]
fn editing_the_graph_after_adding_tensors() {
    let mut writer = PnnWriter::new(Metadata::default(), relu_graph());
    let id = writer.add_tensor(TensorSpec::new("c", DType::F32, vec![]), f32_bytes(&[3.0]));
    writer.graph_mut().values.push(ValueDef {
        name: "c".into(),
        dtype: DType::F32,
        shape: Some(vec![]),
        constant: Some(id),
    });
    writer.metadata_mut().name = "edited".into();
    let bytes = writer.to_bytes().unwrap();
    let file = PnnFile::parse(&bytes).unwrap();
    assert_eq!(file.model().graph.values[2].constant, Some(0));
    assert_eq!(file.model().metadata.name, "edited");
}

#[test]
fn writer_limits_match_reader_limits() {
    let long = "x".repeat((1 << 20) + 1);
    let metadata = Metadata {
        name: long,
        ..Metadata::default()
    };
    let error = PnnWriter::new(metadata.clone(), relu_graph())
        .to_bytes()
        .unwrap_err();
    let too_long = FormatError::LimitExceeded {
        what: "string bytes",
        found: (1 << 20) + 1,
        limit: 1 << 20,
    };
    assert_eq!(error, too_long);

    let limits = Limits {
        max_string_len: 1 << 21,
        ..Limits::default()
    };
    let bytes = PnnWriter::new(metadata, relu_graph())
        .with_limits(limits.clone())
        .to_bytes()
        .unwrap();
    assert_eq!(parse_err(&bytes), too_long);
    let options = ReadOptions {
        limits,
        ..ReadOptions::default()
    };
    assert!(PnnFile::parse_with(&bytes, &options).is_ok());

    let mut writer = two_tensor_writer().with_limits(Limits {
        max_sections: 3,
        ..Limits::default()
    });
    let error = FormatError::LimitExceeded {
        what: "sections",
        found: 4,
        limit: 3,
    };
    assert_eq!(writer.to_bytes().unwrap_err(), error);
    writer.add_tensor(TensorSpec::new("more", DType::U8, vec![1]), vec![0]);
    assert_eq!(writer.to_bytes().unwrap_err(), error);

    let small = Limits {
        max_values: 1,
        ..Limits::default()
    };
    let error = PnnWriter::new(Metadata::default(), relu_graph())
        .with_limits(small)
        .to_bytes()
        .unwrap_err();
    assert_eq!(
        error,
        FormatError::LimitExceeded {
            what: "values",
            found: 2,
            limit: 1
        }
    );
}

#[test]
fn errors_display_their_context() {
    let error = FormatError::UseBeforeDefinition {
        site: GraphSite::Node {
            body: 0,
            node: 3,
            name: "conv1".into(),
        },
        value: 7,
        name: "act".into(),
    };
    assert_eq!(
        error.to_string(),
        "node 3 \"conv1\" of body 0: value 7 \"act\" is used before it is defined"
    );
    let error = FormatError::SectionChecksum {
        kind: SectionKind::TensorData,
        stored: 1,
        computed: 2,
    };
    assert_eq!(
        error.to_string(),
        "section TENSOR_DATA: checksum mismatch: stored 0x00000001, computed 0x00000002"
    );
}

#[test]
fn debug_output_omits_tensor_bytes() {
    let mut writer = PnnWriter::new(Metadata::default(), relu_graph());
    writer.add_tensor(
        TensorSpec::new("big", DType::U8, vec![1 << 20]),
        vec![0xAB; 1 << 20],
    );
    let bytes = writer.to_bytes().unwrap();
    let file = PnnFile::parse(&bytes).unwrap();
    let debug = format!("{file:?}");
    assert!(debug.len() < 4096, "{} bytes of Debug output", debug.len());
    assert!(debug.contains("data_len: 1048576"));
}

#[test]
fn the_minor_version_is_the_lowest_that_has_every_operator() {
    let read_minor = |writer: &PnnWriter<'_>| {
        let bytes = writer.to_bytes().unwrap();
        PnnFile::parse(&bytes).unwrap().version()
    };
    let mut writer = two_tensor_writer();
    assert_eq!(read_minor(&writer), (1, 1));
    writer.graph_mut().bodies[0].nodes[0].op = OpCode::QLinearConvF32;
    assert_eq!(read_minor(&writer), (1, 2));
    assert_eq!(VERSION_MINOR, 2);
}
