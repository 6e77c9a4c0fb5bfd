//! The sparse lowering: which layers become sparse operators, and the
//! emitted parts decode (through `SparseMatrix::from_raw_parts`) back to
//! the pruned weights, read independently from the graph before lowering.

use super::cost::{self, Kernel};
use super::tests::{gemm_chain, weight_of, weights};
use super::*;
use crate::graph::{Graph, Node};
use crate::test_onnx::*;
use crate::{Calibration, ConvertOptions, Quantization, convert};
use pocketnn_format::{AttrValue, Attribute, DType, Dim, OpCode};
use pocketnn_tensor::Tensor;
use pocketnn_tensor::kernels::sparse::{BlockShape, SparseMatrix};

/// Decodes the sparse parts of node `node` (inputs `first`, `first+1`,
/// `first+2`) of `g` as a dense row-major matrix.
fn decode<T: pocketnn_tensor::kernels::sparse::SparseElement + pocketnn_tensor::Element>(
    g: &Graph,
    node: &Node,
    first: usize,
) -> (usize, usize, Vec<T>) {
    let int = |name: &str| match node.attribute(name) {
        Some(AttrValue::Int(v)) => *v as usize,
        other => panic!("{name}: {other:?}"),
    };
    let (rows, cols) = (int("rows"), int("cols"));
    let shape = match node.attribute("block") {
        Some(AttrValue::String(s)) if s == "csr" => BlockShape::Csr,
        Some(AttrValue::String(s)) if s == "1x4" => BlockShape::Row1x4,
        Some(AttrValue::String(s)) if s == "4x1" => BlockShape::Col4x1,
        other => panic!("block: {other:?}"),
    };
    let part = |i: usize| g.constant(node.inputs[first + i].unwrap()).unwrap();
    let values = part(0).as_slice::<T>().unwrap().to_vec();
    let block_ptr: Vec<u32> = part(1)
        .as_slice::<i32>()
        .unwrap()
        .iter()
        .map(|&p| p as u32)
        .collect();
    let columns = part(2);
    let columns: Vec<u32> = if cols <= 1 << 16 {
        assert_eq!(columns.dtype(), DType::U8);
        columns
            .as_slice::<u8>()
            .unwrap()
            .chunks_exact(2)
            .map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])))
            .collect()
    } else {
        columns
            .as_slice::<i32>()
            .unwrap()
            .iter()
            .map(|&c| c as u32)
            .collect()
    };
    let m = SparseMatrix::from_raw_parts(rows, cols, shape, block_ptr, columns, values).unwrap();
    (rows, cols, m.to_dense())
}

fn prune_and_lower(g: &mut Graph, pruning: Pruning) -> Vec<PruneLayerReport> {
    let mut reports = apply(g, &pruning, &mut PassLog::default()).unwrap();
    lower(g, &pruning, &mut reports).unwrap();
    reports
}

#[test]
fn sparse_gemms_decode_to_the_pruned_weights() {
    // Larger than the cache-resident size, where sparse wins at 10 %.
    let sizes = [(1024, 640, true), (640, 1024, false)];
    let mut g = gemm_chain(&sizes);
    let pruning = Pruning {
        per_layer: true,
        ..Pruning::new(0.9, PrunePattern::Unstructured)
    };
    let mut reports = apply(&mut g, &pruning, &mut PassLog::default()).unwrap();
    let pruned: Vec<(Vec<usize>, Vec<f32>)> = (0..2).map(|n| weight_of(&g, n)).collect();
    lower(&mut g, &pruning, &mut reports).unwrap();
    for (n, &(m, k, trans_b)) in sizes.iter().enumerate() {
        let node = g.bodies[0].nodes[n].clone();
        assert_eq!(node.op, OpCode::SparseLinear, "{:?}", reports[n]);
        assert_eq!(reports[n].storage, "sparse csr", "{}", reports[n].reason);
        let (rows, cols, dense) = decode::<f32>(&g, &node, 1);
        assert_eq!((rows, cols), (m, k));
        let (shape, w) = &pruned[n];
        for o in 0..m {
            for i in 0..k {
                let want = if trans_b {
                    w[o * shape[1] + i]
                } else {
                    w[i * shape[1] + o]
                };
                assert_eq!(dense[o * k + i], want, "layer {n} ({o}, {i})");
            }
        }
        // The bias follows as input 4.
        assert_eq!(
            g.constant(node.inputs[4].unwrap())
                .unwrap()
                .as_slice::<f32>()
                .unwrap(),
            weights(m, 99)
        );
        // Stored: 10 % of the values (+ u16 columns + offsets).
        let stored = (m * k - (m as f64 * k as f64 * 0.9).round() as usize) as u64;
        assert_eq!(reports[n].params_after, stored);
        assert_eq!(
            reports[n].bytes_after,
            stored * 6 + (m as u64 + 1) * 4 + m as u64 * 4
        );
        assert_eq!(reports[n].flops_after, 2 * stored);
    }
}

