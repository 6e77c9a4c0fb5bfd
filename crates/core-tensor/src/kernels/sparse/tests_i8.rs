//! int8 sparse kernels: the scalar kernel's exact sums against a dense
//! product written here, every other kernel against the scalar one (i32
//! sums and requantized u8), extremes, and argument checks.

use super::tests::random_sparse_dense;
use super::*;
use crate::kernels::qgemm::{Dequantize, QuantMultiplier, Requantize};
use crate::test_util::Rng;

/// A random sparse i8 matrix (non-zero values in `-128..=127`) and its
/// dense form.
fn random_i8(
    rng: &mut Rng,
    (m, k): (usize, usize),
    shape: BlockShape,
    sparsity: f64,
) -> (Vec<i8>, SparseI8Matrix) {
    let pattern = random_sparse_dense(rng, m, k, shape, sparsity);
    let dense: Vec<i8> = pattern
        .iter()
        .map(|&v| {
            if v == 0.0 {
                0
            } else {
                let q = (rng.next_u64() % 255) as i32 - 128;
                if q == 0 { 127 } else { q as i8 }
            }
        })
        .collect();
    let sparse = SparseMatrix::from_dense(&dense, m, k, shape).expect("fits");
    (dense, SparseI8Matrix::new(sparse).expect("fits"))
}

/// `Σ_p W[i, p] · (X[p, j] - zx)` for `X` k × n, in i64.
fn dense_sums(w: &[i8], x: &[u8], zx: u8, (m, k, n): (usize, usize, usize)) -> Vec<i32> {
    let mut y = vec![0i64; m * n];
    for i in 0..m {
        for p in 0..k {
            for j in 0..n {
                y[i * n + j] += i64::from(w[i * k + p]) * (i64::from(x[p * n + j]) - i64::from(zx));
            }
        }
    }
    y.into_iter()
        .map(|v| i32::try_from(v).expect("fits"))
        .collect()
}

