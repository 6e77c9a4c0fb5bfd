//! `sparse_density`: where sparse beats dense — the sparse kernels at
//! several densities against the dense kernel of the same shape (best tier
//! of this CPU, one thread). `pocketnn convert --prune` reads its break-even
//! table from these figures (`crates/convert/src/prune/cost.rs`,
//! `docs/compression.md`).
//!
//! * `density-f32-linear-<m>x<k>`: batch 1, dense packed f32 GEMM against
//!   `sparse_linear_f32` (CSR, 1×4, 4×1);
//! * `density-f32-pointwise`: 1×1 conv 256 → 256 at 14×14, dense GEMM
//!   against `sparse_pointwise_f32`;
//! * `density-i8-pointwise`: the same in int8, the best dense int8 GEMM
//!   (activations transposed inside the timing, as the int8 convolution
//!   does) against `sparse_pointwise_u8i8` of the best sparse kernel;
//! * `density-i8-linear`: 1024 × 6272 at batch 1 (int8 `Gemm` as 1-D
//!   `QLinearConv`), dense int8 GEMM against `sparse_linear_u8i8`.
//!
//! Weights are `1 - density` zero: single values for CSR, whole blocks for
//! 1×4 and 4×1.
//!
//! ```text
//! cargo bench -p pocketnn-benches --bench sparse_density -- --warm-up-time 1 --measurement-time 2
//! ```

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pocketnn_benches::sparse_data::{Stream, f32_value, filled, i8_value, with_density};
use pocketnn_tensor::Isa;
use pocketnn_tensor::kernels::gemm::{
    Accumulate, Epilogue, MatMut, MatRef, PackedB, gemm_f32, gemm_f32_packed,
};
use pocketnn_tensor::kernels::qgemm::{
    I8_GEMM_KERNELS, PackedI8B, QGemmKernel, QOutput, QuantMultiplier, Requantize, U8Matrix,
    ZeroPoints, gemm_u8i8,
};
use pocketnn_tensor::kernels::sparse::{
    BlockShape, SPARSE_I8_KERNELS, SparseI8Matrix, SparseMatrix, SparseQOutput, sparse_linear_f32,
    sparse_linear_u8i8, sparse_pointwise_f32, sparse_pointwise_u8i8,
};
use std::hint::black_box;

/// Share of non-zero weights (or blocks) measured.
const DENSITIES: [f64; 5] = [0.5, 0.3, 0.2, 0.1, 0.05];

fn percent(density: f64) -> String {
    format!("{}pct", (density * 100.0).round())
}

fn f32_linear(criterion: &mut Criterion, m: usize, k: usize) {
    let isa = Isa::best();
    let mut group = criterion.benchmark_group(format!("density-f32-linear-{m}x{k}"));
    group.sample_size(10);
    let x = filled(k, k as u64);
    let mut y = vec![0.0f32; m];
    let dense = with_density(m, k, BlockShape::Csr, 1.0, (m * 31 + k) as u64, f32_value);
    let a = MatRef::row_major(&x, 1, k).expect("fits");
    let b = MatRef::row_major(&dense, m, k).expect("fits").t();
    let packed = PackedB::pack(isa, b).expect("fits");
    group.bench_function(BenchmarkId::new("dense", "packed"), |bench| {
        bench.iter(|| {
            let c = MatMut::row_major(&mut y, 1, m).expect("fits");
            gemm_f32_packed(isa, a, packed.view(), c, Accumulate::No).expect("runs");
            black_box(&y);
        })
    });
    for shape in BlockShape::ALL {
        for density in DENSITIES {
            let dense = with_density(m, k, shape, density, (m * 31 + k) as u64, f32_value);
            let w = SparseMatrix::from_dense(&dense, m, k, shape).expect("fits");
            let id = BenchmarkId::new(shape.name(), percent(density));
            group.bench_function(id, |bench| {
                bench.iter(|| {
                    sparse_linear_f32(isa, &w, &x, 1, &mut y, &Epilogue::default()).expect("runs");
                    black_box(&y);
                })
            });
        }
    }
    group.finish();
}

fn f32_linear_groups(criterion: &mut Criterion) {
    f32_linear(criterion, 1024, 6272);
    f32_linear(criterion, 256, 784);
}

const POINTWISE: (usize, usize, usize) = (256, 256, 196);

fn f32_pointwise(criterion: &mut Criterion) {
    let isa = Isa::best();
    let (m, k, n) = POINTWISE;
    let mut group = criterion.benchmark_group("density-f32-pointwise");
    group.sample_size(10);
    let x = filled(k * n, (k * n) as u64);
    let mut y = vec![0.0f32; m * n];
    let dense = with_density(m, k, BlockShape::Csr, 1.0, (m * 31 + k) as u64, f32_value);
    group.bench_function(BenchmarkId::new("dense", "gemm"), |bench| {
        let w = MatRef::row_major(&dense, m, k).expect("fits");
        let b = MatRef::row_major(&x, k, n).expect("fits");
        bench.iter(|| {
            let c = MatMut::row_major(&mut y, m, n).expect("fits");
            gemm_f32(isa, w, b, c, Accumulate::No).expect("runs");
            black_box(&y);
        })
    });
    for shape in BlockShape::ALL {
        for density in DENSITIES {
            let dense = with_density(m, k, shape, density, (m * 31 + k) as u64, f32_value);
            let w = SparseMatrix::from_dense(&dense, m, k, shape).expect("fits");
            group.bench_function(BenchmarkId::new(shape.name(), percent(density)), |bench| {
                bench.iter(|| {
                    sparse_pointwise_f32(isa, &w, &x, n, &mut y, &Epilogue::default())
                        .expect("runs");
                    black_box(&y);
                })
            });
        }
    }
    group.finish();
}

