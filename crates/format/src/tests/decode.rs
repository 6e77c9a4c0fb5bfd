//! Rejection rules of the section encodings, on hand-encoded sections.

use super::helpers::*;
use crate::*;

const NONE: u32 = u32::MAX;

fn empty_metadata() -> Bytes {
    Bytes::default().str("").str("").u32(0)
}

fn x_value() -> Bytes {
    Bytes::default().str("x").u8(1).u8(0).u32(NONE)
}

/// The GRAPH section of `relu_graph()`, written by hand from the spec, with
/// `x_value` as the encoding of value 0 and `attributes` (count included)
/// as the relu node's attributes. Value 0 starts at offset 4.
fn graph_bytes(x_value: Bytes, attributes: Bytes) -> Vec<u8> {
    Bytes::default()
        .u32(2)
        .raw(&x_value.0)
        .str("y")
        .u8(1)
        .u8(0)
        .u32(NONE)
        .u32(1)
        .u32(0) // inputs
        .u32(1) // bodies
        .u32(1) // nodes
        .str("relu")
        .u16(31)
        .u32(1)
        .u32(0)
        .u32(1)
        .u32(1)
        .raw(&attributes.0)
        .u32(1)
        .u32(1) // body outputs
        .0
}

fn file(meta: Vec<u8>, graph: Vec<u8>, index: Vec<u8>) -> Vec<u8> {
    build_file(
        0,
        &[
            section(METADATA, meta),
            section(GRAPH, graph),
            section(TENSOR_INDEX, index),
        ],
    )
}

fn empty_index() -> Vec<u8> {
    Bytes::default().u32(0).0
}

/// Absolute offset of `local` in the section of this kind.
fn at(bytes: &[u8], kind: u32, local: usize) -> u64 {
    (find_section(bytes, kind).1 + local) as u64
}

#[test]
fn hand_encoded_sections_parse_and_match_the_encoder() {
    let graph = graph_bytes(x_value(), Bytes::default().u32(0));
    assert_eq!(crate::encode::graph(&relu_graph()), graph);
    let bytes = file(empty_metadata().0, graph, empty_index());
    assert_eq!(PnnFile::parse(&bytes).unwrap().model().graph, relu_graph());
}

#[test]
fn trailing_bytes_in_each_section() {
    let graph = || graph_bytes(x_value(), Bytes::default().u32(0));
    let cases = [
        (
            SectionKind::Metadata,
            file(empty_metadata().u8(0).0, graph(), empty_index()),
            METADATA,
            12,
        ),
        (
            SectionKind::Graph,
            file(
                empty_metadata().0,
                [graph(), vec![7, 7]].concat(),
                empty_index(),
            ),
            GRAPH,
            80,
        ),
        (
            SectionKind::TensorIndex,
            file(empty_metadata().0, graph(), vec![0, 0, 0, 0, 1]),
            TENSOR_INDEX,
            4,
        ),
    ];
    for (section, bytes, code, local) in cases {
        let count = find_section(&bytes, code).2 as u64 - local as u64;
        assert_eq!(
            parse_err(&bytes),
            FormatError::TrailingBytes {
                section,
                offset: at(&bytes, code, local),
                count
            }
        );
    }
}

#[test]
fn structure_running_past_its_section() {
    let graph = graph_bytes(x_value(), Bytes::default().u32(0));
    // A string whose length prefix says 3 but only 2 bytes follow.
    let bytes = file(
        Bytes::default().u32(3).raw(b"ab").0,
        graph.clone(),
        empty_index(),
    );
    let offset = at(&bytes, METADATA, 0);
    assert_eq!(
        parse_err(&bytes),
        FormatError::UnexpectedEnd {
            section: SectionKind::Metadata,
            offset
        }
    );
    // Metadata missing its property count entirely.
    let bytes = file(
        Bytes::default().str("").str("").0,
        graph.clone(),
        empty_index(),
    );
    let offset = at(&bytes, METADATA, 8);
    assert_eq!(
        parse_err(&bytes),
        FormatError::UnexpectedEnd {
            section: SectionKind::Metadata,
            offset
        }
    );
    // GRAPH cut in the middle of the body outputs.
    let bytes = file(empty_metadata().0, graph[..78].to_vec(), empty_index());
    let offset = at(&bytes, GRAPH, 72); // the count promising 4 bytes
    assert_eq!(
        parse_err(&bytes),
        FormatError::UnexpectedEnd {
            section: SectionKind::Graph,
            offset
        }
    );
}

