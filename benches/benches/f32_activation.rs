//! `f32_activation`: the vector activation kernels (`f32-v<activation>-<isa>`)
//! of every tier this CPU has, against the scalar loops pocketnn ran before
//! them (`baseline-libm/<activation>`), on an EfficientNet-Lite0 sized
//! activation (112·112·32 values, 1.6 MB) and an L1-resident one (4096).
//!
//! ```text
//! cargo bench -p pocketnn-benches --bench f32_activation -- --warm-up-time 1 --measurement-time 2
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pocketnn_benches::baseline::unary;
use pocketnn_tensor::Isa;
use pocketnn_tensor::kernels::activation::{self, Activation};
use std::hint::black_box;

const SIZES: [(usize, &str); 2] = [(112 * 112 * 32, "effnet-112x112x32"), (4096, "l1-4096")];

fn input(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7919) % 2001) as f32 / 250.0 - 4.0)
        .collect()
}

/// A benchmarked function: name, kernel (None: exp), scalar baseline.
type Function = (&'static str, Option<Activation>, fn(f32) -> f32);

fn bench(c: &mut Criterion) {
    let functions: [Function; 8] = [
        ("exp", None, f32::exp),
        ("sigmoid", Some(Activation::Sigmoid), unary::sigmoid),
        ("tanh", Some(Activation::Tanh), f32::tanh),
        ("silu", Some(Activation::Silu), |v| v * unary::sigmoid(v)),
        ("gelu", Some(Activation::Gelu), unary::gelu),
        ("gelutanh", Some(Activation::GeluTanh), unary::gelu_tanh),
        ("hardswish", Some(Activation::HardSwish), unary::hard_swish),
        ("relu", Some(Activation::Relu), |v| {
            if v < 0.0 { 0.0 } else { v }
        }),
    ];
    for (len, what) in SIZES {
        let x = input(len);
        let mut y = vec![0.0f32; len];
        let mut group = c.benchmark_group(format!("f32_activation/{what}"));
        group.throughput(Throughput::Elements(len as u64));
        for (name, activation, old) in functions {
            group.bench_function(
                BenchmarkId::new(format!("baseline-libm/{name}"), len),
                |b| b.iter(|| unary::map(black_box(&x), &mut y, old)),
            );
            for isa in Isa::available() {
                let id = format!("f32-v{name}-{isa}");
                group.bench_function(BenchmarkId::new(id, len), |b| {
                    b.iter(|| match activation {
                        Some(a) => activation::apply_to(isa, a, black_box(&x), &mut y),
                        None => activation::exp(isa, black_box(&x), &mut y),
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