fn random_bytes(rng: &mut Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

fn kernels() -> Vec<SparseI8Kernel> {
    SPARSE_I8_KERNELS
        .into_iter()
        .filter(SparseI8Kernel::is_available)
        .collect()
}

fn shapes() -> Vec<(usize, usize, usize)> {
    let mut shapes = Vec::new();
    for &m in &[1, 3, 4, 5, 9] {
        for &k in &[4, 8, 12, 36] {
            for &n in &[1, 3, 4, 15, 16, 17, 31, 33, 64, 65, 100] {
                shapes.push((m, k, n));
            }
        }
    }
    shapes
}

const SPARSITIES: [f64; 4] = [0.0, 0.5, 0.9, 1.0];

#[test]
fn every_kernel_matches_a_dense_product_pointwise() {
    let mut rng = Rng::new(11);
    for kernel in kernels() {
        for shape in BlockShape::ALL {
            for (i, (m, k, n)) in shapes().into_iter().enumerate() {
                // Odd depths too, except for 1×4 blocks.
                let k = if shape == BlockShape::Row1x4 {
                    k
                } else {
                    k + i % 3
                };
                let sparsity = SPARSITIES[i % SPARSITIES.len()];
                let (dense, w) = random_i8(&mut rng, (m, k), shape, sparsity);
                let x = random_bytes(&mut rng, k * n);
                let zx = (i * 37 % 256) as u8;
                // Per-channel multipliers and bias, a clamp like a fused
                // ReLU6 (alternating with a per-tensor multiplier).
                let requantize = if i % 2 == 0 {
                    Requantize::new(
                        (0..m)
                            .map(|j| QuantMultiplier::new(0.001 + 0.002 * j as f64).expect("valid"))
                            .collect(),
                        (0..m as i32).map(|j| 37 * j - 60).collect(),
                        120,
                        (10, 200),
                    )
                } else {
                    Requantize::new(
                        vec![QuantMultiplier::new(0.003).expect("valid")],
                        vec![],
                        3,
                        (0, 255),
                    )
                }
                .expect("valid");
                let expected = dense_sums(&dense, &x, zx, (m, k, n));
                let label = format!("{} {shape:?} m{m} k{k} n{n} s{sparsity}", kernel.name);
                let mut sums = vec![i32::MIN; m * n];
                sparse_pointwise_u8i8(&kernel, &w, &x, zx, n, SparseQOutput::I32(&mut sums))
                    .expect("runs");
                assert_eq!(sums, expected, "{label}");
                let mut q = vec![0u8; m * n];
                let out = SparseQOutput::U8 {
                    c: &mut q,
                    requantize: &requantize,
                };
                sparse_pointwise_u8i8(&kernel, &w, &x, zx, n, out).expect("runs");
                let mut q_scalar = vec![0u8; m * n];
                let out = SparseQOutput::U8 {
                    c: &mut q_scalar,
                    requantize: &requantize,
                };
                let scalar = SparseI8Kernel::best_for(Isa::Scalar);
                sparse_pointwise_u8i8(&scalar, &w, &x, zx, n, out).expect("runs");
                assert_eq!(q, q_scalar, "{label} u8");
            }
        }
    }
}

#[test]
fn every_kernel_matches_a_dense_product_linear() {
    let mut rng = Rng::new(12);
    for kernel in kernels() {
        for shape in BlockShape::ALL {
            for (i, (m, k, batch)) in shapes().into_iter().enumerate().step_by(3) {
                let k = if shape == BlockShape::Row1x4 {
                    k
                } else {
                    k + i % 3
                };
                let batch = batch % 5 + 1;
                let sparsity = SPARSITIES[i % SPARSITIES.len()];
                let (dense, w) = random_i8(&mut rng, (m, k), shape, sparsity);
                let x = random_bytes(&mut rng, batch * k);
                let zx = (i * 91 % 256) as u8;
                // Y = (X - zx) · Wᵀ = ((W · (X - zx)ᵀ))ᵀ.
                let xt: Vec<u8> = (0..k * batch)
                    .map(|j| x[(j % batch) * k + j / batch])
                    .collect();
                let wx = dense_sums(&dense, &xt, zx, (m, k, batch));
                let expected: Vec<i32> = (0..batch * m)
                    .map(|j| wx[(j % m) * batch + j / m])
                    .collect();
                let mut sums = vec![i32::MIN; batch * m];
                sparse_linear_u8i8(&kernel, &w, &x, zx, batch, SparseQOutput::I32(&mut sums))
                    .expect("runs");
                assert_eq!(
                    sums, expected,
                    "{} {shape:?} m{m} k{k} b{batch}",
                    kernel.name
                );
            }
        }
    }
}

/// `Y (batch × m) = (X (batch × k) - zx) · Wᵀ` for a dense `W` (m × k),
/// in i64.
fn dense_linear_sums(w: &[i8], x: &[u8], zx: u8, (m, k, batch): (usize, usize, usize)) -> Vec<i32> {
    let mut y = Vec::with_capacity(batch * m);
    for i in 0..batch {
        for j in 0..m {
            let sum: i64 = (0..k)
                .map(|p| i64::from(w[j * k + p]) * (i64::from(x[i * k + p]) - i64::from(zx)))
                .sum();
            y.push(i32::try_from(sum).expect("fits"));
        }
    }
    y
}

#[test]
fn every_kernel_matches_a_dense_product_linear_long_rows() {
    // Rows long enough for several 8-entry steps of the SIMD linear kernels
    // and every tail length (depths around multiples of 4 and 32, odd ones
    // for CSR and 4×1), rows around the 4-row block, empty rows (sparsity
    // 1 and, at 0.9, some), batches > 1, and the three outputs.
    let mut rng = Rng::new(13);
    let scalar = SparseI8Kernel::best_for(Isa::Scalar);
    for kernel in kernels() {
        for shape in BlockShape::ALL {
            let mut case = 0usize;
            for &m in &[1, 4, 7, 13] {
                for &k in &[1usize, 3, 5, 29, 32, 33, 61, 64, 67, 127, 131, 257, 515] {
                    case += 1;
                    let k = if shape == BlockShape::Row1x4 {
                        k.div_ceil(4) * 4
                    } else {
                        k
                    };
                    let batch = case % 3 + 1;
                    let sparsity = [0.0, 0.3, 0.6, 0.9, 1.0][case % 5];
                    let (dense, w) = random_i8(&mut rng, (m, k), shape, sparsity);
                    let x = random_bytes(&mut rng, batch * k);
                    let zx = [0u8, 255, 128, 3, 77][case % 5];
                    let label = format!(
                        "{} {shape:?} m{m} k{k} b{batch} s{sparsity} zx{zx}",
                        kernel.name
                    );
                    let expected = dense_linear_sums(&dense, &x, zx, (m, k, batch));
                    let mut sums = vec![i32::MIN; batch * m];
                    sparse_linear_u8i8(&kernel, &w, &x, zx, batch, SparseQOutput::I32(&mut sums))
                        .expect("runs");
                    assert_eq!(sums, expected, "{label}");

                    let requantize = Requantize::new(
                        (0..m)
                            .map(|j| {
                                QuantMultiplier::new(0.0007 + 0.0011 * j as f64).expect("valid")
                            })
                            .collect(),
                        (0..m as i32).map(|j| 53 * j - 200).collect(),
                        110,
                        (5, 250),
                    )
                    .expect("valid");
                    let mut q = vec![0u8; batch * m];
                    let mut q_scalar = vec![0u8; batch * m];
                    for (kernel, c) in [(kernel, &mut q), (scalar, &mut q_scalar)] {
                        let out = SparseQOutput::U8 {
                            c,
                            requantize: &requantize,
                        };
                        sparse_linear_u8i8(&kernel, &w, &x, zx, batch, out).expect("runs");
                    }
                    assert_eq!(q, q_scalar, "{label} u8");

                    let dequantize = Dequantize::new(
                        (0..batch).map(|i| 0.01 + 0.005 * i as f32).collect(),
                        (0..m).map(|j| 0.02 + 0.001 * j as f32).collect(),
                        (0..m).map(|j| j as f32 - 3.0).collect(),
                    )
                    .expect("valid");
                    let mut f = vec![f32::NAN; batch * m];
                    let mut f_scalar = vec![f32::NAN; batch * m];
                    for (kernel, c) in [(kernel, &mut f), (scalar, &mut f_scalar)] {
                        let out = SparseQOutput::F32 {
                            c,
                            dequantize: &dequantize,
                        };
                        sparse_linear_u8i8(&kernel, &w, &x, zx, batch, out).expect("runs");
                    }
                    assert_eq!(f, f_scalar, "{label} f32");
                }
            }
        }
    }
}

#[test]
fn extreme_values_are_exact_linear_at_max_depth() {
    // Depth MAX_DEPTH, every weight -128 or 127, every activation 0 or 255,
    // zero point 0 or 255: the largest sums of both signs, and (weights
    // -128, activations and zero point 0) the case where the ARM kernels'
    // shifted sum Σ W (x - 128) = 2³¹ wraps before the correction.
    let (m, k, batch) = (5, crate::kernels::qgemm::MAX_DEPTH, 2);
    for shape in BlockShape::ALL {
        for w_value in [-128i8, 127] {
            let dense = vec![w_value; m * k];
            let w =
                SparseI8Matrix::new(SparseMatrix::from_dense(&dense, m, k, shape).expect("fits"))
                    .expect("fits");
            for (x_value, zx) in [(255u8, 0u8), (0, 255), (0, 0), (255, 255), (255, 128)] {
                let x = vec![x_value; batch * k];
                let expected = i32::try_from(
                    i64::from(w_value) * k as i64 * (i64::from(x_value) - i64::from(zx)),
                )
                .expect("fits");
                for kernel in kernels() {
                    let mut sums = vec![0i32; batch * m];
                    sparse_linear_u8i8(&kernel, &w, &x, zx, batch, SparseQOutput::I32(&mut sums))
                        .expect("runs");
                    assert!(
                        sums.iter().all(|&s| s == expected),
                        "{} {shape:?} w{w_value} x{x_value} zx{zx}: {sums:?} != {expected}",
                        kernel.name
                    );
                }
            }
        }
    }
}

#[test]
fn extreme_values_are_exact() {
    // Every weight -128, every activation 255, zero point 0, then 255: the
    // largest sums of both signs.
    let (m, k, n) = (5, 4096, 19);
    for shape in BlockShape::ALL {
        let dense = vec![-128i8; m * k];
        let w = SparseI8Matrix::new(SparseMatrix::from_dense(&dense, m, k, shape).expect("fits"))
            .expect("fits");
        for (x_value, zx) in [(255u8, 0u8), (0, 255)] {
            let x = vec![x_value; k * n];
            let expected = -128 * k as i32 * (i32::from(x_value) - i32::from(zx));
            for kernel in kernels() {
                let mut sums = vec![0i32; m * n];
                sparse_pointwise_u8i8(&kernel, &w, &x, zx, n, SparseQOutput::I32(&mut sums))
                    .expect("runs");
                assert!(
                    sums.iter().all(|&s| s == expected),
                    "{} {shape:?}",
                    kernel.name
                );
                sums.fill(0);
                sparse_linear_u8i8(&kernel, &w, &x, zx, n, SparseQOutput::I32(&mut sums))
                    .expect("runs");
                assert!(
                    sums.iter().all(|&s| s == expected),
                    "{} {shape:?} linear",
                    kernel.name
                );
            }
        }
    }
}

#[test]
fn dequantized_and_requantized_outputs_use_the_channel() {
    // W = [[1, 0], [0, 2]], X = [[10], [20]] (k = 2, n = 1), zero point 0.
    let w = SparseI8Matrix::new(
        SparseMatrix::from_dense(&[1i8, 0, 0, 2], 2, 2, BlockShape::Csr).expect("fits"),
    )
    .expect("fits");
    let dequantize = Dequantize::new(vec![0.5], vec![1.0, 0.25], vec![1.0, -1.0]).expect("valid");
    let requantize = Requantize::new(
        vec![
            QuantMultiplier::new(1.0).expect("valid"),
            QuantMultiplier::new(0.5).expect("valid"),
        ],
        vec![3, 0],
        100,
        (0, 255),
    )
    .expect("valid");
    for kernel in kernels() {
        let mut f = [0.0f32; 2];
        let out = SparseQOutput::F32 {
            c: &mut f,
            dequantize: &dequantize,
        };
        sparse_pointwise_u8i8(&kernel, &w, &[10, 20], 0, 1, out).expect("runs");
        // 10 · 0.5 · 1 + 1 and 40 · 0.5 · 0.25 - 1.
        assert_eq!(f, [6.0, 4.0], "{}", kernel.name);
        let mut q = [0u8; 2];
        let out = SparseQOutput::U8 {
            c: &mut q,
            requantize: &requantize,
        };
        sparse_pointwise_u8i8(&kernel, &w, &[10, 20], 0, 1, out).expect("runs");
        // (10 + 3) · 1 + 100 and 40 · 0.5 + 100.
        assert_eq!(q, [113, 120], "{}", kernel.name);
        let mut q = [0u8; 2];
        let out = SparseQOutput::U8 {
            c: &mut q,
            requantize: &requantize,
        };
        sparse_linear_u8i8(&kernel, &w, &[10, 20], 0, 1, out).expect("runs");
        assert_eq!(q, [113, 120], "{} linear", kernel.name);
    }
}

#[test]
fn bad_arguments_are_errors() {
    let w = SparseI8Matrix::new(
        SparseMatrix::from_dense(&[1i8, 0, 0, 2], 2, 2, BlockShape::Csr).expect("fits"),
    )
    .expect("fits");
    let scalar = SparseI8Kernel::best_for(Isa::Scalar);
    let mut sums = [0i32; 4];
    assert!(
        sparse_pointwise_u8i8(&scalar, &w, &[0; 3], 0, 2, SparseQOutput::I32(&mut sums)).is_err()
    );
    assert!(
        sparse_pointwise_u8i8(
            &scalar,
            &w,
            &[0; 4],
            0,
            2,
            SparseQOutput::I32(&mut sums[..3])
        )
        .is_err()
    );
    assert!(sparse_linear_u8i8(&scalar, &w, &[0; 4], 0, 3, SparseQOutput::I32(&mut sums)).is_err());
    let made_up = SparseI8Kernel {
        name: "i8-sparse-made-up",
        ..scalar
    };
    assert!(matches!(
        sparse_pointwise_u8i8(&made_up, &w, &[0; 4], 0, 2, SparseQOutput::I32(&mut sums)),
        Err(TensorError::KernelUnavailable { .. })
    ));
    for kernel in SPARSE_I8_KERNELS.iter().filter(|k| !k.is_available()) {
        assert!(
            sparse_pointwise_u8i8(kernel, &w, &[0; 4], 0, 2, SparseQOutput::I32(&mut sums))
                .is_err()
        );
    }
    let wide =
        SparseMatrix::from_dense(&vec![0i8; 40_000], 1, 40_000, BlockShape::Csr).expect("fits");
    assert!(matches!(
        SparseI8Matrix::new(wide),
        Err(TensorError::DepthTooLarge { .. })
    ));
    let requantize = Requantize::new(
        vec![QuantMultiplier::new(1.0).expect("valid"); 3],
        vec![],
        0,
        (0, 255),
    )
    .expect("valid");
    let mut q = [0u8; 4];
    let out = SparseQOutput::U8 {
        c: &mut q,
        requantize: &requantize,
    };
    assert!(sparse_pointwise_u8i8(&scalar, &w, &[0; 4], 0, 2, out).is_err());
}

#[test]
fn the_grouped_form_merges_weights_of_one_group() {
    // Row 0: columns 0, 2 (group 0) and 5 (group 1); row 1: column 3.
    let mut dense = vec![0i8; 16];
    dense[0] = 1;
    dense[2] = -2;
    dense[5] = 3;
    dense[8 + 3] = 4;
    let w =
        SparseI8Matrix::new(SparseMatrix::from_dense(&dense, 2, 8, BlockShape::Csr).expect("fits"))
            .expect("fits");
    assert_eq!(w.group_entries(), 3);
    assert_eq!(w.row_sums(), &[2, 4]);
}
