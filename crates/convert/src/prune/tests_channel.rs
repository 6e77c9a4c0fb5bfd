//! Channel pruning of Conv → Relu → MaxPool → Conv → Relu → Flatten → Gemm
//! → Relu → Gemm: the pruned model gives the outputs of the same network
//! built here by hand with those channels deleted.

use super::tests::weights;
use super::{PrunePattern, Pruning};
use crate::test_onnx::*;
use crate::{ConvertOptions, convert};
use pocketnn::{Model, Session, SessionOptions, TensorView};

/// conv1 1→4 (3×3, pad 1) on 4×4, pool 2 → 2×2, conv2 4→6, flatten 24,
/// fc1 24→8, fc2 8→3.
struct Net {
    conv1: (Vec<f32>, Vec<f32>),
    conv2: (Vec<f32>, Vec<f32>),
    fc1: (Vec<f32>, Vec<f32>),
    fc2: (Vec<f32>, Vec<f32>),
    /// Channels per layer: conv1, conv2, fc1.
    widths: [usize; 3],
}

/// The channels made weak (L1 norm / 100), so per-layer 50 % removes them.
const WEAK: [&[usize]; 3] = [&[1, 3], &[0, 2, 5], &[2, 3, 5, 7]];

fn original() -> Net {
    let mut net = Net {
        conv1: (weights(4 * 9, 1), weights(4, 2)),
        conv2: (weights(6 * 4 * 9, 3), weights(6, 4)),
        fc1: (weights(8 * 24, 5), weights(8, 6)),
        fc2: (weights(3 * 8, 7), weights(3, 8)),
        widths: [4, 6, 8],
    };
    for (w, (weak, per_row)) in [&mut net.conv1.0, &mut net.conv2.0, &mut net.fc1.0]
        .into_iter()
        .zip(WEAK.iter().zip([9, 36, 24]))
    {
        for &c in *weak {
            w[c * per_row..(c + 1) * per_row]
                .iter_mut()
                .for_each(|v| *v *= 0.01);
        }
    }
    net
}

/// `keep` rows of a row-major matrix with `row` values per row.
fn rows(w: &[f32], row: usize, keep: &[usize]) -> Vec<f32> {
    keep.iter()
        .flat_map(|&r| w[r * row..(r + 1) * row].iter().copied())
        .collect()
}

/// `keep` column groups of width `span` of a `rows × cols` matrix.
fn columns(w: &[f32], cols: usize, span: usize, keep: &[usize]) -> Vec<f32> {
    w.chunks(cols)
        .flat_map(|row| {
            keep.iter()
                .flat_map(move |&c| row[c * span..(c + 1) * span].iter().copied())
        })
        .collect()
}

/// The network with the weak channels deleted, written out by hand.
fn by_hand() -> Net {
    let net = original();
    let kept = |n: usize, weak: &[usize]| (0..n).filter(|c| !weak.contains(c)).collect::<Vec<_>>();
    let (k1, k2, k3) = (kept(4, WEAK[0]), kept(6, WEAK[1]), kept(8, WEAK[2]));
    let pick = |b: &[f32], keep: &[usize]| keep.iter().map(|&c| b[c]).collect::<Vec<f32>>();
    let conv2_rows = rows(&net.conv2.0, 36, &k2);
    Net {
        conv1: (rows(&net.conv1.0, 9, &k1), pick(&net.conv1.1, &k1)),
        conv2: (columns(&conv2_rows, 36, 9, &k1), pick(&net.conv2.1, &k2)),
        fc1: (
            columns(&rows(&net.fc1.0, 24, &k3), 24, 4, &k2),
            pick(&net.fc1.1, &k3),
        ),
        fc2: (columns(&net.fc2.0, 8, 1, &k3), net.fc2.1.clone()),
        widths: [k1.len(), k2.len(), k3.len()],
    }
}

/// The network in ONNX; `reshape`: a `Reshape` to `[-1, C·4]` instead of
/// the `Flatten`.
fn onnx(net: &Net, reshape: bool) -> Vec<u8> {
    let [c1, c2, f1] = net.widths.map(|w| w as i64);
    let conv = |name: &str, inputs: &[&str], out: &str| {
        node(
            "Conv",
            name,
            inputs,
            &[out],
            vec![
                a_ints("kernel_shape", &[3, 3]),
                a_ints("pads", &[1, 1, 1, 1]),
            ],
        )
    };
    let nodes = vec![
        conv("conv1", &["x", "w1", "b1"], "c1"),
        node("Relu", "r1", &["c1"], &["r1"], vec![]),
        node(
            "MaxPool",
            "p1",
            &["r1"],
            &["p1"],
            vec![a_ints("kernel_shape", &[2, 2]), a_ints("strides", &[2, 2])],
        ),
        conv("conv2", &["p1", "w2", "b2"], "c2"),
        node("Relu", "r2", &["c2"], &["r2"], vec![]),
        if reshape {
            node("Reshape", "flat", &["r2", "shape"], &["f"], vec![])
        } else {
            node("Flatten", "flat", &["r2"], &["f"], vec![])
        },
        node(
            "Gemm",
            "fc1",
            &["f", "w3", "b3"],
            &["g1"],
            vec![a_int("transB", 1)],
        ),
        node("Relu", "r3", &["g1"], &["r3"], vec![]),
        node(
            "Gemm",
            "fc2",
            &["r3", "w4", "b4"],
            &["y"],
            vec![a_int("transB", 1)],
        ),
    ];
    let mut inits = vec![
        tensor_f32("w1", &[c1, 1, 3, 3], &net.conv1.0),
        tensor_f32("b1", &[c1], &net.conv1.1),
        tensor_f32("w2", &[c2, c1, 3, 3], &net.conv2.0),
        tensor_f32("b2", &[c2], &net.conv2.1),
        tensor_f32("w3", &[f1, c2 * 4], &net.fc1.0),
        tensor_f32("b3", &[f1], &net.fc1.1),
        tensor_f32("w4", &[3, f1], &net.fc2.0),
        tensor_f32("b4", &[3], &net.fc2.1),
    ];
    if reshape {
        inits.push(tensor_i64("shape", &[2], &[-1, c2 * 4]));
    }
    let x = value_info("x", FLOAT, &[D::S("N"), D::N(1), D::N(4), D::N(4)]);
    model(
        17,
        graph(nodes, vec![x], vec![value_info("y", FLOAT, &[])], inits),
    )
}

