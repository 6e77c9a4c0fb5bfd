//! `f32_softmax`: the row kernels `f32-softmax-<isa>` of every tier this CPU
//! has against the scalar row loop pocketnn ran before them
//! (`baseline-row`), on rows from real models: a 1000-class classifier
//! (MobileNet / EfficientNet-Lite0), attention scores of 12 heads × 128
//! queries × 128 keys (BERT-base at sequence 128) and of 12 × 197 × 197
//! (ViT-B/16 at 224²).
//!
//! Throughput counts elements.
//!
//! ```text
//! cargo bench -p pocketnn-benches --bench f32_softmax -- --warm-up-time 1 --measurement-time 2
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pocketnn_benches::baseline;
use pocketnn_tensor::Isa;
use pocketnn_tensor::kernels::softmax::{kernel_name, softmax_rows_f32};
use std::hint::black_box;

/// (rows, row length, name).
const SHAPES: [(usize, usize, &str); 3] = [
    (1, 1000, "classifier-1x1000"),
    (12 * 128, 128, "bert-12x128x128"),
    (12 * 197, 197, "vit-12x197x197"),
];

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("f32_softmax");
    for (rows, row_len, name) in SHAPES {
        let len = rows * row_len;
        let x: Vec<f32> = (0..len)
            .map(|i| ((i * 7919) % 2003) as f32 / 100.0 - 10.0)
            .collect();
        let mut y = vec![0.0f32; len];
        group.throughput(Throughput::Elements(len as u64));
        group.bench_function(BenchmarkId::new("baseline-row", name), |b| {
            b.iter(|| {
                for (x, y) in black_box(&x)
                    .chunks_exact(row_len)
                    .zip(y.chunks_exact_mut(row_len))
                {
                    baseline::softmax::row(x, y, false);
                }
            })
        });
        for isa in Isa::available() {
            group.bench_function(BenchmarkId::new(kernel_name(false, isa), name), |b| {
                b.iter(|| softmax_rows_f32(isa, black_box(&x), &mut y, row_len, false))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
