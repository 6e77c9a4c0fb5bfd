//! Small models written by onnx.helper and checked by onnx.checker
//! (tests/data/make_models.py): the importer reads what ONNX itself writes.

use pocketnn_convert::{ConvertOptions, Converted, convert};
use pocketnn_format::{AttrValue, DType, NodeDef, OpCode};

fn convert_data(name: &str) -> Converted {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    convert(&std::fs::read(path).unwrap(), &ConvertOptions::default()).unwrap()
}

fn node(c: &Converted, op: OpCode) -> &NodeDef {
    c.model.graph.bodies[0]
        .nodes
        .iter()
        .find(|n| n.op == op)
        .unwrap_or_else(|| panic!("no {op}"))
}

/// The data of constant input `index` of `n`, as f32 or i64 numbers.
fn constant(c: &Converted, n: &NodeDef, index: usize) -> Vec<f64> {
    let value = &c.model.graph.values[n.inputs[index].expect("input present") as usize];
    let t = value
        .constant
        .unwrap_or_else(|| panic!("{} is not constant", value.name)) as usize;
    let bytes = &c.tensor_data[t];
    match c.model.tensors[t].dtype {
        DType::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64)
            .collect(),
        DType::I64 => bytes
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f64)
            .collect(),
        other => panic!("{other}"),
    }
}

#[test]
fn opset_9_attribute_forms_become_inputs() {
    let c = convert_data("legacy_opset9.onnx");
    let ops: Vec<OpCode> = c.model.graph.bodies[0].nodes.iter().map(|n| n.op).collect();
    use OpCode::*;
    assert_eq!(
        ops,
        [
            Clip,
            Pad,
            Slice,
            BatchNormalization,
            Resize,
            Split,
            Squeeze,
            Softmax
        ]
    );
    let clip = node(&c, Clip);
    assert_eq!(
        (constant(&c, clip, 1), constant(&c, clip, 2)),
        (vec![0.0], vec![6.0])
    );
    let pad = node(&c, Pad);
    assert_eq!(
        constant(&c, pad, 1),
        [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]
    );
    assert_eq!(constant(&c, pad, 2), [0.5]);
    let slice = node(&c, Slice);
    assert_eq!(constant(&c, slice, 1), [1.0, 1.0]);
    assert_eq!(constant(&c, slice, 2), [5.0, 5.0]);
    assert_eq!(constant(&c, slice, 3), [2.0, 3.0]);
    let resize = node(&c, Resize);
    assert_eq!(resize.inputs[1], None);
    assert_eq!(constant(&c, resize, 2), [1.0, 1.0, 2.0, 2.0]);
    assert_eq!(
        resize.attribute("nearest_mode"),
        Some(&AttrValue::String("floor".into()))
    );
    assert_eq!(
        resize.attribute("coordinate_transformation_mode"),
        Some(&AttrValue::String("asymmetric".into()))
    );
    let split = node(&c, Split);
    assert_eq!(constant(&c, split, 1), [1.0, 1.0]);
    assert_eq!(split.attribute("num_outputs"), Some(&AttrValue::Int(2)));
    assert_eq!(constant(&c, node(&c, Squeeze), 1), [1.0]);
    let softmax = node(&c, Softmax);
    assert_eq!(softmax.attribute("coerce_2d"), Some(&AttrValue::Int(1)));
    assert_eq!(softmax.attribute("axis"), Some(&AttrValue::Int(1)));
    assert_eq!(c.report.ops_before.get("Dropout"), Some(&1));
    assert_eq!(c.report.removed_nodes, 1);
    let g = &c.model.graph;
    let names: Vec<&str> = g
        .outputs()
        .iter()
        .map(|&o| g.values[o as usize].name.as_str())
        .collect();
    assert_eq!(names, ["y", "z"]);
}

#[test]
fn if_branches_read_outer_values_and_their_own_constants() {
    let c = convert_data("if_opset13.onnx");
    let g = &c.model.graph;
    assert_eq!(g.bodies.len(), 3);
    let relu = node(&c, OpCode::Relu);
    let branch = node(&c, OpCode::If);
    assert_eq!(branch.attribute("then_branch"), Some(&AttrValue::Body(1)));
    assert_eq!(branch.attribute("else_branch"), Some(&AttrValue::Body(2)));
    let mul = &g.bodies[1].nodes[0];
    assert_eq!(mul.op, OpCode::Mul);
    assert_eq!(mul.inputs[0], Some(relu.outputs[0]));
    assert_eq!(constant(&c, mul, 1), [2.0]);
    assert_eq!(g.bodies[2].nodes[0].op, OpCode::Neg);
    assert_eq!(g.bodies[2].nodes[0].inputs[0], Some(relu.outputs[0]));
    let cond = &g.values[g.inputs[1] as usize];
    assert_eq!((cond.name.as_str(), cond.dtype), ("cond", DType::Bool));
}

/// Corrupted models are errors or valid conversions, never panics: every
/// byte of the small models is replaced by a few values, and the file is cut
/// at every length.
#[test]
fn corrupted_models_never_panic() {
    for name in ["legacy_opset9.onnx", "if_opset13.onnx"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name);
        let original = std::fs::read(path).unwrap();
        let options = ConvertOptions::default();
        for i in 0..original.len() {
            for value in [0x00, 0x01, 0x7f, 0x80, 0xff, original[i] ^ 0x04] {
                let mut bytes = original.clone();
                bytes[i] = value;
                let _ = convert(&bytes, &options);
            }
            let _ = convert(&original[..i], &options);
        }
    }
}
