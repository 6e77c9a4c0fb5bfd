//! One test per normalised op family.

use super::*;
use crate::error::ConvertError;
use crate::graph::Graph;
use crate::test_onnx::*;
use pocketnn_format::{AttrValue, DType, OpCode};

#[test]
fn clip_6_attributes_become_inputs() {
    let n = node(
        "Clip",
        "c",
        &["x"],
        &["y"],
        vec![a_float("min", -1.5), a_float("max", 6.0)],
    );
    let g = import(&one_node_model(9, n, X4, vec![]));
    let c = only_node(&g);
    assert_eq!(c.op, OpCode::Clip);
    assert_eq!(f32s(&g, c.inputs[1]), [-1.5]);
    assert_eq!(f32s(&g, c.inputs[2]), [6.0]);
    assert!(c.attribute("min").is_none() && c.attribute("max").is_none());
    // only max: min is an omitted input
    let n = node("Clip", "c", &["x"], &["y"], vec![a_float("max", 6.0)]);
    let g = import(&one_node_model(7, n, X4, vec![]));
    let c = only_node(&g);
    assert_eq!(c.inputs[1], None);
    assert_eq!(f32s(&g, c.inputs[2]), [6.0]);
    // Clip-11 passes its inputs through
    let n = node("Clip", "c", &["x", "lo"], &["y"], vec![]);
    let lo = tensor_f32("lo", &[], &[0.0]);
    let g = import(&one_node_model(11, n, X4, vec![lo]));
    assert_eq!(only_node(&g).inputs.len(), 2);
}

#[test]
fn pad_2_attributes_become_inputs() {
    let attrs = vec![
        a_ints("pads", &[0, 0, 1, 2, 0, 0, 3, 4]),
        a_float("value", 0.5),
    ];
    let g = import(&one_node_model(
        10,
        node("Pad", "p", &["x"], &["y"], attrs),
        X4,
        vec![],
    ));
    let p = only_node(&g);
    assert_eq!(i64s(&g, p.inputs[1]), [0, 0, 1, 2, 0, 0, 3, 4]);
    assert_eq!(f32s(&g, p.inputs[2]), [0.5]);
    assert!(p.attribute("pads").is_none() && p.attribute("value").is_none());
    // reflect mode keeps the mode and takes no value
    let attrs = vec![
        a_ints("pads", &[0, 0, 1, 1, 0, 0, 1, 1]),
        a_str("mode", "reflect"),
    ];
    let g = import(&one_node_model(
        7,
        node("Pad", "p", &["x"], &["y"], attrs),
        X4,
        vec![],
    ));
    let p = only_node(&g);
    assert_eq!(p.inputs.len(), 2);
    assert_eq!(string(p, "mode").as_deref(), Some("reflect"));
    // wrap exists only from version 19
    let attrs = vec![a_str("mode", "wrap")];
    let n = node("Pad", "p", &["x", "pads"], &["y"], attrs);
    let pads = tensor_i64("pads", &[8], &[0; 8]);
    let e = error(&one_node_model(18, n, X4, vec![pads])).to_string();
    assert!(e.contains("mode") && e.contains("wrap"), "{e}");
}

#[test]
fn slice_1_attributes_become_inputs() {
    let attrs = vec![
        a_ints("starts", &[1]),
        a_ints("ends", &[3]),
        a_ints("axes", &[2]),
    ];
    let g = import(&one_node_model(
        9,
        node("Slice", "s", &["x"], &["y"], attrs),
        X4,
        vec![],
    ));
    let s = only_node(&g);
    assert_eq!(i64s(&g, s.inputs[1]), [1]);
    assert_eq!(i64s(&g, s.inputs[2]), [3]);
    assert_eq!(i64s(&g, s.inputs[3]), [2]);
    assert!(s.attributes.is_empty());
}