#[test]
fn counts_larger_than_the_section_allocate_nothing() {
    let graph = graph_bytes(x_value(), Bytes::default().u32(0));
    // 2^20 properties (within the limit) but no bytes for them.
    let meta = Bytes::default().str("").str("").u32(1 << 20).0;
    let bytes = file(meta, graph, empty_index());
    let offset = at(&bytes, METADATA, 8);
    assert_eq!(
        parse_err(&bytes),
        FormatError::UnexpectedEnd {
            section: SectionKind::Metadata,
            offset
        }
    );
    // 2^20 tensors, each at least 28 bytes, in a 4-byte section.
    let graph = graph_bytes(x_value(), Bytes::default().u32(0));
    let bytes = file(empty_metadata().0, graph, Bytes::default().u32(1 << 20).0);
    let offset = at(&bytes, TENSOR_INDEX, 0);
    assert_eq!(
        parse_err(&bytes),
        FormatError::UnexpectedEnd {
            section: SectionKind::TensorIndex,
            offset
        }
    );
}

#[test]
fn counts_above_limits() {
    let graph = graph_bytes(x_value(), Bytes::default().u32(0));
    let meta = Bytes::default().str("").str("").u32(u32::MAX).0;
    let bytes = file(meta, graph.clone(), empty_index());
    assert_eq!(
        parse_err(&bytes),
        FormatError::LimitExceeded {
            what: "metadata properties",
            found: u32::MAX as u64,
            limit: 1 << 20
        }
    );
    let limits = Limits {
        max_values: 1,
        ..Limits::default()
    };
    let options = ReadOptions {
        limits,
        ..ReadOptions::default()
    };
    let bytes = file(empty_metadata().0, graph, empty_index());
    assert_eq!(
        PnnFile::parse_with(&bytes, &options).unwrap_err(),
        FormatError::LimitExceeded {
            what: "values",
            found: 2,
            limit: 1
        }
    );
    // Even unlimited limits cannot admit u32::MAX, the reserved "none" id.
    let limits = Limits {
        max_list_len: usize::MAX,
        ..Limits::default()
    };
    let options = ReadOptions {
        limits,
        ..ReadOptions::default()
    };
    let meta = Bytes::default().str("").str("").u32(u32::MAX).0;
    let bytes = file(
        meta,
        graph_bytes(x_value(), Bytes::default().u32(0)),
        empty_index(),
    );
    assert!(matches!(
        PnnFile::parse_with(&bytes, &options),
        Err(FormatError::LimitExceeded {
            what: "metadata properties",
            ..
        })
    ));
}

#[test]
fn string_longer_than_limit() {
    let graph = graph_bytes(x_value(), Bytes::default().u32(0));
    let bytes = file(
        Bytes::default().str("abc").str("").u32(0).0,
        graph,
        empty_index(),
    );
    let limits = Limits {
        max_string_len: 2,
        ..Limits::default()
    };
    let options = ReadOptions {
        limits,
        ..ReadOptions::default()
    };
    assert_eq!(
        PnnFile::parse_with(&bytes, &options).unwrap_err(),
        FormatError::LimitExceeded {
            what: "string bytes",
            found: 3,
            limit: 2
        }
    );
}

