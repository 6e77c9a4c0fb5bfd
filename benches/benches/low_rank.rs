//! `low-rank`: the fused low-rank kernel against the dense layer at
//! seed_cnn's fc1 shape (6272 → 1024), rank 64, batch 1 and 32, best tier
//! of this CPU, 1 thread:
//!
//! * `dense`: the f32 GEMM with the weight `W` (1024 × 6272) strided as
//!   stored by the converter (`Gemm` with `transB`), and packed once;
//! * `low-rank`: `low_rank_linear_f32` with `V` (64 × 6272) and `U`
//!   (1024 × 64), streamed in place and packed once.
//!
//! Throughput counts the dense layer's operations (a multiply-add counts
//! 2), so the figures of one group compare directly.
//!
//! ```text
//! cargo bench -p pocketnn-benches --bench low_rank -- --warm-up-time 1 --measurement-time 3
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pocketnn_tensor::Isa;
use pocketnn_tensor::kernels::gemm::{
    Accumulate, Epilogue, MatMut, MatRef, PackedB, gemm_f32, gemm_f32_packed,
};
use pocketnn_tensor::kernels::lowrank::{LowRankFactors, PackedLowRank, low_rank_linear_f32};
use std::hint::black_box;

const INPUTS: usize = 6272;
const OUTPUTS: usize = 1024;
const RANK: usize = 64;

fn filled(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

fn bench_fc1(criterion: &mut Criterion) {
    let isa = Isa::best();
    let (k, m, r) = (INPUTS, OUTPUTS, RANK);
    let w = filled(m * k, 1);
    let (v, u) = (filled(r * k, 2), filled(m * r, 3));
    let factors = LowRankFactors::new(&v, &u, r, k, m).expect("fits");
    let packed_factors = PackedLowRank::pack(isa, &factors).expect("fits");
    let b = MatRef::row_major(&w, m, k).expect("fits").t();
    let packed_w = PackedB::pack(isa, b).expect("fits");
    for batch in [1, 32] {
        let mut group = criterion.benchmark_group(format!("low-rank-f32-fc1-batch{batch}"));
        group.sample_size(20);
        group.throughput(Throughput::Elements((2 * m * k * batch) as u64));
        let x = filled(batch * k, 4);
        let mut y = vec![0.0f32; batch * m];
        let a = MatRef::row_major(&x, batch, k).expect("fits");
        group.bench_function(
            BenchmarkId::new(format!("dense-{isa}"), "strided"),
            |bench| {
                bench.iter(|| {
                    let c = MatMut::row_major(&mut y, batch, m).expect("fits");
                    gemm_f32(isa, a, b, c, Accumulate::No).expect("runs");
                    black_box(&y);
                })
            },
        );
        group.bench_function(
            BenchmarkId::new(format!("dense-{isa}"), "packed"),
            |bench| {
                bench.iter(|| {
                    let c = MatMut::row_major(&mut y, batch, m).expect("fits");
                    gemm_f32_packed(isa, a, packed_w.view(), c, Accumulate::No).expect("runs");
                    black_box(&y);
                })
            },
        );
        let with_packed = factors.with_packed(&packed_factors).expect("fits");
        for (name, f) in [("strided", factors), ("packed", with_packed)] {
            let id = BenchmarkId::new(format!("low-rank-r{r}-{isa}"), name);
            group.bench_function(id, |bench| {
                bench.iter(|| {
                    low_rank_linear_f32(isa, &f, &x, batch, &mut y, &Epilogue::default(), 1)
                        .expect("runs");
                    black_box(&y);
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_fc1);
criterion_main!(benches);