#[test]
fn split_gets_split_input_and_always_num_outputs() {
    let n = node(
        "Split",
        "s",
        &["x"],
        &["a", "b"],
        vec![a_int("axis", 3), a_ints("split", &[1, 3])],
    );
    let g = import(&one_node_model(11, n, X4, vec![]));
    let s = only_node(&g);
    assert_eq!(i64s(&g, s.inputs[1]), [1, 3]);
    assert_eq!(int(s, "num_outputs"), Some(2));
    assert_eq!(int(s, "axis"), Some(3));
    assert!(s.attribute("split").is_none());
    // equal split, opset 13: no split input, num_outputs still set
    let n = node(
        "Split",
        "s",
        &["x"],
        &["a", "b", "c"],
        vec![a_int("axis", 2)],
    );
    let g = import(&one_node_model(13, n, X4, vec![]));
    assert_eq!(only_node(&g).inputs.len(), 1);
    assert_eq!(int(only_node(&g), "num_outputs"), Some(3));
    // a num_outputs that contradicts the outputs is an error
    let n = node(
        "Split",
        "s",
        &["x"],
        &["a", "b"],
        vec![a_int("num_outputs", 3)],
    );
    let e = error(&one_node_model(18, n, X4, vec![])).to_string();
    assert!(e.contains("num_outputs"), "{e}");
}

#[test]
fn squeeze_unsqueeze_and_reduce_axes_become_inputs() {
    for (op, opset) in [
        ("Squeeze", 11),
        ("Unsqueeze", 11),
        ("ReduceSum", 12),
        ("ReduceMean", 17),
        ("ReduceMax", 13),
        ("ReduceMin", 11),
        ("ReduceProd", 13),
    ] {
        let n = node(
            op,
            "r",
            &["x"],
            &["y"],
            vec![a_ints("axes", &[0, -1]), a_int("keepdims", 0)],
        );
        let n = if op.starts_with("Reduce") {
            n
        } else {
            node(op, "r", &["x"], &["y"], vec![a_ints("axes", &[0, -1])])
        };
        let g = import(&one_node_model(opset, n, X4, vec![]));
        let r = only_node(&g);
        assert_eq!(r.op.name(), op);
        assert_eq!(i64s(&g, r.inputs[1]), [0, -1], "{op}");
        assert!(r.attribute("axes").is_none(), "{op}");
        if op.starts_with("Reduce") {
            assert_eq!(int(r, "keepdims"), Some(0));
        }
    }
    // ReduceMean-13 still has the attribute form; ReduceSum-13 the input form
    let n = node("ReduceSum", "r", &["x", "axes"], &["y"], vec![]);
    let g = import(&one_node_model(
        13,
        n,
        X4,
        vec![tensor_i64("axes", &[1], &[1])],
    ));
    assert_eq!(i64s(&g, only_node(&g).inputs[1]), [1]);
    // no axes: reduce over everything, no input added
    let g = import(&one_node_model(
        11,
        node("ReduceMean", "r", &["x"], &["y"], vec![]),
        X4,
        vec![],
    ));
    assert_eq!(only_node(&g).inputs.len(), 1);
}

#[test]
fn softmax_before_13_coerces_to_2d() {
    for op in ["Softmax", "LogSoftmax"] {
        let g = import(&one_node_model(
            11,
            node(op, "s", &["x"], &["y"], vec![]),
            X4,
            vec![],
        ));
        let s = only_node(&g);
        assert_eq!((int(s, "axis"), int(s, "coerce_2d")), (Some(1), Some(1)));
        let n = node(op, "s", &["x"], &["y"], vec![a_int("axis", 2)]);
        let g = import(&one_node_model(9, n, X4, vec![]));
        assert_eq!(
            (int(only_node(&g), "axis"), int(only_node(&g), "coerce_2d")),
            (Some(2), Some(1))
        );
        let g = import(&one_node_model(
            13,
            node(op, "s", &["x"], &["y"], vec![]),
            X4,
            vec![],
        ));
        assert_eq!(only_node(&g).attribute("coerce_2d"), None);
        assert_eq!(only_node(&g).attribute("axis"), None);
    }
}

