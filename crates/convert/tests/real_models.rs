//! The shared real models convert without error; where the operators their
//! constant subgraphs need are available in this build, those subgraphs must
//! be folded and the shapes inferred.

use pocketnn_convert::{ConvertOptions, Converted, convert};
use pocketnn_format::{Dim, OpCode};
use std::path::PathBuf;

/// The bytes of a shared model: from `$POCKETNN_MODELS`, the `shared/models`
/// folder beside the repository, or `/work/shared/models`.
fn model(name: &str) -> Vec<u8> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("POCKETNN_MODELS")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models"));
    dirs.push(PathBuf::from("/work/shared/models"));
    let found = dirs.iter().find_map(|d| std::fs::read(d.join(name)).ok());
    found.unwrap_or_else(|| panic!("{name} not found in {dirs:?} (set POCKETNN_MODELS)"))
}

fn convert_model(name: &str) -> Converted {
    convert_model_with(name, &ConvertOptions::default())
}

fn convert_model_with(name: &str, options: &ConvertOptions) -> Converted {
    let c = convert(&model(name), options).unwrap_or_else(|e| panic!("{name}: {e}"));
    println!("{name}:\n{}", c.report);
    c
}

fn output_shape(c: &Converted) -> Option<Vec<Dim>> {
    let g = &c.model.graph;
    g.values[g.outputs()[0] as usize].shape.clone()
}

fn ops_after(c: &Converted, op: &str) -> usize {
    c.report.ops_after.get(op).copied().unwrap_or(0)
}

#[test]
fn seed_mlp_converts() {
    let c = convert_model("seed_mlp.onnx");
    assert_eq!(c.report.opset, 17);
    assert_eq!(ops_after(&c, "Gemm"), 4);
    assert_eq!(c.model.tensors.len(), 8);
    let g = &c.model.graph;
    let input = &g.values[g.inputs[0] as usize];
    assert_eq!(input.name, "input");
    assert_eq!(
        input.shape,
        Some(vec![
            Dim::Symbolic("N".into()),
            Dim::Fixed(1),
            Dim::Fixed(28),
            Dim::Fixed(28)
        ])
    );
    assert_eq!(
        output_shape(&c),
        Some(vec![Dim::Symbolic("N".into()), Dim::Fixed(10)])
    );
}

#[test]
fn seed_cnn_converts() {
    let c = convert_model("seed_cnn.onnx");
    assert_eq!(ops_after(&c, "Conv"), 2);
    assert_eq!(ops_after(&c, "MaxPool"), 2);
    assert_eq!(
        output_shape(&c),
        Some(vec![Dim::Symbolic("N".into()), Dim::Fixed(10)])
    );
}

#[test]
fn efficientnet_lite0_converts_and_its_pad_subgraphs_fold() {
    // without epilogue fusion, to see the Pads and Clips
    let mut options = ConvertOptions::default();
    options.fuse_epilogues = false;
    let c = convert_model_with("efficientnet_lite0.onnx", &options);
    assert_eq!(c.report.ops_before.get("Constant"), Some(&220));
    assert_eq!(ops_after(&c, "Conv"), 49);
    assert_eq!(ops_after(&c, "Pad"), 17);
    assert_eq!(ops_after(&c, "Constant"), 0);
    let pad_ops = [
        OpCode::ConstantOfShape,
        OpCode::Concat,
        OpCode::Reshape,
        OpCode::Slice,
        OpCode::Transpose,
        OpCode::Cast,
    ];
    // every Pad reads constant pads, and nothing of the subgraphs is left
    let g = &c.model.graph;
    for node in g.bodies[0].nodes.iter().filter(|n| n.op == OpCode::Pad) {
        let pads = node.inputs[1].expect("pads input") as usize;
        assert!(
            g.values[pads].constant.is_some(),
            "pads of {} not folded",
            node.name
        );
    }
    for op in pad_ops.into_iter().filter(|&op| op != OpCode::Reshape) {
        assert_eq!(ops_after(&c, op.name()), 0, "{op} left");
    }
    // the only node left that onnx's own const-analysis does not mark
    // constant: Conv 49, Clip 33, Pad 17, Add 9, GlobalAveragePool,
    // Reshape (the flatten before the classifier) and Gemm
    assert_eq!(ops_after(&c, "Reshape"), 1);
    assert_eq!(c.report.nodes_after(), 49 + 33 + 17 + 9 + 1 + 1 + 1);
}

#[test]
fn efficientnet_lite0_pads_activations_and_residuals_fuse_into_convs() {
    let c = convert_model("efficientnet_lite0.onnx");
    // every Pad (zero, spatial), Clip (ReLU6) and residual Add
    assert_eq!(ops_after(&c, "Conv"), 49);
    for op in ["Pad", "Clip", "Add"] {
        assert_eq!(ops_after(&c, op), 0, "{op} left");
    }
    assert_eq!(c.report.pads_folded, 17);
    assert_eq!(c.report.activations_fused, 33);
    assert_eq!(c.report.residual_adds_fused, 9);
    assert_eq!(c.report.nodes_after(), 49 + 1 + 1 + 1);
}