/// The last (fastest tier) available non-scalar dense int8 kernel.
fn best_dense_i8() -> &'static QGemmKernel {
    I8_GEMM_KERNELS
        .iter()
        .rfind(|k| k.is_available() && k.isa != Isa::Scalar)
        .expect("a SIMD int8 kernel")
}

fn i8_pointwise(criterion: &mut Criterion) {
    let (m, k, n) = POINTWISE;
    let mut group = criterion.benchmark_group("density-i8-pointwise");
    group.sample_size(10);
    let mut stream = Stream(7);
    let x: Vec<u8> = (0..k * n)
        .map(|_| (stream.next_unit() * 256.0) as u8)
        .collect();
    let multiplier = QuantMultiplier::new(2e-4).expect("valid");
    let requantize = Requantize::new(vec![multiplier], vec![0; m], 128, (0, 255)).expect("valid");
    let mut y = vec![0u8; m * n];
    let dense = with_density(m, k, BlockShape::Csr, 1.0, (m * 31 + k) as u64, i8_value);
    let mut xt = vec![0u8; n * k];
    let kernel = best_dense_i8();
    let packed = PackedI8B::pack(kernel, &dense, (k, m), (1, k)).expect("fits");
    group.bench_function(BenchmarkId::new("dense", kernel.name), |bench| {
        bench.iter(|| {
            for (c, row) in x.chunks_exact(n).enumerate() {
                for (p, &v) in row.iter().enumerate() {
                    xt[p * k + c] = v;
                }
            }
            let out = QOutput::U8 {
                c: &mut y,
                row_stride: m,
                requantize: &requantize,
            };
            let a = U8Matrix::row_major(&xt, n, k).expect("fits");
            gemm_u8i8(kernel, a, ZeroPoints::PerTensor(128), &packed, &[], out).expect("runs");
            black_box(&y);
        })
    });
    let sparse_kernel = SPARSE_I8_KERNELS
        .iter()
        .rfind(|k| k.is_available())
        .expect("the scalar kernel at least");
    for shape in BlockShape::ALL {
        for density in DENSITIES {
            let dense = with_density(m, k, shape, density, (m * 31 + k) as u64, i8_value);
            let w = SparseMatrix::from_dense(&dense, m, k, shape).expect("fits");
            let w = SparseI8Matrix::new(w).expect("fits");
            group.bench_function(BenchmarkId::new(shape.name(), percent(density)), |bench| {
                bench.iter(|| {
                    let out = SparseQOutput::U8 {
                        c: &mut y,
                        requantize: &requantize,
                    };
                    sparse_pointwise_u8i8(sparse_kernel, &w, &x, 128, n, out).expect("runs");
                    black_box(&y);
                })
            });
        }
    }
    group.finish();
}

fn i8_linear(criterion: &mut Criterion) {
    let (m, k) = (1024, 6272);
    let mut group = criterion.benchmark_group("density-i8-linear");
    group.sample_size(10);
    let mut stream = Stream(9);
    let x: Vec<u8> = (0..k).map(|_| (stream.next_unit() * 256.0) as u8).collect();
    let multiplier = QuantMultiplier::new(2e-4).expect("valid");
    let requantize = Requantize::new(vec![multiplier], vec![0; m], 128, (0, 255)).expect("valid");
    let mut y = vec![0u8; m];
    let dense = with_density(m, k, BlockShape::Csr, 1.0, (m * 31 + k) as u64, i8_value);
    let kernel = best_dense_i8();
    let packed = PackedI8B::pack(kernel, &dense, (k, m), (1, k)).expect("fits");
    group.bench_function(BenchmarkId::new("dense", kernel.name), |bench| {
        bench.iter(|| {
            let out = QOutput::U8 {
                c: &mut y,
                row_stride: m,
                requantize: &requantize,
            };
            let a = U8Matrix::row_major(&x, 1, k).expect("fits");
            gemm_u8i8(kernel, a, ZeroPoints::PerTensor(128), &packed, &[], out).expect("runs");
            black_box(&y);
        })
    });
    let sparse_kernel = SPARSE_I8_KERNELS
        .iter()
        .rfind(|k| k.is_available())
        .expect("the scalar kernel at least");
    for shape in BlockShape::ALL {
        for density in DENSITIES {
            let dense = with_density(m, k, shape, density, (m * 31 + k) as u64, i8_value);
            let w = SparseMatrix::from_dense(&dense, m, k, shape).expect("fits");
            let w = SparseI8Matrix::new(w).expect("fits");
            group.bench_function(BenchmarkId::new(shape.name(), percent(density)), |bench| {
                bench.iter(|| {
                    let out = SparseQOutput::U8 {
                        c: &mut y,
                        requantize: &requantize,
                    };
                    sparse_linear_u8i8(sparse_kernel, &w, &x, 128, 1, out).expect("runs");
                    black_box(&y);
                })
            });
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    f32_linear_groups,
    f32_pointwise,
    i8_pointwise,
    i8_linear
);
criterion_main!(benches);