#[test]
fn upsample_and_resize_10_become_asymmetric_floor_resize() {
    let check = |g: &Graph, mode: &str| {
        let r = only_node(g);
        assert_eq!(r.op, OpCode::Resize);
        assert_eq!(r.inputs.len(), 3);
        assert_eq!(r.inputs[1], None);
        assert_eq!(f32s(g, r.inputs[2]), [1.0, 1.0, 2.0, 2.0]);
        assert_eq!(string(r, "mode").as_deref(), Some(mode));
        assert_eq!(
            string(r, "coordinate_transformation_mode").as_deref(),
            Some("asymmetric")
        );
        assert_eq!(string(r, "nearest_mode").as_deref(), Some("floor"));
    };
    let n = node(
        "Upsample",
        "u",
        &["x"],
        &["y"],
        vec![a_floats("scales", &[1.0, 1.0, 2.0, 2.0])],
    );
    check(&import(&one_node_model(8, n, X4, vec![])), "nearest");
    let scales = || tensor_f32("s", &[4], &[1.0, 1.0, 2.0, 2.0]);
    let n = node(
        "Upsample",
        "u",
        &["x", "s"],
        &["y"],
        vec![a_str("mode", "linear")],
    );
    check(&import(&one_node_model(9, n, X4, vec![scales()])), "linear");
    let n = node("Resize", "u", &["x", "s"], &["y"], vec![]);
    check(
        &import(&one_node_model(10, n, X4, vec![scales()])),
        "nearest",
    );
    // Upsample was deprecated by opset 10: its version there is unknown
    let n = node("Upsample", "u", &["x", "s"], &["y"], vec![]);
    let e = error(&one_node_model(10, n, X4, vec![scales()]));
    assert!(
        matches!(e, ConvertError::UnsupportedOpVersion { version: 10, .. }),
        "{e}"
    );
    // Resize-11+ passes through, cubic included; an unknown mode is rejected
    let n = node(
        "Resize",
        "u",
        &["x", "", "s"],
        &["y"],
        vec![a_str("mode", "bicubic")],
    );
    let e = error(&one_node_model(13, n, X4, vec![scales()])).to_string();
    assert!(
        e.contains("bicubic") && e.contains("node u") && e.contains("opset 13"),
        "{e}"
    );
}

#[test]
fn batch_norm_spatial_and_training_outputs() {
    let params: Vec<_> = ["s", "b", "m", "v"]
        .iter()
        .map(|n| tensor_f32(n, &[2], &[1.0, 1.0]))
        .collect();
    let inputs = ["x", "s", "b", "m", "v"];
    let n = node(
        "BatchNormalization",
        "bn",
        &inputs,
        &["y"],
        vec![a_int("spatial", 1), a_float("epsilon", 1e-3)],
    );
    let g = import(&one_node_model(7, n, X4, params.clone()));
    let bn = only_node(&g);
    assert_eq!(bn.attribute("spatial"), None);
    assert_eq!(bn.attribute("epsilon"), Some(&AttrValue::Float(1e-3)));
    let n = node(
        "BatchNormalization",
        "bn",
        &inputs,
        &["y"],
        vec![a_int("spatial", 0)],
    );
    let e = error(&one_node_model(7, n, X4, params.clone())).to_string();
    assert!(e.contains("spatial"), "{e}");
    // unused training outputs are dropped, used ones are an error
    let n = node(
        "BatchNormalization",
        "bn",
        &inputs,
        &["y", "rm", "rv"],
        vec![],
    );
    let m = model(
        15,
        graph(
            vec![n],
            vec![value_info("x", FLOAT, X4)],
            vec![value_info("y", FLOAT, &[])],
            params.clone(),
        ),
    );
    let g = import(&m);
    assert_eq!(only_node(&g).outputs.len(), 1);
    let bn = node("BatchNormalization", "bn", &inputs, &["y", "rm"], vec![]);
    let relu = node("Relu", "r", &["rm"], &["z"], vec![]);
    let m = model(
        15,
        graph(
            vec![bn, relu],
            vec![value_info("x", FLOAT, X4)],
            vec![value_info("z", FLOAT, &[])],
            params,
        ),
    );
    let e = error(&m);
    assert!(
        matches!(&e, ConvertError::UnsupportedOutput { index: 1, node, .. } if node == "bn"),
        "{e}"
    );
}