#[test]
fn dense_wins_above_the_break_even_density() {
    let mut g = gemm_chain(&[(64, 128, true)]);
    let reports = prune_and_lower(&mut g, Pruning::new(0.3, PrunePattern::Unstructured));
    assert_eq!(g.bodies[0].nodes[0].op, OpCode::Gemm);
    assert_eq!(reports[0].storage, "dense");
    assert!(reports[0].reason.contains("dense"), "{}", reports[0].reason);
    assert_eq!(reports[0].flops_after, reports[0].flops_before);
}

#[test]
fn block_patterns_lower_to_their_block_shape() {
    for (pattern, name) in [(PrunePattern::Row1x4, "1x4"), (PrunePattern::Col4x1, "4x1")] {
        let mut g = gemm_chain(&[(1024, 640, true)]);
        let mut reports =
            apply(&mut g, &Pruning::new(0.9, pattern), &mut PassLog::default()).unwrap();
        let (_, w) = weight_of(&g, 0);
        lower(&mut g, &Pruning::new(0.9, pattern), &mut reports).unwrap();
        // The cost model picks the fastest stored form of the blocks (CSR
        // holds them too); the parts decode to the pruned weights either way.
        assert!(
            reports[0].storage.starts_with("sparse"),
            "{}",
            reports[0].reason
        );
        let _ = name;
        let node = g.bodies[0].nodes[0].clone();
        let (_, _, dense) = decode::<f32>(&g, &node, 1);
        assert_eq!(dense, w);
    }
}

/// x [N, 8, 4, 4] -> Conv 1×1 (8 → 16) -> Conv 3×3 (16 → 16, pad 1).
fn conv_graph() -> Graph {
    let mut g = Graph::new(17);
    let x = g.add_value(
        "x",
        DType::F32,
        Some(vec![
            Dim::Symbolic("N".into()),
            Dim::Fixed(8),
            Dim::Fixed(4),
            Dim::Fixed(4),
        ]),
    );
    g.inputs.push(x);
    let mut prev = x;
    for (n, (shape, pads)) in [([16usize, 8, 1, 1], 0i64), ([16, 16, 3, 3], 1)]
        .into_iter()
        .enumerate()
    {
        let len: usize = shape.iter().product();
        let w = g.add_constant(
            &format!("w{n}"),
            Tensor::from_slice(&shape, &weights(len, n as u64)).unwrap(),
        );
        let y = g.add_value(
            &format!("y{n}"),
            DType::F32,
            Some(vec![
                Dim::Symbolic("N".into()),
                Dim::Fixed(16),
                Dim::Fixed(4),
                Dim::Fixed(4),
            ]),
        );
        g.bodies[0].nodes.push(Node {
            name: format!("conv{n}"),
            op: OpCode::Conv,
            inputs: vec![Some(prev), Some(w)],
            outputs: vec![y],
            attributes: vec![
                Attribute {
                    name: "pads".into(),
                    value: AttrValue::Ints(vec![pads; 4]),
                },
                Attribute {
                    name: "activation".into(),
                    value: AttrValue::String("relu".into()),
                },
            ],
        });
        prev = y;
    }
    g.bodies[0].outputs.push(prev);
    g
}

#[test]
fn pointwise_conv_becomes_sparse_conv_and_kxk_stays_dense() {
    let mut g = conv_graph();
    let pruning = Pruning {
        per_layer: true,
        ..Pruning::new(0.95, PrunePattern::Unstructured)
    };
    let mut reports = apply(&mut g, &pruning, &mut PassLog::default()).unwrap();
    let (_, w) = weight_of(&g, 0);
    lower(&mut g, &pruning, &mut reports).unwrap();
    let node = g.bodies[0].nodes[0].clone();
    assert_eq!(node.op, OpCode::SparseConv, "{}", reports[0].reason);
    assert_eq!(
        node.attribute("activation"),
        Some(&AttrValue::String("relu".into()))
    );
    assert_eq!(node.inputs.len(), 4, "no bias");
    let (_, _, dense) = decode::<f32>(&g, &node, 1);
    assert_eq!(dense, w);
    // 16 pixels: FLOPs 2 · 16 · 8 · 16 before.
    assert_eq!(reports[0].flops_before, 2 * 128 * 16);
    assert_eq!(g.bodies[0].nodes[1].op, OpCode::Conv);
    assert!(reports[1].reason.contains("1×1"), "{}", reports[1].reason);
}

