//! `sparse`: the sparse kernels against the dense ones at the issue's
//! target shapes, weights 90 % zero (unstructured for CSR, whole blocks for
//! 1×4 and 4×1), best tier of this CPU:
//!
//! * `sparse-f32-fc1`: seed_cnn's fc1 (6272 → 1024) at batch 1: the dense
//!   f32 GEMM (weight packed once, and strided) against
//!   `sparse_linear_f32` with CSR, 1×4 and 4×1 weights;
//! * `sparse-f32-pointwise`: a MobileNet-like 1×1 convolution (256 → 256
//!   channels, 14×14 pixels) in f32, dense GEMM against `sparse_pointwise_f32`;
//! * `sparse-i8-pointwise`: the same convolution in int8 (u8 activations,
//!   requantized u8 output): the dense int8 GEMM (every SIMD kernel of this
//!   CPU, weights packed, activations transposed to pixel-major inside the
//!   timing or beforehand) against `sparse_pointwise_u8i8` of every int8
//!   sparse kernel;
//! * `sparse-i8-fc1`: fc1's shape in int8 at batch 1: the dense int8 GEMM
//!   (best kernel, weights packed) against `sparse_linear_u8i8` of every
//!   int8 sparse kernel (the scalar one is the portable dot product).
//!
//! Throughput counts the dense operations (a multiply-add counts 2), so
//! the figures of one group compare directly.
//!
//! ```text
//! cargo bench -p pocketnn-benches --bench sparse -- --warm-up-time 1 --measurement-time 3
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pocketnn_benches::sparse_data::{Stream, f32_value, filled, i8_value, with_density};
use pocketnn_tensor::Isa;
use pocketnn_tensor::kernels::gemm::{
    Accumulate, Epilogue, MatMut, MatRef, PackedB, gemm_f32, gemm_f32_packed,
};
use pocketnn_tensor::kernels::qgemm::{
    I8_GEMM_KERNELS, PackedI8B, QOutput, QuantMultiplier, Requantize, U8Matrix, ZeroPoints,
    gemm_u8i8,
};
use pocketnn_tensor::kernels::sparse::{
    BlockShape, SPARSE_I8_KERNELS, SparseI8Matrix, SparseMatrix, SparseQOutput, sparse_linear_f32,
    sparse_linear_u8i8, sparse_pointwise_f32, sparse_pointwise_u8i8,
};
use std::hint::black_box;

/// Share of non-zero weights (or blocks): 90 % of them are zero.
const DENSITY: f64 = 0.1;

fn bench_f32_fc1(criterion: &mut Criterion) {
    let isa = Isa::best();
    let (k, m) = (6272, 1024);
    let mut group = criterion.benchmark_group("sparse-f32-fc1");
    group.sample_size(20);
    group.throughput(Throughput::Elements((2 * m * k) as u64));
    let x = filled(k, 1);
    let mut y = vec![0.0f32; m];
    // Dense: C (1 × m) = x (1 × k) · Wᵀ, W stored m × k.
    let dense = with_density(m, k, BlockShape::Csr, DENSITY, 2, f32_value);
    let a = MatRef::row_major(&x, 1, k).expect("fits");
    let b = MatRef::row_major(&dense, m, k).expect("fits").t();
    let packed = PackedB::pack(isa, b).expect("fits");
    group.bench_function(
        BenchmarkId::new(format!("dense-{isa}"), "packed-b"),
        |bench| {
            bench.iter(|| {
                let c = MatMut::row_major(&mut y, 1, m).expect("fits");
                gemm_f32_packed(isa, a, packed.view(), c, Accumulate::No).expect("runs");
                black_box(&y);
            })
        },
    );
    group.bench_function(
        BenchmarkId::new(format!("dense-{isa}"), "strided-b"),
        |bench| {
            bench.iter(|| {
                let c = MatMut::row_major(&mut y, 1, m).expect("fits");
                gemm_f32(isa, a, b, c, Accumulate::No).expect("runs");
                black_box(&y);
            })
        },
    );
    for shape in BlockShape::ALL {
        let dense = with_density(m, k, shape, DENSITY, 3, f32_value);
        let w = SparseMatrix::from_dense(&dense, m, k, shape).expect("fits");
        let id = BenchmarkId::new(format!("sparse-{isa}"), shape.name());
        group.bench_function(id, |bench| {
            bench.iter(|| {
                sparse_linear_f32(isa, &w, &x, 1, &mut y, &Epilogue::default()).expect("runs");
                black_box(&y);
            })
        });
    }
    group.finish();
}

/// 1×1 convolution, 256 → 256 channels, 14 × 14 pixels.
const POINTWISE: (usize, usize, usize) = (256, 256, 196);

fn bench_f32_pointwise(criterion: &mut Criterion) {
    let isa = Isa::best();
    let (m, k, n) = POINTWISE;
    let mut group = criterion.benchmark_group("sparse-f32-pointwise");
    group.sample_size(20);
    group.throughput(Throughput::Elements((2 * m * k * n) as u64));
    let x = filled(k * n, 4);
    let mut y = vec![0.0f32; m * n];
    let dense = with_density(m, k, BlockShape::Csr, DENSITY, 5, f32_value);
    group.bench_function(BenchmarkId::new(format!("dense-{isa}"), "gemm"), |bench| {
        let w = MatRef::row_major(&dense, m, k).expect("fits");
        let b = MatRef::row_major(&x, k, n).expect("fits");
        bench.iter(|| {
            let c = MatMut::row_major(&mut y, m, n).expect("fits");
            gemm_f32(isa, w, b, c, Accumulate::No).expect("runs");
            black_box(&y);
        })
    });
    for shape in BlockShape::ALL {
        let dense = with_density(m, k, shape, DENSITY, 6, f32_value);
        let w = SparseMatrix::from_dense(&dense, m, k, shape).expect("fits");
        let id = BenchmarkId::new(format!("sparse-{isa}"), shape.name());
        group.bench_function(id, |bench| {
            bench.iter(|| {
                sparse_pointwise_f32(isa, &w, &x, n, &mut y, &Epilogue::default()).expect("runs");
                black_box(&y);
            })
        });
    }
    group.finish();
}

