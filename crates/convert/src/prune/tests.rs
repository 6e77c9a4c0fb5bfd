//! Magnitude pruning on small graphs built here: the requested sparsity is
//! reached, the patterns hold exactly, and the kept weights are the largest
//! (checked with norms computed here, independently of the pass).

use super::*;
use crate::graph::{Graph, Node, ValueId};
use pocketnn_format::{AttrValue, Attribute, DType, Dim, OpCode};
use pocketnn_tensor::Tensor;

/// Distinct non-zero pseudo-random weights.
pub(super) fn weights(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(3);
    (0..len)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 40) as f32 / (1u64 << 24) as f32;
            (u - 0.5) * 2.0 + if u < 0.5 { -1e-3 } else { 1e-3 } + i as f32 * 1e-7
        })
        .collect()
}

/// x [N, k0] -> Gemm -> Gemm ... with `sizes` = [(m, k, transB)].
pub(super) fn gemm_chain(sizes: &[(usize, usize, bool)]) -> Graph {
    let mut g = Graph::new(17);
    let k0 = sizes.first().map_or(1, |s| s.1);
    let x = g.add_value(
        "x",
        DType::F32,
        Some(vec![Dim::Symbolic("N".into()), Dim::Fixed(k0 as u64)]),
    );
    g.inputs.push(x);
    let mut prev = x;
    for (n, &(m, k, trans_b)) in sizes.iter().enumerate() {
        let shape = if trans_b { [m, k] } else { [k, m] };
        let w = Tensor::from_slice(&shape, &weights(m * k, n as u64 + 1)).unwrap();
        let w = g.add_constant(&format!("w{n}"), w);
        let b = g.add_constant(
            &format!("b{n}"),
            Tensor::from_slice(&[m], &weights(m, 99)).unwrap(),
        );
        let y = g.add_value(&format!("y{n}"), DType::F32, None);
        g.bodies[0].nodes.push(Node {
            name: format!("fc{n}"),
            op: OpCode::Gemm,
            inputs: vec![Some(prev), Some(w), Some(b)],
            outputs: vec![y],
            attributes: vec![Attribute {
                name: "transB".into(),
                value: AttrValue::Int(i64::from(trans_b)),
            }],
        });
        prev = y;
    }
    g.bodies[0].outputs.push(prev);
    g
}

pub(super) fn weight_of(g: &Graph, node: usize) -> (Vec<usize>, Vec<f32>) {
    let id: ValueId = g.bodies[0].nodes[node].inputs[1].unwrap();
    let t = g.constant(id).unwrap();
    (t.shape().to_vec(), t.as_slice::<f32>().unwrap().to_vec())
}

fn prune(
    g: &mut Graph,
    sparsity: f32,
    pattern: PrunePattern,
    per_layer: bool,
) -> Vec<PruneLayerReport> {
    let pruning = Pruning {
        per_layer,
        ..Pruning::new(sparsity, pattern)
    };
    apply(g, &pruning, &mut PassLog::default()).unwrap()
}

const SIZES: [(usize, usize, bool); 3] = [(32, 64, true), (16, 32, false), (8, 16, true)];

#[test]
fn global_threshold_reaches_the_sparsity_and_keeps_the_largest_weights() {
    let mut g = gemm_chain(&SIZES);
    let originals: Vec<Vec<f32>> = (0..3).map(|n| weight_of(&g, n).1).collect();
    let reports = prune(&mut g, 0.7, PrunePattern::Unstructured, false);
    let total: usize = originals.iter().map(Vec::len).sum();
    let pruned: Vec<Vec<f32>> = (0..3).map(|n| weight_of(&g, n).1).collect();
    let zeros: usize = pruned.iter().flatten().filter(|&&v| v == 0.0).count();
    assert_eq!(zeros, (total as f64 * 0.7).round() as usize);
    // One threshold: every removed |w| is below every kept one, across layers.
    let mut max_removed = 0.0f32;
    let mut min_kept = f32::INFINITY;
    for (o, p) in originals.iter().flatten().zip(pruned.iter().flatten()) {
        if *p == 0.0 {
            max_removed = max_removed.max(o.abs());
        } else {
            assert_eq!(o, p, "kept weights are unchanged");
            min_kept = min_kept.min(o.abs());
        }
    }
    assert!(max_removed <= min_kept);
    // Layers reach different sparsities under one threshold; the report
    // counts them.
    assert_eq!(reports.len(), 3);
    for (r, p) in reports.iter().zip(&pruned) {
        let nonzero = p.iter().filter(|&&v| v != 0.0).count() as u64;
        assert_eq!(r.params_before, p.len() as u64);
        assert_eq!(r.params_after, nonzero);
        assert!((r.sparsity - (1.0 - nonzero as f64 / p.len() as f64)).abs() < 1e-12);
        assert_eq!(r.storage, "dense");
    }
}

#[test]
fn per_layer_thresholds_reach_the_sparsity_in_every_layer() {
    let mut g = gemm_chain(&SIZES);
    prune(&mut g, 0.6, PrunePattern::Unstructured, true);
    for n in 0..3 {
        let (_, w) = weight_of(&g, n);
        let zeros = w.iter().filter(|&&v| v == 0.0).count();
        assert_eq!(zeros, (w.len() as f64 * 0.6).round() as usize, "layer {n}");
    }
}

