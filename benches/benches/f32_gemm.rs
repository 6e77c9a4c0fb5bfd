//! `f32_gemm`: the f32 GEMM of every tier this CPU has, at shapes taken from
//! real models (bench ids `<kernel name>/m<m>_k<k>_n<n>_<what>`). The FMA
//! peak these are measured against is the `f32_gemm_peak` example.
//!
//! Throughput is reported in elements/s where one element is one floating
//! point operation (a multiply-add counts 2), so "Gelem/s" reads GFLOP/s.
//!
//! ```text
//! cargo bench -p pocketnn-benches --bench f32_gemm -- --warm-up-time 1 --measurement-time 3
//! cargo bench -p pocketnn-benches --bench f32_gemm -- 'f32-gemm-14x32-avx512/m1024'
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pocketnn_tensor::Isa;
use pocketnn_tensor::kernels::gemm::{
    Accumulate, MatMut, MatRef, PackedB, f32_gemm_kernel, gemm_f32, gemm_f32_packed,
};
use std::hint::black_box;

/// One benchmarked product: `C (m×n) = A (m×k) · B (k×n)`.
struct Shape {
    /// What the shape is in a model.
    what: &'static str,
    m: usize,
    k: usize,
    n: usize,
    /// B is a Linear weight `[n, k]` used transposed (ONNX Gemm transB=1).
    b_transposed: bool,
}

const SHAPES: [Shape; 6] = [
    Shape {
        what: "square",
        m: 1024,
        k: 1024,
        n: 1024,
        b_transposed: false,
    },
    Shape {
        what: "seed_cnn-fc1-batch1",
        m: 1,
        k: 6272,
        n: 1024,
        b_transposed: true,
    },
    Shape {
        what: "seed_cnn-fc1-batch32",
        m: 32,
        k: 6272,
        n: 1024,
        b_transposed: true,
    },
    Shape {
        what: "seed_cnn-conv2-im2col",
        m: 196,
        k: 576,
        n: 128,
        b_transposed: false,
    },
    Shape {
        what: "conv3x3-64ch-112px-im2col",
        m: 12544,
        k: 576,
        n: 64,
        b_transposed: false,
    },
    Shape {
        what: "seed_mlp-fc1-batch64",
        m: 64,
        k: 784,
        n: 256,
        b_transposed: true,
    },
];

fn filled(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32 / 16_777_216.0
                - 0.5
        })
        .collect()
}

fn bench_gemm(criterion: &mut Criterion) {
    for isa in Isa::available() {
        let kernel = f32_gemm_kernel(isa);
        let mut group = criterion.benchmark_group(kernel.name);
        group.sample_size(10);
        for shape in &SHAPES {
            let Shape {
                what,
                m,
                k,
                n,
                b_transposed,
            } = *shape;
            let a = filled(m * k, 1);
            let b = filled(k * n, 2);
            let mut c = vec![0.0f32; m * n];
            let a_view = MatRef::row_major(&a, m, k).expect("fits");
            let b_view = if b_transposed {
                MatRef::row_major(&b, n, k).expect("fits").t()
            } else {
                MatRef::row_major(&b, k, n).expect("fits")
            };
            group.throughput(Throughput::Elements((2 * m * k * n) as u64));
            let id = format!("m{m}_k{k}_n{n}_{what}");
            group.bench_function(BenchmarkId::from_parameter(&id), |bench| {
                bench.iter(|| {
                    let c_view = MatMut::row_major(&mut c, m, n).expect("fits");
                    gemm_f32(isa, a_view, b_view, c_view, Accumulate::No).expect("tier available");
                    black_box(&c);
                })
            });
            if b_transposed {
                // The same product with the weight packed once, as a model
                // stored pre-packed will run it.
                let packed = PackedB::pack(isa, b_view).expect("fits");
                group.bench_function(
                    BenchmarkId::from_parameter(format!("{id}_packed-b")),
                    |bench| {
                        bench.iter(|| {
                            let c_view = MatMut::row_major(&mut c, m, n).expect("fits");
                            gemm_f32_packed(isa, a_view, packed.view(), c_view, Accumulate::No)
                                .expect("tier available");
                            black_box(&c);
                        })
                    },
                );
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench_gemm);
criterion_main!(benches);