fn bench_i8_pointwise(criterion: &mut Criterion) {
    let (m, k, n) = POINTWISE;
    let mut group = criterion.benchmark_group("sparse-i8-pointwise");
    group.sample_size(20);
    group.throughput(Throughput::Elements((2 * m * k * n) as u64));
    let mut stream = Stream(7);
    let x: Vec<u8> = (0..k * n)
        .map(|_| (stream.next_unit() * 256.0) as u8)
        .collect();
    let multiplier = QuantMultiplier::new(2e-4).expect("valid");
    let requantize = Requantize::new(vec![multiplier], vec![0; m], 128, (0, 255)).expect("valid");
    let mut y = vec![0u8; m * n];
    // Dense, every int8 GEMM kernel but the scalar one, B = Wᵀ packed once,
    // A = Xᵀ (pixels × k): once with the NCHW → pixel-major transposition
    // timed (what the int8 convolution pays, as its im2col), once without.
    let dense = with_density(m, k, BlockShape::Csr, DENSITY, 8, i8_value);
    let mut xt = vec![0u8; n * k];
    let transpose = |xt: &mut [u8]| {
        for (c, row) in x.chunks_exact(n).enumerate() {
            for (p, &v) in row.iter().enumerate() {
                xt[p * k + c] = v;
            }
        }
    };
    transpose(&mut xt);
    let dense_kernels = I8_GEMM_KERNELS
        .iter()
        .filter(|kernel| kernel.is_available() && kernel.isa != Isa::Scalar);
    for kernel in dense_kernels {
        let packed = PackedI8B::pack(kernel, &dense, (k, m), (1, k)).expect("fits");
        for with_transpose in [true, false] {
            let what = if with_transpose {
                "with-transpose"
            } else {
                "pixel-major-x"
            };
            let id = BenchmarkId::new(format!("dense-{}", kernel.name), what);
            group.bench_function(id, |bench| {
                bench.iter(|| {
                    if with_transpose {
                        transpose(&mut xt);
                    }
                    let out = QOutput::U8 {
                        c: &mut y,
                        row_stride: m,
                        requantize: &requantize,
                    };
                    let a = U8Matrix::row_major(&xt, n, k).expect("fits");
                    gemm_u8i8(kernel, a, ZeroPoints::PerTensor(128), &packed, &[], out)
                        .expect("runs");
                    black_box(&y);
                })
            });
        }
    }
    for shape in BlockShape::ALL {
        let dense = with_density(m, k, shape, DENSITY, 9, i8_value);
        let w = SparseMatrix::from_dense(&dense, m, k, shape).expect("fits");
        let w = SparseI8Matrix::new(w).expect("fits");
        for kernel in SPARSE_I8_KERNELS.iter().filter(|k| k.is_available()) {
            let id = BenchmarkId::new(kernel.name, shape.name());
            group.bench_function(id, |bench| {
                bench.iter(|| {
                    let out = SparseQOutput::U8 {
                        c: &mut y,
                        requantize: &requantize,
                    };
                    sparse_pointwise_u8i8(kernel, &w, &x, 128, n, out).expect("runs");
                    black_box(&y);
                })
            });
        }
    }
    group.finish();
}

fn bench_i8_fc1(criterion: &mut Criterion) {
    let (k, m) = (6272, 1024);
    let mut group = criterion.benchmark_group("sparse-i8-fc1");
    group.sample_size(20);
    group.throughput(Throughput::Elements((2 * m * k) as u64));
    let mut stream = Stream(11);
    let x: Vec<u8> = (0..k).map(|_| (stream.next_unit() * 256.0) as u8).collect();
    let multiplier = QuantMultiplier::new(2e-4).expect("valid");
    let requantize = Requantize::new(vec![multiplier], vec![0; m], 128, (0, 255)).expect("valid");
    let mut y = vec![0u8; m];
    let dense = with_density(m, k, BlockShape::Csr, DENSITY, 12, i8_value);
    // The list runs from the scalar kernel to the widest of each family.
    let best = I8_GEMM_KERNELS.iter().rfind(|kernel| kernel.is_available());
    if let Some(kernel) = best {
        // B = Wᵀ (k × m), packed once.
        let packed = PackedI8B::pack(kernel, &dense, (k, m), (1, k)).expect("fits");
        let id = BenchmarkId::new(format!("dense-{}", kernel.name), "packed-b");
        group.bench_function(id, |bench| {
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
    }
    for shape in BlockShape::ALL {
        let dense = with_density(m, k, shape, DENSITY, 13, i8_value);
        let w = SparseMatrix::from_dense(&dense, m, k, shape).expect("fits");
        let w = SparseI8Matrix::new(w).expect("fits");
        for kernel in SPARSE_I8_KERNELS.iter().filter(|k| k.is_available()) {
            let id = BenchmarkId::new(kernel.name, shape.name());
            group.bench_function(id, |bench| {
                bench.iter(|| {
                    let out = SparseQOutput::U8 {
                        c: &mut y,
                        requantize: &requantize,
                    };
                    sparse_linear_u8i8(kernel, &w, &x, 128, 1, out).expect("runs");
                    black_box(&y);
                })
            });
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_f32_fc1,
    bench_f32_pointwise,
    bench_i8_pointwise,
    bench_i8_fc1
);
criterion_main!(benches);