/// `(o, i)` → tensor index for a weight of `shape` with `transB`.
fn at(shape: &[usize], trans_b: bool, o: usize, i: usize) -> usize {
    if trans_b {
        o * shape[1] + i
    } else {
        i * shape[1] + o
    }
}

/// Checks that the zeros form whole `br × bc` blocks of the M × K matrix,
/// that the removed share is right and that kept blocks have larger L2
/// norms than removed ones.
fn check_blocks(br: usize, bc: usize, sparsity: f64) {
    let pattern = if br == 1 {
        PrunePattern::Row1x4
    } else {
        PrunePattern::Col4x1
    };
    let mut g = gemm_chain(&SIZES);
    let originals: Vec<Vec<f32>> = (0..3).map(|n| weight_of(&g, n).1).collect();
    prune(&mut g, sparsity as f32, pattern, true);
    for (n, &(m, k, trans_b)) in SIZES.iter().enumerate() {
        let (shape, w) = weight_of(&g, n);
        let (mut removed, mut max_removed, mut min_kept) = (0, 0.0f64, f64::INFINITY);
        for b in 0..m / br {
            for c in 0..k / bc {
                let cells: Vec<usize> = (0..br)
                    .flat_map(|r| (0..bc).map(move |q| (b * br + r, c * bc + q)))
                    .map(|(o, i)| at(&shape, trans_b, o, i))
                    .collect();
                let zero = cells.iter().filter(|&&x| w[x] == 0.0).count();
                assert!(zero == 0 || zero == cells.len(), "layer {n}: partial block");
                let norm = cells
                    .iter()
                    .map(|&x| f64::from(originals[n][x]).powi(2))
                    .sum::<f64>()
                    .sqrt();
                if zero > 0 {
                    removed += 1;
                    max_removed = max_removed.max(norm);
                } else {
                    min_kept = min_kept.min(norm);
                }
            }
        }
        let blocks = (m / br) * (k / bc);
        assert_eq!(
            removed,
            (blocks as f64 * sparsity).round() as usize,
            "layer {n}"
        );
        assert!(max_removed <= min_kept, "layer {n}");
    }
}

#[test]
fn row_1x4_blocks_are_whole_along_the_inputs() {
    check_blocks(1, 4, 0.75);
}

#[test]
fn col_4x1_blocks_are_whole_along_the_outputs() {
    check_blocks(4, 1, 0.5);
}

#[test]
fn two_of_four_keeps_the_two_largest_of_every_four_inputs() {
    let mut g = gemm_chain(&SIZES);
    let originals: Vec<Vec<f32>> = (0..3).map(|n| weight_of(&g, n).1).collect();
    let mut log = PassLog::default();
    apply(
        &mut g,
        &Pruning::new(0.5, PrunePattern::TwoOfFour),
        &mut log,
    )
    .unwrap();
    for (n, &(m, k, trans_b)) in SIZES.iter().enumerate() {
        let (shape, w) = weight_of(&g, n);
        for o in 0..m {
            for start in (0..k).step_by(4) {
                let cells: Vec<usize> = (start..start + 4)
                    .map(|i| at(&shape, trans_b, o, i))
                    .collect();
                let kept: Vec<usize> = cells.iter().copied().filter(|&x| w[x] != 0.0).collect();
                assert_eq!(kept.len(), 2, "layer {n} row {o}");
                let smallest_kept = kept
                    .iter()
                    .map(|&x| originals[n][x].abs())
                    .fold(f32::INFINITY, f32::min);
                for &x in cells.iter().filter(|x| !kept.contains(x)) {
                    assert!(originals[n][x].abs() <= smallest_kept);
                }
            }
        }
    }
    assert!(log.warnings.is_empty());
}

#[test]
fn shared_and_integer_weights_are_skipped_with_a_reason() {
    let mut g = gemm_chain(&[(4, 8, true), (4, 4, true)]);
    // The second layer reads the first one's bias as weights too: make it
    // share the first layer's weight value instead.
    let w0 = g.bodies[0].nodes[0].inputs[1];
    g.bodies[0].nodes[1].inputs[1] = w0;
    let reports = prune(&mut g, 0.5, PrunePattern::Unstructured, false);
    assert_eq!(reports.len(), 2);
    assert!(
        reports
            .iter()
            .all(|r| r.storage == "skipped" && r.reason.contains("shared"))
    );
}

#[test]
fn sparsity_outside_zero_to_one_is_an_error() {
    let mut g = gemm_chain(&SIZES);
    let pruning = Pruning::new(1.0, PrunePattern::Unstructured);
    assert!(apply(&mut g, &pruning, &mut PassLog::default()).is_err());
}

#[test]
fn pattern_names_round_trip() {
    for p in [
        PrunePattern::Unstructured,
        PrunePattern::Row1x4,
        PrunePattern::Col4x1,
        PrunePattern::TwoOfFour,
        PrunePattern::Channel,
    ] {
        assert_eq!(p.name().parse::<PrunePattern>(), Ok(p));
    }
    assert!("3:4".parse::<PrunePattern>().is_err());
}
