//! Errors name the op, the node and the opset; inputs and dims.

use super::*;
use crate::error::ConvertError;
use crate::test_onnx::*;
use pocketnn_format::{DType, Dim, OpCode};

#[test]
fn maxpool_indices_output_is_kept() {
    let n = node(
        "MaxPool",
        "p",
        &["x"],
        &["y", "idx"],
        vec![a_ints("kernel_shape", &[2, 2])],
    );
    let g = import(&one_node_model(12, n, X4, vec![]));
    let p = only_node(&g);
    assert_eq!(p.outputs.len(), 2);
    assert_eq!(g.values[p.outputs[1]].dtype, DType::I64);
    let n = node(
        "MaxPool",
        "p",
        &["x"],
        &["y"],
        vec![a_str("auto_pad", "SAME_SIDEWAYS")],
    );
    let e = error(&one_node_model(12, n, X4, vec![])).to_string();
    assert!(e.contains("auto_pad") && e.contains("SAME_SIDEWAYS"), "{e}");
}

#[test]
fn inputs_dims_and_weights_listed_as_inputs() {
    // IR 3 style: the weight is also a graph input
    let w = tensor_f32("w", &[2], &[1.0, 2.0]);
    let nodes = vec![node("Add", "a", &["x", "w"], &["y"], vec![])];
    let inputs = vec![
        value_info("x", FLOAT, &[D::S("N"), D::Unknown, D::N(2)]),
        value_info("w", FLOAT, &[D::N(2)]),
    ];
    let g = import(&model(
        8,
        graph(nodes, inputs, vec![value_info("y", FLOAT, &[])], vec![w]),
    ));
    assert_eq!(g.inputs.len(), 1);
    let x = &g.values[g.inputs[0]];
    assert_eq!(x.name, "x");
    assert_eq!(
        x.shape,
        Some(vec![
            Dim::Symbolic("N".into()),
            Dim::Symbolic("x_dim1".into()),
            Dim::Fixed(2)
        ])
    );
    assert!(g.constant(only_node(&g).inputs[1].unwrap()).is_some());
}

#[test]
fn errors_name_op_node_and_opset() {
    // unsupported op, named node
    let e = error(&one_node_model(
        13,
        node("Det", "det1", &["x"], &["y"], vec![]),
        X4,
        vec![],
    ));
    assert_eq!(
        e.to_string(),
        "unsupported operator Det in node det1 (opset 13)"
    );
    // unnamed node: its index
    let mut n = node("Relu", "", &["x"], &["a"], vec![]);
    n.name = None;
    let mut bad = node("NonMaxSuppression", "", &["a"], &["y"], vec![]);
    bad.name = None;
    let m = model(
        13,
        graph(
            vec![n, bad],
            vec![value_info("x", FLOAT, X4)],
            vec![value_info("y", FLOAT, &[])],
            vec![],
        ),
    );
    assert_eq!(
        error(&m).to_string(),
        "unsupported operator NonMaxSuppression in node #1 (opset 13)"
    );
    // another domain
    let mut n = node("FusedConv", "fc", &["x"], &["y"], vec![]);
    n.domain = Some("com.microsoft".into());
    let e = error(&one_node_model(13, n, X4, vec![]));
    assert_eq!(
        e.to_string(),
        "unsupported operator com.microsoft::FusedConv in node fc (opset 13)"
    );
    // a schema version the importer does not know (Upsample-10 is
    // deprecated: Resize replaced it)
    let n = node("Upsample", "m", &["x", "s"], &["y"], vec![]);
    let e = error(&one_node_model(10, n, X4, vec![]));
    assert!(
        matches!(&e, ConvertError::UnsupportedOpVersion { op, node, opset: 10, version: 10 } if op == "Upsample" && node == "m"),
        "{e}"
    );
    // newer opsets work for ops that did not change
    let g = import(&one_node_model(
        25,
        node("Relu", "r", &["x"], &["y"], vec![]),
        X4,
        vec![],
    ));
    assert_eq!(only_node(&g).op, OpCode::Relu);
    // opsets outside the range
    let relu = || node("Relu", "r", &["x"], &["y"], vec![]);
    assert!(matches!(
        error(&one_node_model(6, relu(), X4, vec![])),
        ConvertError::UnsupportedOpset { opset: 6 }
    ));
    assert!(matches!(
        error(&one_node_model(99, relu(), X4, vec![])),
        ConvertError::UnsupportedOpset { opset: 99 }
    ));
    // attribute value pocketnn does not support
    let n = node(
        "LayerNormalization",
        "ln",
        &["x", "s"],
        &["y"],
        vec![a_int("stash_type", 0)],
    );
    let e = error(&one_node_model(
        17,
        n,
        X4,
        vec![tensor_f32("s", &[4], &[1.0; 4])],
    ));
    assert_eq!(
        e.to_string(),
        "operator LayerNormalization in node ln (opset 17): attribute `stash_type`: only 1 (compute in f32) is supported, got 0"
    );
    // a read of an undefined value
    let e = error(&one_node_model(
        13,
        node("Relu", "r", &["nope"], &["y"], vec![]),
        X4,
        vec![],
    ));
    assert!(
        matches!(&e, ConvertError::UndefinedValue { name, node } if name == "nope" && node == "r"),
        "{e}"
    );
}

#[test]
fn unsupported_dtypes_and_external_data_name_the_tensor() {
    let w = crate::onnx::proto::TensorProto {
        name: Some("w64".into()),
        dims: vec![1],
        data_type: Some(DOUBLE),
        double_data: vec![1.0],
        ..Default::default()
    };
    let n = node("Add", "a", &["x", "w64"], &["y"], vec![]);
    let e = error(&one_node_model(13, n.clone(), X4, vec![w]));
    assert_eq!(
        e.to_string(),
        "tensor `w64` has element type DOUBLE, which pocketnn does not support"
    );
    let mut w = tensor_f32("w64", &[1], &[]);
    w.data_location = Some(1);
    let e = error(&one_node_model(13, n, X4, vec![w]));
    assert!(
        matches!(&e, ConvertError::ExternalData { tensor } if tensor == "w64"),
        "{e}"
    );
    // a graph input of an unsupported type
    let relu = node("Relu", "r", &["x"], &["y"], vec![]);
    let m = model(
        13,
        graph(
            vec![relu],
            vec![value_info("x", DOUBLE, &[])],
            vec![value_info("y", FLOAT, &[])],
            vec![],
        ),
    );
    assert!(matches!(&error(&m), ConvertError::UnsupportedDType { tensor, .. } if tensor == "x"));
}

#[test]
fn garbage_is_a_decode_error() {
    assert!(matches!(
        error(&[0xff, 0xff, 0xff]),
        ConvertError::Decode { .. }
    ));
    assert!(matches!(error(&[]), ConvertError::MissingOpset));
}
