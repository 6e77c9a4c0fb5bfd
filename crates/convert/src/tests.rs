//! End-to-end tests of [`convert`](crate::convert) on small models.

use crate::test_onnx::*;
use crate::{ConvertError, ConvertOptions, convert, convert_file};
use pocketnn_format::{AttrValue, Dim, OpCode};

/// x -> Identity -> Conv(W, B) -> BatchNormalization -> Dropout -> y,
/// plus an unused initializer.
fn conv_bn_model() -> Vec<u8> {
    let w = tensor_f32("W", &[2, 1, 1, 1], &[2.0, -1.0]);
    let b = tensor_f32("B", &[2], &[0.5, 0.25]);
    let scale = tensor_f32("scale", &[2], &[1.0, 3.0]);
    let bias = tensor_f32("bias", &[2], &[0.0, 1.0]);
    let mean = tensor_f32("mean", &[2], &[0.5, 0.0]);
    let var = tensor_f32("var", &[2], &[3.0, 8.0]);
    let unused = tensor_f32("unused", &[3], &[1.0, 2.0, 3.0]);
    let nodes = vec![
        node("Identity", "id", &["x"], &["x1"], vec![]),
        node(
            "Conv",
            "conv",
            &["x1", "W", "B"],
            &["c"],
            vec![a_ints("kernel_shape", &[1, 1])],
        ),
        node(
            "BatchNormalization",
            "bn",
            &["c", "scale", "bias", "mean", "var"],
            &["n"],
            vec![a_float("epsilon", 1.0)],
        ),
        node("Dropout", "drop", &["n"], &["d"], vec![]),
        node("Relu", "relu", &["d"], &["y"], vec![]),
    ];
    let inputs = vec![value_info(
        "x",
        FLOAT,
        &[D::S("N"), D::N(1), D::N(4), D::N(4)],
    )];
    let g = graph(
        nodes,
        inputs,
        vec![value_info("y", FLOAT, &[])],
        vec![w, b, scale, bias, mean, var, unused],
    );
    model(13, g)
}

#[test]
fn convert_folds_batch_norm_removes_identity_and_dropout() {
    let c = convert(&conv_bn_model(), &ConvertOptions::default()).unwrap();
    let g = &c.model.graph;
    let ops: Vec<OpCode> = g.bodies[0].nodes.iter().map(|n| n.op).collect();
    // the Relu is fused into the Conv's epilogue
    assert_eq!(ops, [OpCode::Conv]);
    assert_eq!(c.report.batch_norms_folded, 1);
    assert_eq!(c.report.activations_fused, 1);
    assert_eq!(c.report.removed_nodes, 2);
    assert_eq!(c.report.nodes_before(), 5);
    assert_eq!(c.report.nodes_after(), 1);
    assert_eq!(c.report.ops_before.get("Dropout"), Some(&1));
    // s = scale / sqrt(var + 1) = [0.5, 1]; W' = W * s; B' = (B - mean) * s + bias
    let conv = &g.bodies[0].nodes[0];
    let w = conv.inputs[1].unwrap() as usize;
    let b = conv.inputs[2].unwrap() as usize;
    let data = |v: usize| {
        let t = g.values[v].constant.unwrap() as usize;
        let bytes = &c.tensor_data[t];
        bytes
            .chunks_exact(4)
            .map(|x| f32::from_le_bytes([x[0], x[1], x[2], x[3]]))
            .collect::<Vec<f32>>()
    };
    assert_eq!(data(w), [1.0, -1.0]);
    assert_eq!(data(b), [0.0, 1.25]);
    // exported: input, W', B', conv output, y; old weights and `unused` dropped
    assert_eq!(c.model.tensors.len(), 2);
    assert!(g.values.iter().all(|v| v.name != "unused" && v.name != "W"));
    assert!(c.model.tensors.iter().all(|t| t.offset % 64 == 0));
    assert_eq!(g.values[g.inputs[0] as usize].name, "x");
    assert_eq!(g.values[g.outputs()[0] as usize].name, "y");
    assert_eq!(
        g.values[g.inputs[0] as usize].shape,
        Some(vec![
            Dim::Symbolic("N".into()),
            Dim::Fixed(1),
            Dim::Fixed(4),
            Dim::Fixed(4)
        ])
    );
    assert_eq!(c.model.metadata.name, "test");
}

