//! Rejection rules of the graph and the metadata. Each invalid model is
//! given to the writer (which must refuse it) and, assembled without
//! validation, to the reader (which must reject it with the same error).

use super::helpers::*;
use crate::*;

/// `(writer result, reader result)` for `graph` with `tensors` one-byte tensors.
fn both(graph: &GraphDef, tensors: usize) -> (Result<(), FormatError>, Result<(), FormatError>) {
    let mut writer = PnnWriter::new(Metadata::default(), graph.clone());
    let mut entries = Vec::new();
    for i in 0..tensors {
        writer.add_tensor(
            TensorSpec::new(format!("t{i}"), DType::U8, vec![1]),
            vec![7],
        );
        entries.push(TensorEntry {
            name: format!("t{i}"),
            dtype: DType::U8,
            shape: vec![1],
            layout: Layout::RowMajor,
            quant: None,
            offset: 64 * i as u64,
            len: 1,
        });
    }
    let data = (tensors > 0).then(|| vec![7; 64 * (tensors - 1) + 1]);
    let bytes = assemble(&Metadata::default(), graph, &entries, data);
    (
        writer.to_bytes().map(|_| ()),
        PnnFile::parse(&bytes).map(|_| ()),
    )
}

fn rejected(graph: &GraphDef, tensors: usize, expected: FormatError) {
    let (written, read) = both(graph, tensors);
    assert_eq!(written, Err(expected.clone()), "writer");
    assert_eq!(read, Err(expected), "reader");
}

fn accepted(graph: &GraphDef, tensors: usize) {
    assert_eq!(both(graph, tensors), (Ok(()), Ok(())));
}

fn values(n: usize) -> Vec<ValueDef> {
    (0..n)
        .map(|i| value(&format!("v{i}"), DType::F32))
        .collect()
}

fn site(body: u32, node: u32, name: &str) -> GraphSite {
    GraphSite::Node {
        body,
        node,
        name: name.into(),
    }
}

fn graph(n_values: usize, inputs: &[u32], bodies: Vec<Body>) -> GraphDef {
    GraphDef {
        values: values(n_values),
        inputs: inputs.to_vec(),
        bodies,
    }
}

fn body(nodes: Vec<NodeDef>, outputs: &[u32]) -> Body {
    Body {
        nodes,
        outputs: outputs.to_vec(),
    }
}

/// An `If` node reading `cond`, producing `outputs`, owning these bodies.
fn if_node(cond: u32, outputs: &[u32], bodies: &[u32]) -> NodeDef {
    let mut n = node("if", OpCode::If, &[cond], outputs);
    n.attributes = bodies
        .iter()
        .enumerate()
        .map(|(i, &b)| body_attr(&format!("b{i}"), b))
        .collect();
    n
}

fn relu(name: &str, input: u32, output: u32) -> NodeDef {
    node(name, OpCode::Relu, &[input], &[output])
}

#[test]
fn missing_main_body() {
    rejected(&graph(0, &[], vec![]), 0, FormatError::MissingMainBody);
}

#[test]
fn value_ids_out_of_range() {
    let out = |site, value| FormatError::ValueOutOfRange {
        site,
        value,
        count: 2,
    };
    let g = graph(2, &[5], vec![body(vec![], &[])]);
    rejected(&g, 0, out(GraphSite::GraphInputs, 5));
    let g = graph(2, &[0], vec![body(vec![relu("r", 9, 1)], &[1])]);
    rejected(&g, 0, out(site(0, 0, "r"), 9));
    let g = graph(2, &[0], vec![body(vec![relu("r", 0, 2)], &[])]);
    rejected(&g, 0, out(site(0, 0, "r"), 2));
    let g = graph(2, &[0], vec![body(vec![], &[0, 2])]);
    rejected(&g, 0, out(GraphSite::BodyOutputs { body: 0 }, 2));
}

#[test]
fn reserved_none_id_is_rejected_by_the_writer() {
    // u32::MAX encodes "omitted input", so the writer must not write Some(u32::MAX).
    let g = graph(2, &[0], vec![body(vec![relu("r", u32::MAX, 1)], &[1])]);
    let error = PnnWriter::new(Metadata::default(), g)
        .to_bytes()
        .unwrap_err();
    assert!(matches!(
        error,
        FormatError::ValueOutOfRange {
            value: u32::MAX,
            ..
        }
    ));
}

#[test]
fn tensor_id_out_of_range() {
    let mut g = graph(2, &[0], vec![body(vec![], &[1])]);
    g.values[1].constant = Some(1);
    rejected(
        &g,
        1,
        FormatError::TensorOutOfRange {
            value: 1,
            tensor: 1,
            count: 1,
        },
    );
    g.values[1].constant = Some(0);
    accepted(&g, 1);
}