#[test]
fn total_nodes_limit_spans_bodies() {
    let mut graph = relu_graph();
    let mut if_node = node("if", OpCode::If, &[0], &[]);
    if_node.attributes.push(body_attr("then_branch", 1));
    graph.bodies[0].nodes.push(if_node);
    graph.values.push(value("z", DType::F32));
    graph.bodies.push(Body {
        nodes: vec![node("r", OpCode::Relu, &[0], &[2])],
        outputs: vec![],
    });
    let bytes = assemble(&Metadata::default(), &graph, &[], None);
    assert!(PnnFile::parse(&bytes).is_ok());
    let limits = Limits {
        max_nodes: 2,
        ..Limits::default()
    };
    let options = ReadOptions {
        limits,
        ..ReadOptions::default()
    };
    assert_eq!(
        PnnFile::parse_with(&bytes, &options).unwrap_err(),
        FormatError::LimitExceeded {
            what: "nodes",
            found: 3,
            limit: 2
        }
    );
}

#[test]
fn invalid_utf8() {
    let graph = graph_bytes(x_value(), Bytes::default().u32(0));
    let meta = Bytes::default().str("").u32(2).raw(&[0xC3, 0x28]).u32(0).0;
    let bytes = file(meta, graph, empty_index());
    let offset = at(&bytes, METADATA, 4);
    assert_eq!(
        parse_err(&bytes),
        FormatError::InvalidUtf8 {
            section: SectionKind::Metadata,
            offset
        }
    );
}

#[test]
fn unknown_dtype_in_value_and_tensor() {
    let x = Bytes::default().str("x").u8(4).u8(0).u32(NONE);
    let bytes = file(
        empty_metadata().0,
        graph_bytes(x, Bytes::default().u32(0)),
        empty_index(),
    );
    let offset = at(&bytes, GRAPH, 9);
    assert_eq!(
        parse_err(&bytes),
        FormatError::UnknownDType {
            section: SectionKind::Graph,
            offset,
            code: 4
        }
    );

    let index = Bytes::default()
        .u32(1)
        .str("t")
        .u8(0)
        .u32(0)
        .u16(0)
        .u8(0)
        .u64(0)
        .u64(1)
        .0;
    let bytes = file(
        empty_metadata().0,
        graph_bytes(x_value(), Bytes::default().u32(0)),
        index,
    );
    let offset = at(&bytes, TENSOR_INDEX, 9);
    assert_eq!(
        parse_err(&bytes),
        FormatError::UnknownDType {
            section: SectionKind::TensorIndex,
            offset,
            code: 0
        }
    );
}

#[test]
fn invalid_option_and_dim_tags() {
    let x = Bytes::default().str("x").u8(1).u8(2).u32(NONE);
    let bytes = file(
        empty_metadata().0,
        graph_bytes(x, Bytes::default().u32(0)),
        empty_index(),
    );
    let offset = at(&bytes, GRAPH, 10);
    let section = SectionKind::Graph;
    assert_eq!(
        parse_err(&bytes),
        FormatError::InvalidTag {
            section,
            offset,
            what: "option",
            tag: 2
        }
    );

    let x = Bytes::default()
        .str("x")
        .u8(1)
        .u8(1)
        .u32(1)
        .u8(2)
        .u64(3)
        .u32(NONE);
    let bytes = file(
        empty_metadata().0,
        graph_bytes(x, Bytes::default().u32(0)),
        empty_index(),
    );
    let offset = at(&bytes, GRAPH, 15);
    assert_eq!(
        parse_err(&bytes),
        FormatError::InvalidTag {
            section,
            offset,
            what: "dim",
            tag: 2
        }
    );

    // Both dim kinds decode.
    let x = Bytes::default()
        .str("x")
        .u8(1)
        .u8(1)
        .u32(2)
        .u8(1)
        .str("N")
        .u8(0)
        .u64(3)
        .u32(NONE);
    let bytes = file(
        empty_metadata().0,
        graph_bytes(x, Bytes::default().u32(0)),
        empty_index(),
    );
    let file = PnnFile::parse(&bytes).unwrap();
    let shape = file.model().graph.values[0].shape.clone();
    assert_eq!(shape, Some(vec![Dim::Symbolic("N".into()), Dim::Fixed(3)]));
}