#[test]
fn dropout_and_identity_are_removed() {
    let nodes = vec![
        node("Identity", "i", &["x"], &["a"], vec![]),
        node(
            "Dropout",
            "d",
            &["a"],
            &["b", "mask"],
            vec![a_float("ratio", 0.5)],
        ),
        node("Relu", "r", &["b"], &["y"], vec![]),
        node("Identity", "out", &["y"], &["z"], vec![]),
    ];
    let (g, stats) = import_model(&model(
        12,
        graph(
            nodes,
            vec![value_info("x", FLOAT, X4)],
            vec![value_info("z", FLOAT, &[])],
            vec![],
        ),
    ))
    .unwrap();
    let ops: Vec<OpCode> = g.bodies[0].nodes.iter().map(|n| n.op).collect();
    // the Identity producing a graph output stays, so the output keeps its name
    assert_eq!(ops, [OpCode::Relu, OpCode::Identity]);
    let relu = &g.bodies[0].nodes[0];
    assert_eq!(relu.inputs, [Some(g.inputs[0])]);
    assert_eq!(g.name(g.bodies[0].outputs[0]), "z");
    assert_eq!(stats.removed_nodes, 2);
    // reading the mask is an error
    let nodes = vec![
        node("Dropout", "d", &["x"], &["b", "mask"], vec![]),
        node("Cast", "c", &["mask"], &["y"], vec![a_int("to", 1)]),
    ];
    let e = error(&model(
        12,
        graph(
            nodes,
            vec![value_info("x", FLOAT, X4)],
            vec![value_info("y", FLOAT, &[])],
            vec![],
        ),
    ));
    assert!(
        matches!(&e, ConvertError::UnsupportedOutput { op, index: 1, .. } if op == "Dropout"),
        "{e}"
    );
}

#[test]
fn constants_in_every_form() {
    let forms = vec![
        (
            a_tensor("value", tensor_i64("", &[2], &[3, 4])),
            DType::I64,
            vec![2usize],
        ),
        (a_float("value_float", 2.5), DType::F32, vec![]),
        (
            a_floats("value_floats", &[1.0, 2.0, 3.0]),
            DType::F32,
            vec![3],
        ),
        (a_int("value_int", 7), DType::I64, vec![]),
        (a_ints("value_ints", &[1, 2]), DType::I64, vec![2]),
    ];
    for (attr, dtype, shape) in forms {
        let nodes = vec![
            node("Constant", "k", &[], &["c"], vec![attr]),
            node("Add", "a", &["x", "c"], &["y"], vec![]),
        ];
        let g = import(&model(
            13,
            graph(
                nodes,
                vec![value_info("x", FLOAT, &[])],
                vec![value_info("y", FLOAT, &[])],
                vec![],
            ),
        ));
        let add = only_node(&g);
        let c = g.constant(add.inputs[1].unwrap()).unwrap();
        assert_eq!((c.dtype(), c.shape()), (dtype, shape.as_slice()));
        assert_eq!(g.name(add.inputs[1].unwrap()), "c");
    }
    let n = node(
        "Constant",
        "k",
        &[],
        &["c"],
        vec![a_str("value_string", "hi")],
    );
    let e = error(&model(
        13,
        graph(vec![n], vec![], vec![value_info("c", FLOAT, &[])], vec![]),
    ));
    assert!(
        matches!(&e, ConvertError::UnsupportedDType { tensor, .. } if tensor == "c"),
        "{e}"
    );
}