#[test]
fn passes_can_be_switched_off() {
    let options = ConvertOptions {
        fold_batch_norms: false,
        fuse_epilogues: false,
        fold_constants: false,
        infer_shapes: false,
        ..ConvertOptions::default()
    };
    let c = convert(&conv_bn_model(), &options).unwrap();
    let ops: Vec<OpCode> = c.model.graph.bodies[0].nodes.iter().map(|n| n.op).collect();
    assert_eq!(
        ops,
        [OpCode::Conv, OpCode::BatchNormalization, OpCode::Relu]
    );
    let bn = &c.model.graph.bodies[0].nodes[1];
    assert_eq!(bn.attribute("epsilon"), Some(&AttrValue::Float(1.0)));
}

#[test]
fn require_operators_fails_on_missing_operators() {
    let options = ConvertOptions {
        require_operators: true,
        ..ConvertOptions::default()
    };
    let missing = ["Conv", "Relu"]
        .iter()
        .any(|op| pocketnn_ops::build_operator(OpCode::from_name(op).unwrap(), &[]).is_err());
    let result = convert(&conv_bn_model(), &options);
    assert_eq!(result.is_err(), missing, "{:?}", result.err());
}

#[test]
fn convert_file_leaves_no_partial_output() {
    let dir = std::env::temp_dir().join(format!("pocketnn-convert-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("m.onnx");
    let output = dir.join("m.pnn");
    std::fs::write(&input, conv_bn_model()).unwrap();
    let result = convert_file(&input, &output, &ConvertOptions::default());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    // only the input and the finished output remain: no temporary file
    result.unwrap();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
    pocketnn_format::PnnFile::parse(&std::fs::read(&output).unwrap()).unwrap();
    let e = convert_file(
        &dir.join("missing.onnx"),
        &output,
        &ConvertOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&e, ConvertError::Io { path, .. } if path.ends_with("missing.onnx")),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// PyTorch's export of `x.flatten(1)` followed by a Gemm, with a symbolic
/// batch. Once the operators are available, shapes must come out as
/// `[N, 784]` and `[N, 10]`, and the batch-dependent shape nodes must stay.
#[test]
fn flatten_pattern_model_converts_with_symbolic_batch() {
    let nodes = vec![
        node("Shape", "shape", &["x"], &["s"], vec![]),
        node(
            "Gather",
            "gather",
            &["s", "zero"],
            &["n"],
            vec![a_int("axis", 0)],
        ),
        node("Unsqueeze", "unsqueeze", &["n", "axes"], &["n1"], vec![]),
        node(
            "Concat",
            "concat",
            &["n1", "minus_one"],
            &["target"],
            vec![a_int("axis", 0)],
        ),
        node("Reshape", "reshape", &["x", "target"], &["flat"], vec![]),
        node(
            "Gemm",
            "fc",
            &["flat", "W", "B"],
            &["y"],
            vec![a_int("transB", 1)],
        ),
    ];
    let inits = vec![
        tensor_i64("zero", &[], &[0]),
        tensor_i64("axes", &[1], &[0]),
        tensor_i64("minus_one", &[1], &[-1]),
        tensor_f32("W", &[10, 784], &vec![0.5; 7840]),
        tensor_f32("B", &[10], &[0.0; 10]),
    ];
    let x = value_info("x", FLOAT, &[D::S("N"), D::N(1), D::N(28), D::N(28)]);
    let c = convert(
        &model(
            13,
            graph(nodes, vec![x], vec![value_info("y", FLOAT, &[])], inits),
        ),
        &ConvertOptions::default(),
    )
    .unwrap();
    let g = &c.model.graph;
    assert_eq!(c.report.nodes_after(), 6);
    let all_available = ["Shape", "Gather", "Unsqueeze", "Concat", "Reshape", "Gemm"]
        .iter()
        .all(|op| {
            let attrs = [pocketnn_format::Attribute {
                name: "axis".into(),
                value: AttrValue::Int(0),
            }];
            let op = OpCode::from_name(op).unwrap();
            let attrs: &[pocketnn_format::Attribute] =
                if op == OpCode::Concat { &attrs } else { &[] };
            pocketnn_ops::build_operator(op, attrs).is_ok()
        });
    let shape_of = |name: &str| {
        g.values
            .iter()
            .find(|v| v.name == name)
            .and_then(|v| v.shape.clone())
    };
    if all_available {
        let n = || Dim::Symbolic("N".into());
        assert_eq!(shape_of("flat"), Some(vec![n(), Dim::Fixed(784)]));
        assert_eq!(shape_of("y"), Some(vec![n(), Dim::Fixed(10)]));
        assert!(c.report.warnings.is_empty(), "{:?}", c.report.warnings);
    } else {
        assert_eq!(shape_of("y"), None);
        assert!(!c.report.warnings.is_empty());
    }
}