fn run(pnn: &[u8], x: &[f32]) -> Vec<f32> {
    let model = Model::from_bytes(pnn).unwrap();
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    let view = TensorView::from_slice(&[2, 1, 4, 4], x).unwrap();
    let out = session.run_views(&[("x", view)]).unwrap();
    let y = out.get("y").unwrap();
    assert_eq!(y.shape(), [2, 3]);
    y.as_slice::<f32>().unwrap().to_vec()
}

#[test]
fn channel_pruning_equals_the_network_with_those_channels_deleted() {
    for reshape in [false, true] {
        check_against_the_hand_built_network(reshape);
    }
}

fn check_against_the_hand_built_network(reshape: bool) {
    let options = ConvertOptions {
        prune: Some(Pruning {
            per_layer: true,
            ..Pruning::new(0.5, PrunePattern::Channel)
        }),
        ..ConvertOptions::default()
    };
    let pruned = convert(&onnx(&original(), reshape), &options).unwrap();
    let reference = convert(&onnx(&by_hand(), reshape), &ConvertOptions::default()).unwrap();
    let x = weights(32, 11);
    let (got, want) = (
        run(&pruned.to_pnn_bytes().unwrap(), &x),
        run(&reference.to_pnn_bytes().unwrap(), &x),
    );
    for (a, b) in got.iter().zip(&want) {
        assert!(
            (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
            "{got:?} vs {want:?}"
        );
    }
    // The pruned file holds exactly the hand-built network's weights.
    let bytes = |c: &crate::Converted| c.tensor_data.iter().map(Vec::len).sum::<usize>();
    assert_eq!(bytes(&pruned), bytes(&reference));
    let report = &pruned.report;
    let layers = &report.pruned_layers;
    assert_eq!(layers.len(), 4, "{report}");
    assert_eq!(layers[0].params_after, 2 * 9);
    assert_eq!(layers[1].params_after, 3 * 2 * 9);
    assert_eq!(layers[2].params_after, 4 * 12);
    assert_eq!(layers[3].params_after, 3 * 4);
    assert!(
        layers[3].reason.contains("model output"),
        "{}",
        layers[3].reason
    );
    // conv1: 4·9 taps × 16 pixels × 2 before, half after.
    assert_eq!(layers[0].flops_before, 2 * 36 * 16);
    assert_eq!(layers[0].flops_after, 2 * 18 * 16);
    let text = report.to_string();
    assert!(text.contains("pruning channel 0.5 (per layer)"), "{text}");
}

#[test]
fn channels_reaching_a_residual_add_are_kept() {
    // x -> Gemm a -> Relu -> Add(., x) -> Gemm b: a's outputs meet x.
    let nodes = vec![
        node("Gemm", "a", &["x", "wa"], &["ya"], vec![a_int("transB", 1)]),
        node("Relu", "r", &["ya"], &["ra"], vec![]),
        node("Add", "add", &["ra", "x"], &["s"], vec![]),
        node("Gemm", "b", &["s", "wb"], &["y"], vec![a_int("transB", 1)]),
    ];
    let inits = vec![
        tensor_f32("wa", &[4, 4], &weights(16, 1)),
        tensor_f32("wb", &[2, 4], &weights(8, 2)),
    ];
    let x = value_info("x", FLOAT, &[D::S("N"), D::N(4)]);
    let bytes = model(
        17,
        graph(nodes, vec![x], vec![value_info("y", FLOAT, &[])], inits),
    );
    let options = ConvertOptions {
        prune: Some(Pruning::new(0.5, PrunePattern::Channel)),
        ..ConvertOptions::default()
    };
    let c = convert(&bytes, &options).unwrap();
    let layers = &c.report.pruned_layers;
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[0].params_after, 16);
    assert!(layers[0].reason.contains("Add"), "{}", layers[0].reason);
    assert!(
        layers[1].reason.contains("model output"),
        "{}",
        layers[1].reason
    );
}