#[test]
fn constant_of_shape_cast_and_eyelike_attributes() {
    let shape = tensor_i64("shape", &[1], &[3]);
    let value = tensor_i64("", &[1], &[5]);
    let n = node(
        "ConstantOfShape",
        "c",
        &["shape"],
        &["y"],
        vec![a_tensor("value", value)],
    );
    let g = import(&one_node_model(13, n, &[], vec![shape.clone()]));
    let c = only_node(&g);
    assert_eq!((int(c, "dtype"), int(c, "value_int")), (Some(7), Some(5)));
    assert_eq!(g.values[c.outputs[0]].dtype, DType::I64);
    let n = node("ConstantOfShape", "c", &["shape"], &["y"], vec![]);
    let g = import(&one_node_model(13, n, &[], vec![shape]));
    let c = only_node(&g);
    assert_eq!(
        (int(c, "dtype"), c.attribute("value_float")),
        (Some(1), Some(&AttrValue::Float(0.0)))
    );
    // Cast: `to` is a pocketnn dtype code; unsupported targets are errors
    let g = import(&one_node_model(
        13,
        node("Cast", "c", &["x"], &["y"], vec![a_int("to", 10)]),
        X4,
        vec![],
    ));
    assert_eq!(g.values[only_node(&g).outputs[0]].dtype, DType::F16);
    let e = error(&one_node_model(
        13,
        node(
            "Cast",
            "c",
            &["x"],
            &["y"],
            vec![a_int("to", DOUBLE as i64)],
        ),
        X4,
        vec![],
    ));
    let text = e.to_string();
    assert!(
        text.contains("DOUBLE") && text.contains("Cast") && text.contains("node c"),
        "{text}"
    );
    let e = error(&one_node_model(
        13,
        node("EyeLike", "e", &["x"], &["y"], vec![a_int("dtype", 5)]),
        X4,
        vec![],
    ));
    assert!(
        matches!(e, ConvertError::UnsupportedAttribute { .. }),
        "{e}"
    );
}

#[test]
fn if_branches_become_bodies_reading_outer_values() {
    let then_g = graph(
        vec![node("Relu", "t", &["x"], &["ty"], vec![])],
        vec![],
        vec![value_info("ty", FLOAT, &[])],
        vec![],
    );
    let else_g = graph(
        vec![node("Neg", "e", &["x"], &["ey"], vec![])],
        vec![],
        vec![value_info("ey", FLOAT, &[])],
        vec![],
    );
    let cond = TensorProtoBool::scalar("cond", true);
    let n = node(
        "If",
        "if",
        &["cond"],
        &["y"],
        vec![
            a_graph("then_branch", then_g),
            a_graph("else_branch", else_g),
        ],
    );
    let g = import(&one_node_model(13, n, X4, vec![cond]));
    assert_eq!(g.bodies.len(), 3);
    let if_node = only_node(&g);
    assert_eq!(if_node.attribute("then_branch"), Some(&AttrValue::Body(1)));
    assert_eq!(if_node.attribute("else_branch"), Some(&AttrValue::Body(2)));
    assert_eq!(g.bodies[1].nodes[0].op, OpCode::Relu);
    assert_eq!(g.bodies[1].nodes[0].inputs, [Some(g.inputs[0])]);
    assert_eq!(g.bodies[2].nodes[0].op, OpCode::Neg);
    assert_eq!(g.values[if_node.outputs[0]].dtype, DType::F32);
}

/// A bool tensor, written as ONNX stores it (int32_data).
struct TensorProtoBool;
impl TensorProtoBool {
    fn scalar(name: &str, v: bool) -> crate::onnx::proto::TensorProto {
        crate::onnx::proto::TensorProto {
            name: Some(name.into()),
            data_type: Some(9),
            int32_data: vec![i32::from(v)],
            ..Default::default()
        }
    }
}
