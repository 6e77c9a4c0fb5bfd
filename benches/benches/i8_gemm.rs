//! `i8_gemm`: the int8 GEMM (u8 activations × pre-packed i8 weights, i32
//! sums requantized to u8) of every int8 kernel this CPU has, at the shapes
//! of the `f32_gemm` bench (bench ids `<kernel name>/m<m>_k<k>_n<n>_<what>`).
//!
//! Throughput is in elements/s where one element is one integer operation
//! (a multiply-add counts 2), comparable with `f32_gemm`'s GFLOP/s.
//!
//! ```text
//! cargo bench -p pocketnn-benches --bench i8_gemm -- --warm-up-time 1 --measurement-time 3
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pocketnn_tensor::kernels::qgemm::{
    I8_GEMM_KERNELS, PackedI8B, QOutput, QuantMultiplier, Requantize, U8Matrix, ZeroPoints,
    gemm_u8i8,
};
use std::hint::black_box;

/// `(what, m, k, n)`: `C (m×n) = A (m×k) · B (k×n)`, B a weight.
const SHAPES: [(&str, usize, usize, usize); 6] = [
    ("square", 1024, 1024, 1024),
    ("seed_cnn-fc1-batch1", 1, 6272, 1024),
    ("seed_cnn-fc1-batch32", 32, 6272, 1024),
    ("seed_cnn-conv2-im2col", 196, 576, 128),
    ("conv3x3-64ch-112px-im2col", 12544, 576, 64),
    ("seed_mlp-fc1-batch64", 64, 784, 256),
];

fn bytes(len: usize, seed: u32) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn bench_gemm(criterion: &mut Criterion) {
    for kernel in I8_GEMM_KERNELS.iter().filter(|k| k.is_available()) {
        let mut group = criterion.benchmark_group(kernel.name);
        group.sample_size(10);
        for &(what, m, k, n) in &SHAPES {
            let a = bytes(m * k, 1);
            let w: Vec<i8> = bytes(k * n, 2).into_iter().map(|v| v as i8).collect();
            // The weight as a Linear layer stores it: n × k, used transposed.
            let packed = PackedI8B::pack(kernel, &w, (k, n), (1, k)).expect("fits");
            let multiplier = QuantMultiplier::new(1e-4).expect("valid");
            let requantize =
                Requantize::new(vec![multiplier], vec![0; n], 128, (0, 255)).expect("valid");
            let mut c = vec![0u8; m * n];
            group.throughput(Throughput::Elements((2 * m * k * n) as u64));
            let id = format!("m{m}_k{k}_n{n}_{what}");
            group.bench_function(BenchmarkId::from_parameter(&id), |bench| {
                bench.iter(|| {
                    gemm_u8i8(
                        kernel,
                        U8Matrix::row_major(&a, m, k).expect("fits"),
                        ZeroPoints::PerTensor(128),
                        &packed,
                        &[],
                        QOutput::U8 {
                            c: &mut c,
                            row_stride: n,
                            requantize: &requantize,
                        },
                    )
                    .expect("kernel available");
                    black_box(&c);
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_gemm);
criterion_main!(benches);
