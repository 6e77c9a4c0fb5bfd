//! Parameters and FLOPs of a model's weight layers, before and after the
//! compression passes (for the report and the compression study).

use crate::graph::Graph;
use crate::prune::{PruneLayerReport, nonzero_f32, prunable};

/// Parameters and floating-point operations of the layers with constant
/// f32 weights (`Conv`, `Gemm`, `MatMul`), per sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelCost {
    /// Non-zero weight and bias values.
    pub params: u64,
    /// FLOPs of one sample through those layers (a multiply-add counts 2):
    /// a dense layer counts every weight, zeros included (they are still
    /// multiplied); a layer stored sparse counts its stored values.
    pub flops: u64,
}

/// One weight layer's figures, measured on the float graph.
#[derive(Clone, Debug)]
pub(crate) struct LayerCost {
    name: String,
    params: u64,
    dense_flops: u64,
}

/// Measures every weight layer of the main body as it is now. Layers
/// whose weights are not f32 constants (an already quantized ONNX model)
/// or are shared are left out.
pub(crate) fn measure(graph: &Graph) -> Vec<LayerCost> {
    let Some(body) = graph.bodies.first() else {
        return Vec::new();
    };
    body.nodes
        .iter()
        .enumerate()
        .filter_map(|(index, node)| {
            let layer = prunable(graph, index, node).ok().flatten()?;
            let bias = node.inputs.get(2).copied().flatten();
            let dense = (layer.m as u64).saturating_mul(layer.k as u64);
            Some(LayerCost {
                name: layer.name.clone(),
                params: nonzero_f32(graph, layer.weight)
                    + bias.map_or(0, |b| nonzero_f32(graph, b)),
                dense_flops: layer.flops(dense),
            })
        })
        .collect()
}

/// The model's totals: `layers` as measured, with the FLOPs of the layers
/// pruning stored sparse taken from their report lines.
pub(crate) fn total(layers: &[LayerCost], pruned: &[PruneLayerReport]) -> ModelCost {
    let mut cost = ModelCost::default();
    for layer in layers {
        let sparse = pruned
            .iter()
            .find(|r| r.name == layer.name && r.storage.starts_with("sparse"));
        cost.params = cost.params.saturating_add(layer.params);
        let flops = sparse.map_or(layer.dense_flops, |r| r.flops_after);
        cost.flops = cost.flops.saturating_add(flops);
    }
    cost
}

#[cfg(test)]
mod tests {
    use crate::test_onnx::*;
    use crate::{ConvertOptions, PrunePattern, Pruning, convert};

    /// Non-zero pseudo-random values.
    fn values(len: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(747_796_405).wrapping_add(1);
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 + 0.01
            })
            .collect()
    }

    /// x [N, 64, 4, 4] -> Conv 1x1 (128 outputs, bias) -> Flatten -> Gemm (10
    /// outputs, no bias).
    fn conv_then_gemm() -> Vec<u8> {
        let nodes = vec![
            node(
                "Conv",
                "pw",
                &["x", "w1", "b1"],
                &["h"],
                vec![a_ints("kernel_shape", &[1, 1])],
            ),
            node("Flatten", "flat", &["h"], &["f"], vec![]),
            node("Gemm", "fc", &["f", "w2"], &["y"], vec![a_int("transB", 1)]),
        ];
        let inits = vec![
            tensor_f32("w1", &[128, 64, 1, 1], &values(128 * 64, 1)),
            tensor_f32("b1", &[128], &values(128, 2)),
            tensor_f32("w2", &[10, 2048], &values(10 * 2048, 3)),
        ];
        let x = value_info("x", FLOAT, &[D::S("N"), D::N(64), D::N(4), D::N(4)]);
        model(
            17,
            graph(nodes, vec![x], vec![value_info("y", FLOAT, &[])], inits),
        )
    }

    #[test]
    fn counts_weights_biases_and_multiply_adds_of_each_layer() {
        let c = convert(&conv_then_gemm(), &ConvertOptions::default()).unwrap();
        // Conv: 128·64 weights at 16 output pixels, 128 biases; Gemm: 10·2048.
        let params = 128 * 64 + 128 + 10 * 2048;
        let flops = 2 * 128 * 64 * 16 + 2 * 10 * 2048;
        assert_eq!(
            (c.report.cost_before.params, c.report.cost_before.flops),
            (params, flops)
        );
        assert_eq!(c.report.cost_after, c.report.cost_before);
    }

    #[test]
    fn pruned_layers_count_their_non_zeros_and_sparse_ones_fewer_flops() {
        let mut pruning = Pruning::new(0.9, PrunePattern::Unstructured);
        pruning.per_layer = true;
        let options = ConvertOptions {
            prune: Some(pruning),
            require_operators: false,
            ..ConvertOptions::default()
        };
        let c = convert(&conv_then_gemm(), &options).unwrap();
        // round(10 %) of each layer's weights stay; the bias is not pruned.
        let kept = [(128 * 64) as u64 - 7373, 10 * 2048 - 18432];
        assert_eq!(c.report.cost_after.params, kept[0] + 128 + kept[1]);
        // A layer stored in CSR computes its stored (non-zero) weights only.
        let positions = [16u64, 1];
        let dense = [128 * 64u64, 10 * 2048];
        let mut flops = 0;
        for (i, name) in ["pw", "fc"].iter().enumerate() {
            let line = c
                .report
                .pruned_layers
                .iter()
                .find(|l| l.name == *name)
                .unwrap();
            let computed = if line.storage == "sparse csr" {
                kept[i]
            } else {
                dense[i]
            };
            flops += 2 * computed * positions[i];
        }
        assert_eq!(c.report.cost_after.flops, flops, "{}", c.report);
        assert_eq!(c.report.cost_before.params, 128 * 64 + 128 + 10 * 2048);
    }
}