#[test]
fn static_int8_pointwise_becomes_sparse_qlinear_conv_and_fc_stays_dense() {
    // x [N, 64, 4, 4] -> Conv 1×1 (64 -> 128) -> Relu -> Flatten -> Gemm (2048 -> 10).
    let w1 = weights(128 * 64, 1);
    let w2 = weights(10 * 2048, 2);
    let nodes = vec![
        node(
            "Conv",
            "pw",
            &["x", "w1", "b1"],
            &["h"],
            vec![a_ints("kernel_shape", &[1, 1])],
        ),
        node("Relu", "relu", &["h"], &["r"], vec![]),
        node("Flatten", "flat", &["r"], &["f"], vec![]),
        node("Gemm", "fc", &["f", "w2"], &["y"], vec![a_int("transB", 1)]),
    ];
    let inits = vec![
        tensor_f32("w1", &[128, 64, 1, 1], &w1),
        tensor_f32("b1", &[128], &weights(128, 3)),
        tensor_f32("w2", &[10, 2048], &w2),
    ];
    let x = value_info("x", FLOAT, &[D::S("N"), D::N(64), D::N(4), D::N(4)]);
    let bytes = model(
        17,
        graph(nodes, vec![x], vec![value_info("y", FLOAT, &[])], inits),
    );
    let samples = Tensor::from_slice(&[16, 64, 4, 4], &weights(16 * 1024, 4)).unwrap();
    let mut pruning = Pruning::new(0.9, PrunePattern::Unstructured);
    pruning.per_layer = true;
    let options = ConvertOptions {
        quantize: Some(Quantization::Int8),
        calibration: Some(Calibration::new(samples)),
        prune: Some(pruning),
        require_operators: false,
        ..ConvertOptions::default()
    };
    let c = convert(&bytes, &options).unwrap();
    assert_eq!(
        c.report.ops_after.get("SparseQLinearConv"),
        Some(&1),
        "{}",
        c.report
    );
    // The conv's weights, pruned here independently: the round(90 %)
    // smallest |w| go.
    let mut order: Vec<usize> = (0..w1.len()).collect();
    order.sort_by(|&a, &b| w1[a].abs().total_cmp(&w1[b].abs()));
    let mut pruned = w1.clone();
    for &i in order.iter().take((w1.len() as f64 * 0.9).round() as usize) {
        pruned[i] = 0.0;
    }
    // Decode the written node's parts from the .pnn model.
    let graph = &c.model.graph;
    let node = graph.bodies[0]
        .nodes
        .iter()
        .find(|n| n.op == OpCode::SparseQLinearConv)
        .unwrap();
    let data = |i: usize| {
        let v = node.inputs[i].unwrap() as usize;
        let t = graph.values[v].constant.unwrap() as usize;
        c.tensor_data[t].clone()
    };
    let block = match node
        .attributes
        .iter()
        .find(|a| a.name == "block")
        .map(|a| &a.value)
    {
        Some(AttrValue::String(s)) if s == "csr" => BlockShape::Csr,
        Some(AttrValue::String(s)) if s == "1x4" => BlockShape::Row1x4,
        Some(AttrValue::String(s)) if s == "4x1" => BlockShape::Col4x1,
        other => panic!("block {other:?}"),
    };
    let values: Vec<i8> = data(3).iter().map(|&b| b as i8).collect();
    let block_ptr: Vec<u32> = data(4)
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u32)
        .collect();
    let columns: Vec<u32> = data(5)
        .chunks_exact(2)
        .map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])))
        .collect();
    let scales: Vec<f32> = data(6)
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let m = SparseMatrix::from_raw_parts(128, 64, block, block_ptr, columns, values).unwrap();
    let dense = m.to_dense();
    for o in 0..128 {
        for i in 0..64 {
            let want = (pruned[o * 64 + i] / scales[o])
                .round()
                .clamp(-127.0, 127.0) as i8;
            assert_eq!(dense[o * 64 + i], want, "({o}, {i})");
        }
    }
    let layers = &c.report.pruned_layers;
    assert!(
        layers[0].storage.starts_with("sparse"),
        "{}",
        layers[0].reason
    );
    // 819 i8 values + u16 columns + offsets + per-channel scales and biases.
    assert!(
        layers[0].bytes_after < layers[0].bytes_before / 8,
        "{:?}",
        layers[0]
    );
    // The measured int8 fully connected kernel loses to dense at 10 %.
    assert_eq!(layers[1].storage, "dense");
    assert!(
        layers[1].reason.contains("density-i8-linear"),
        "{}",
        layers[1].reason
    );
}

#[test]
fn cost_model_prefers_sparse_only_at_low_density() {
    for kernel in [
        Kernel::F32LinearLarge,
        Kernel::F32LinearSmall,
        Kernel::F32Pointwise,
        Kernel::I8Pointwise,
        Kernel::I8Linear,
    ] {
        for shape in BlockShape::ALL {
            let low = cost::predicted_ratio(kernel, shape, 0.01).unwrap();
            let high = cost::predicted_ratio(kernel, shape, 0.5).unwrap();
            assert!(low < high, "{kernel:?} {shape:?}");
            assert!(cost::predicted_ratio(kernel, shape, 0.6).is_none());
            let be = cost::break_even(kernel, shape);
            assert!((0.0..=0.5).contains(&be));
            eprintln!(
                "{kernel:?} {}: break-even density {:.1}%",
                shape.name(),
                be * 100.0
            );
        }
    }
}
