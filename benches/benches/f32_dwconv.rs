//! `f32_dwconv`: the depthwise kernels (`f32-dwconv<k>x<k>-s<stride>-<isa>`)
//! of every tier this CPU has against the direct loop pocketnn ran before
//! them (`baseline-direct`), at every distinct depthwise layer shape of
//! EfficientNet-Lite0 (its Conv nodes have no padding: explicit Pad nodes
//! come before them) plus one padded layer.
//!
//! Throughput counts output elements.
//!
//! ```text
//! cargo bench -p pocketnn-benches --bench f32_dwconv -- --warm-up-time 1 --measurement-time 2
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pocketnn_benches::baseline;
use pocketnn_tensor::Isa;
use pocketnn_tensor::kernels::activation::Activation;
use pocketnn_tensor::kernels::depthwise::{DepthwiseGeometry, depthwise_f32, kernel_name};
use std::hint::black_box;

/// (height, width) or (top, left).
type Pair = (usize, usize);

/// (channels, k, stride, input, output, pad).
type Layer = (usize, usize, usize, Pair, Pair, Pair);

/// EfficientNet-Lite0 at 224².
const LAYERS: [Layer; 9] = [
    (32, 3, 1, (114, 114), (112, 112), (0, 0)),
    (96, 3, 2, (113, 113), (56, 56), (0, 0)),
    (144, 3, 1, (58, 58), (56, 56), (0, 0)),
    (144, 5, 2, (59, 59), (28, 28), (0, 0)),
    (240, 5, 1, (32, 32), (28, 28), (0, 0)),
    (240, 3, 2, (29, 29), (14, 14), (0, 0)),
    (672, 5, 1, (18, 18), (14, 14), (0, 0)),
    (1152, 5, 1, (11, 11), (7, 7), (0, 0)),
    // The first layer again with Conv padding instead of a Pad node.
    (32, 3, 1, (112, 112), (112, 112), (1, 1)),
];

fn values(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7919 + seed) % 1999) as f32 / 1000.0 - 1.0)
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("f32_dwconv");
    for (channels, k, stride, input, output, pad) in LAYERS {
        let x = values(channels * input.0 * input.1, 1);
        let w = values(channels * k * k, 2);
        let bias = values(channels, 3);
        let mut y = vec![0.0f32; channels * output.0 * output.1];
        let shape = format!(
            "c{channels}_{}x{}_to_{}x{}_pad{}",
            input.0, input.1, output.0, output.1, pad.0
        );
        group.throughput(Throughput::Elements(y.len() as u64));
        group.bench_function(
            BenchmarkId::new(format!("baseline-direct-{k}x{k}-s{stride}"), &shape),
            |b| {
                b.iter(|| {
                    baseline::depthwise::run(
                        channels,
                        k,
                        stride,
                        input,
                        output,
                        pad,
                        black_box(&x),
                        &w,
                        &bias,
                        &mut y,
                    )
                })
            },
        );
        let geometry = DepthwiseGeometry::new(k, stride, input, output, pad);
        for isa in Isa::available() {
            group.bench_function(BenchmarkId::new(kernel_name(k, stride, isa), &shape), |b| {
                b.iter(|| {
                    depthwise_f32(
                        isa,
                        &geometry,
                        black_box(&x),
                        &w,
                        Some(&bias),
                        Activation::None,
                        &mut y,
                    )
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