#[test]
fn rank_above_limit() {
    let mut x = Bytes::default().str("x").u8(1).u8(1).u32(17);
    for _ in 0..17 {
        x = x.u8(0).u64(1);
    }
    let bytes = file(
        empty_metadata().0,
        graph_bytes(x.u32(NONE), Bytes::default().u32(0)),
        empty_index(),
    );
    assert_eq!(
        parse_err(&bytes),
        FormatError::LimitExceeded {
            what: "dimensions",
            found: 17,
            limit: 16
        }
    );
}

#[test]
fn unknown_op_code() {
    let mut graph = graph_bytes(x_value(), Bytes::default().u32(0));
    graph[50..52].copy_from_slice(&500u16.to_le_bytes());
    let bytes = file(empty_metadata().0, graph, empty_index());
    let offset = at(&bytes, GRAPH, 50);
    assert_eq!(
        parse_err(&bytes),
        FormatError::UnknownOp {
            section: SectionKind::Graph,
            offset,
            code: 500
        }
    );
}

#[test]
fn attribute_tags() {
    let good = Bytes::default()
        .u32(1)
        .str("alpha")
        .u8(2)
        .raw(&0.25f32.to_le_bytes());
    let bytes = file(
        empty_metadata().0,
        graph_bytes(x_value(), good),
        empty_index(),
    );
    let file_ok = PnnFile::parse(&bytes).unwrap();
    let relu = &file_ok.model().graph.bodies[0].nodes[0];
    assert_eq!(relu.attribute("alpha"), Some(&AttrValue::Float(0.25)));

    for tag in [0u8, 8, 255] {
        let attrs = Bytes::default().u32(1).str("alpha").u8(tag).u64(0);
        let bytes = file(
            empty_metadata().0,
            graph_bytes(x_value(), attrs),
            empty_index(),
        );
        // Attribute count at 68, name at 72 (4 + 5 bytes), tag at 81.
        let offset = at(&bytes, GRAPH, 81);
        assert_eq!(
            parse_err(&bytes),
            FormatError::UnknownAttributeTag {
                section: SectionKind::Graph,
                offset,
                tag
            }
        );
    }
}

#[test]
fn unknown_layout_and_quant_tag() {
    let graph = || graph_bytes(x_value(), Bytes::default().u32(0));
    let tensor = |layout: u16, quant_tag: u8| {
        Bytes::default()
            .u32(1)
            .str("t")
            .u8(2)
            .u32(1)
            .u64(4)
            .u16(layout)
            .u8(quant_tag)
            .u64(0)
            .u64(4)
            .0
    };
    let data = || section(TENSOR_DATA, vec![1, 2, 3, 4]);
    let build = |index| {
        build_file(
            0,
            &[
                section(METADATA, empty_metadata().0),
                section(GRAPH, graph()),
                section(TENSOR_INDEX, index),
                data(),
            ],
        )
    };
    let bytes = build(tensor(0, 0));
    assert_eq!(
        PnnFile::parse(&bytes).unwrap().tensor_data(0),
        Some(&[1u8, 2, 3, 4][..])
    );

    let bytes = build(tensor(1, 0));
    let offset = at(&bytes, TENSOR_INDEX, 22);
    assert_eq!(
        parse_err(&bytes),
        FormatError::UnknownLayout {
            section: SectionKind::TensorIndex,
            offset,
            code: 1
        }
    );
    let bytes = build(tensor(0, 3));
    let offset = at(&bytes, TENSOR_INDEX, 24);
    assert_eq!(
        parse_err(&bytes),
        FormatError::InvalidTag {
            section: SectionKind::TensorIndex,
            offset,
            what: "option",
            tag: 3
        }
    );
}