#[test]
fn body_references() {
    let two = || vec![body(vec![if_node(0, &[], &[1])], &[]), body(vec![], &[])];
    accepted(&graph(1, &[0], two()), 0);

    let mut bodies = two();
    bodies[0].nodes[0] = if_node(0, &[], &[3]);
    let error = FormatError::BodyOutOfRange {
        site: site(0, 0, "if"),
        body: 3,
        count: 2,
    };
    rejected(&graph(1, &[0], bodies), 0, error);

    let mut bodies = two();
    bodies[0].nodes[0] = if_node(0, &[], &[1, 0]);
    rejected(
        &graph(1, &[0], bodies),
        0,
        FormatError::MainBodyReferenced {
            site: site(0, 0, "if"),
        },
    );

    let mut bodies = two();
    bodies[0].nodes[0] = if_node(0, &[], &[1, 1]);
    let error = FormatError::BodyReferencedTwice {
        body: 1,
        site: site(0, 0, "if"),
    };
    rejected(&graph(1, &[0], bodies), 0, error);

    let mut bodies = two();
    bodies.push(body(vec![], &[]));
    rejected(
        &graph(1, &[0], bodies),
        0,
        FormatError::BodyUnreferenced { body: 2 },
    );
}

#[test]
fn body_cycles() {
    // Body 1 owns itself.
    let bodies = vec![body(vec![], &[]), body(vec![if_node(0, &[], &[1])], &[])];
    rejected(
        &graph(1, &[0], bodies),
        0,
        FormatError::BodyCycle { body: 1 },
    );
    // Bodies 1 and 2 own each other.
    let bodies = vec![
        body(vec![], &[]),
        body(vec![if_node(0, &[], &[2])], &[]),
        body(vec![if_node(0, &[], &[1])], &[]),
    ];
    rejected(
        &graph(1, &[0], bodies),
        0,
        FormatError::BodyCycle { body: 1 },
    );
}

#[test]
fn values_defined_twice() {
    let twice = |value: u32| FormatError::ValueDefinedTwice {
        value,
        name: format!("v{value}"),
    };
    // Two nodes produce v1.
    let g = graph(
        2,
        &[0],
        vec![body(vec![relu("a", 0, 1), relu("b", 0, 1)], &[1])],
    );
    rejected(&g, 0, twice(1));
    // A graph input listed twice.
    rejected(&graph(1, &[0, 0], vec![body(vec![], &[])]), 0, twice(0));
    // A graph input that is also a constant.
    let mut g = graph(1, &[0], vec![body(vec![], &[])]);
    g.values[0].constant = Some(0);
    rejected(&g, 1, twice(0));
    // A constant that is also produced.
    let mut g = graph(2, &[0], vec![body(vec![relu("a", 0, 1)], &[1])]);
    g.values[1].constant = Some(0);
    rejected(&g, 1, twice(1));
    // Produced in a sub-body and in the main body.
    let bodies = vec![
        body(vec![if_node(0, &[], &[1]), relu("a", 0, 1)], &[]),
        body(vec![relu("b", 0, 1)], &[1]),
    ];
    rejected(&graph(2, &[0], bodies), 0, twice(1));
}

fn unseen(site: GraphSite, value: u32) -> FormatError {
    FormatError::UseBeforeDefinition {
        site,
        value,
        name: format!("v{value}"),
    }
}

#[test]
fn nodes_must_be_topologically_sorted() {
    // v0 input; a: v1 = relu(v2); b: v2 = relu(v0).
    let g = graph(
        3,
        &[0],
        vec![body(vec![relu("a", 2, 1), relu("b", 0, 2)], &[1])],
    );
    rejected(&g, 0, unseen(site(0, 0, "a"), 2));
    // A node reading its own output.
    let g = graph(2, &[0], vec![body(vec![relu("a", 1, 1)], &[1])]);
    rejected(&g, 0, unseen(site(0, 0, "a"), 1));
    // A value nobody defines.
    let g = graph(3, &[0], vec![body(vec![relu("a", 2, 1)], &[1])]);
    rejected(&g, 0, unseen(site(0, 0, "a"), 2));
    // A graph output nobody defines.
    let g = graph(3, &[0], vec![body(vec![], &[2])]);
    rejected(&g, 0, unseen(GraphSite::BodyOutputs { body: 0 }, 2));
    // Constants are visible everywhere.
    let mut g = graph(
        3,
        &[0],
        vec![body(vec![node("add", OpCode::Add, &[0, 2], &[1])], &[1])],
    );
    g.values[2].constant = Some(0);
    accepted(&g, 1);
}

#[test]
fn sub_body_scoping() {
    // v0 input, v1 = relu(v0) before the If, v2 = If output, v3 inside then,
    // v4 inside the nested body, v5 after the If, v6 inside else.
    let ok = || {
        vec![
            body(
                vec![
                    relu("pre", 0, 1),
                    if_node(0, &[2], &[1, 2]),
                    relu("post", 2, 5),
                ],
                &[5],
            ),
            body(vec![relu("then", 1, 3), if_node(0, &[], &[3])], &[3]),
            body(vec![relu("else", 0, 6)], &[6]),
            body(vec![node("nested", OpCode::Add, &[1, 3], &[4])], &[4]),
        ]
    };
    accepted(&graph(7, &[0], ok()), 0);

    // A sub-body reading the owner's own output.
    let mut bodies = ok();
    bodies[1].nodes[0] = relu("then", 2, 3);
    rejected(&graph(7, &[0], bodies), 0, unseen(site(1, 0, "then"), 2));
    // A sub-body reading a value defined after the owner.
    let mut bodies = ok();
    bodies[2].nodes[0] = relu("else", 5, 6);
    rejected(&graph(7, &[0], bodies), 0, unseen(site(2, 0, "else"), 5));
    // A sibling body's value.
    let mut bodies = ok();
    bodies[2].nodes[0] = relu("else", 3, 6);
    rejected(&graph(7, &[0], bodies), 0, unseen(site(2, 0, "else"), 3));
    // The main body reading a value of a sub-body.
    let mut bodies = ok();
    bodies[0].nodes[2] = relu("post", 6, 5);
    rejected(&graph(7, &[0], bodies), 0, unseen(site(0, 2, "post"), 6));
    // The main graph's outputs cannot name sub-body values.
    let mut bodies = ok();
    bodies[0].outputs = vec![5, 4];
    rejected(
        &graph(7, &[0], bodies),
        0,
        unseen(GraphSite::BodyOutputs { body: 0 }, 4),
    );
    // A nested body reading its grandparent's value defined after the owner chain.
    let mut bodies = ok();
    bodies[3].nodes[0] = node("nested", OpCode::Add, &[1, 5], &[4]);
    rejected(&graph(7, &[0], bodies), 0, unseen(site(3, 0, "nested"), 5));
}

#[test]
fn deep_nesting_does_not_recurse() {
    // 60 000 bodies, each owning the next; the innermost reads the graph input.
    let depth = 60_000u32;
    let mut bodies: Vec<Body> = (0..depth)
        .map(|b| body(vec![if_node(0, &[], &[b + 1])], &[]))
        .collect();
    bodies.push(body(vec![relu("leaf", 0, 1)], &[1]));
    let g = graph(2, &[0], bodies);
    let bytes = PnnWriter::new(Metadata::default(), g.clone())
        .to_bytes()
        .unwrap();
    assert_eq!(PnnFile::parse(&bytes).unwrap().model().graph, g);
}

#[test]
fn duplicate_attribute_names() {
    let mut n = relu("r", 0, 1);
    let attribute = Attribute {
        name: "alpha".into(),
        value: AttrValue::Float(0.1),
    };
    n.attributes = vec![attribute.clone(), attribute];
    let g = graph(2, &[0], vec![body(vec![n], &[1])]);
    let error = FormatError::DuplicateAttribute {
        site: site(0, 0, "r"),
        name: "alpha".into(),
    };
    rejected(&g, 0, error);
}

#[test]
fn duplicate_value_names() {
    let mut g = graph(3, &[0], vec![body(vec![], &[])]);
    g.values[2].name = "v0".into();
    rejected(
        &g,
        0,
        FormatError::DuplicateValueName {
            name: "v0".into(),
            first: 0,
            second: 2,
        },
    );
}

#[test]
fn metadata_property_order() {
    let props = |keys: &[&str]| Metadata {
        properties: keys
            .iter()
            .map(|k| (k.to_string(), "x".to_string()))
            .collect(),
        ..Metadata::default()
    };
    let read =
        |meta: &Metadata| PnnFile::parse(&assemble(meta, &relu_graph(), &[], None)).map(|_| ());
    assert_eq!(read(&props(&["a", "b"])), Ok(()));
    assert_eq!(
        read(&props(&["b", "a"])),
        Err(FormatError::UnsortedPropertyKeys { key: "a".into() })
    );
    assert_eq!(
        read(&props(&["a", "a"])),
        Err(FormatError::DuplicatePropertyKey { key: "a".into() })
    );

    // The writer sorts, but cannot fix duplicates.
    let bytes = PnnWriter::new(props(&["b", "é", "a"]), relu_graph())
        .to_bytes()
        .unwrap();
    let file = PnnFile::parse(&bytes).unwrap();
    let keys: Vec<&str> = file
        .model()
        .metadata
        .properties
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(keys, ["a", "b", "é"]);
    let error = PnnWriter::new(props(&["b", "a", "b"]), relu_graph())
        .to_bytes()
        .unwrap_err();
    assert_eq!(error, FormatError::DuplicatePropertyKey { key: "b".into() });
}
