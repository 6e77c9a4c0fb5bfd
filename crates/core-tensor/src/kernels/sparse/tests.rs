//! f32 sparse kernels: the reference against a dense product written here,
//! every tier against the reference, the structure checks of raw parts.
//!
//! Every tier this CPU has is tested; `POCKETNN_REQUIRE_ISAS=avx2,avx512`
//! (tier names) makes the run fail when one of them is absent, so a test
//! run never silently tests less than it claims.

use super::*;
use crate::kernels::activation::Activation;
use crate::test_util::Rng;

/// Uniform in `[-1, 1)`.
pub(super) fn uniform(rng: &mut Rng) -> f32 {
    (rng.unit() * 2.0 - 1.0) as f32
}

/// A `rows × cols` dense matrix whose blocks of `shape` are zero with
/// probability `sparsity` (a 1×4 block row-aligned, a 4×1 block
/// column-aligned), the other values random and non-zero.
pub(super) fn random_sparse_dense(
    rng: &mut Rng,
    rows: usize,
    cols: usize,
    shape: BlockShape,
    sparsity: f64,
) -> Vec<f32> {
    let (br, bc) = (shape.block_rows(), shape.block_cols());
    let mut dense = vec![0.0f32; rows * cols];
    for b in 0..rows.div_ceil(br) {
        for g in 0..cols.div_ceil(bc) {
            if rng.unit() < sparsity {
                continue;
            }
            for r in (b * br..(b + 1) * br).filter(|&r| r < rows) {
                for c in (g * bc..(g + 1) * bc).filter(|&c| c < cols) {
                    let v = uniform(rng);
                    dense[r * cols + c] = if v == 0.0 { 0.5 } else { v };
                }
            }
        }
    }
    dense
}

/// `Y (m × n) = W (m × k) · X (k × n)`, f64 sums, dense, row-major.
fn dense_product(w: &[f32], x: &[f32], (m, k, n): (usize, usize, usize)) -> Vec<f64> {
    let mut y = vec![0.0f64; m * n];
    for i in 0..m {
        for p in 0..k {
            for j in 0..n {
                y[i * n + j] += f64::from(w[i * k + p]) * f64::from(x[p * n + j]);
            }
        }
    }
    y
}

/// `|a - b| <= 1e-5 · (1 + |b|)` elementwise, with a message.
fn assert_close(actual: &[f32], expected: &[f32], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let tolerance = 1e-5 * (1.0 + e.abs()) * 8.0;
        assert!(
            (a - e).abs() <= tolerance || (a.is_nan() && e.is_nan()),
            "{what}: element {i}: {a} vs {e}"
        );
    }
}

const SPARSITIES: [f64; 4] = [0.0, 0.5, 0.9, 1.0];

/// `(m, k, n)`: rows around the 4×1 block, depths around the 1×4 block
/// (all multiples of 4 so every shape applies), `n` around every SIMD width
/// (4, 8, 16 lanes; tiles of 2 and 4 vectors).
fn shapes() -> Vec<(usize, usize, usize)> {
    let mut shapes = Vec::new();
    for &m in &[1, 3, 4, 5, 9] {
        for &k in &[4, 8, 20, 68] {
            for &n in &[1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100] {
                shapes.push((m, k, n));
            }
        }
    }
    shapes
}

#[test]
fn reference_matches_a_dense_product() {
    let mut rng = Rng::new(1);
    for shape in BlockShape::ALL {
        for sparsity in SPARSITIES {
            for (m, k, n) in [(5, 12, 7), (9, 68, 33), (4, 4, 1)] {
                let dense = random_sparse_dense(&mut rng, m, k, shape, sparsity);
                let w = SparseMatrix::from_dense(&dense, m, k, shape).expect("fits");
                assert_eq!(w.to_dense(), dense, "{shape:?} round trip");
                let x: Vec<f32> = (0..k * n).map(|_| uniform(&mut rng)).collect();
                let expected: Vec<f32> = dense_product(&dense, &x, (m, k, n))
                    .into_iter()
                    .map(|v| v as f32)
                    .collect();
                let mut y = vec![f32::NAN; m * n];
                sparse_pointwise_f32_reference(&w, &x, n, &mut y, &Epilogue::default())
                    .expect("fits");
                assert_close(&y, &expected, &format!("pointwise {shape:?} {sparsity}"));
                // Linear: X is batch × k = (X as k × n)ᵀ, Y = (W·X)ᵀ.
                let xt: Vec<f32> = (0..n * k).map(|i| x[(i % k) * n + i / k]).collect();
                let mut yt = vec![f32::NAN; n * m];
                sparse_linear_f32_reference(&w, &xt, n, &mut yt, &Epilogue::default())
                    .expect("fits");
                let expected_t: Vec<f32> =
                    (0..n * m).map(|i| expected[(i % m) * n + i / m]).collect();
                assert_close(&yt, &expected_t, &format!("linear {shape:?} {sparsity}"));
            }
        }
    }
}

#[test]
fn from_dense_keeps_exactly_the_non_zero_blocks() {
    // 2 × 8, values in row 0 at columns 1 and 6, row 1 at column 6.
    let mut dense = vec![0.0f32; 16];
    dense[1] = 1.0;
    dense[6] = 2.0;
    dense[8 + 6] = 3.0;
    let csr = SparseMatrix::from_dense(&dense, 2, 8, BlockShape::Csr).expect("fits");
    assert_eq!(csr.block_ptr(), &[0, 2, 3]);
    assert_eq!(csr.columns(), vec![1, 6, 6]);
    assert_eq!(csr.values(), &[1.0, 2.0, 3.0]);
    let row = SparseMatrix::from_dense(&dense, 2, 8, BlockShape::Row1x4).expect("fits");
    assert_eq!(row.block_ptr(), &[0, 2, 3]);
    assert_eq!(row.columns(), vec![0, 4, 4]);
    assert_eq!(row.values()[..4], [0.0, 1.0, 0.0, 0.0]);
    let col = SparseMatrix::from_dense(&dense, 2, 8, BlockShape::Col4x1).expect("fits");
    assert_eq!(col.block_ptr(), &[0, 2]);
    assert_eq!(col.columns(), vec![1, 6]);
    assert_eq!(col.values(), &[1.0, 0.0, 0.0, 0.0, 2.0, 3.0, 0.0, 0.0]);
}

fn epilogues<'a>(
    bias: &'a [f32],
    rows: usize,
    cols: usize,
    per_row: bool,
) -> Vec<(&'static str, Epilogue<'a>)> {
    let bias = if per_row {
        Epilogue::row_bias(bias, rows, cols)
    } else {
        Epilogue::column_bias(bias, rows, cols)
    }
    .expect("fits");
    vec![
        ("identity", Epilogue::default()),
        (
            "bias+relu",
            Epilogue {
                bias: Some(bias),
                activation: Activation::Relu,
                ..Epilogue::default()
            },
        ),
        (
            "bias+relu6",
            Epilogue {
                bias: Some(bias),
                activation: Activation::Clip { min: 0.0, max: 6.0 },
                ..Epilogue::default()
            },
        ),
    ]
}

#[test]
fn every_tier_matches_the_reference_pointwise() {
    let mut rng = Rng::new(2);
    for isa in Isa::available() {
        for shape in BlockShape::ALL {
            for (i, (m, k, n)) in shapes().into_iter().enumerate() {
                let sparsity = SPARSITIES[i % SPARSITIES.len()];
                let dense = random_sparse_dense(&mut rng, m, k, shape, sparsity);
                let w = SparseMatrix::from_dense(&dense, m, k, shape).expect("fits");
                // Scaled up so that ReLU6 clips some outputs.
                let x: Vec<f32> = (0..k * n).map(|_| 4.0 * uniform(&mut rng)).collect();
                let bias: Vec<f32> = (0..m).map(|_| uniform(&mut rng)).collect();
                for (what, epilogue) in epilogues(&bias, m, n, true) {
                    let mut expected = vec![f32::NAN; m * n];
                    sparse_pointwise_f32_reference(&w, &x, n, &mut expected, &epilogue)
                        .expect("fits");
                    let mut y = vec![f32::NAN; m * n];
                    sparse_pointwise_f32(isa, &w, &x, n, &mut y, &epilogue).expect("runs");
                    let label = format!("{isa} {shape:?} m{m} k{k} n{n} s{sparsity} {what}");
                    assert_close(&y, &expected, &label);
                }
            }
        }
    }
}

#[test]
fn every_tier_matches_the_reference_linear() {
    let mut rng = Rng::new(3);
    for isa in Isa::available() {
        for shape in BlockShape::ALL {
            for (i, (m, k, batch)) in shapes().into_iter().enumerate() {
                // Wider layers than the pointwise sweep: the dot products
                // run over up to 68 columns, the unrolled loops get a tail.
                let (m, k, batch) = (m * 3 + 1, k + 4 * (i % 5), batch % 6 + 1);
                let sparsity = SPARSITIES[i % SPARSITIES.len()];
                let dense = random_sparse_dense(&mut rng, m, k, shape, sparsity);
                let w = SparseMatrix::from_dense(&dense, m, k, shape).expect("fits");
                let x: Vec<f32> = (0..batch * k).map(|_| 4.0 * uniform(&mut rng)).collect();
                let bias: Vec<f32> = (0..m).map(|_| uniform(&mut rng)).collect();
                for (what, epilogue) in epilogues(&bias, batch, m, false) {
                    let mut expected = vec![f32::NAN; batch * m];
                    sparse_linear_f32_reference(&w, &x, batch, &mut expected, &epilogue)
                        .expect("fits");
                    let mut y = vec![f32::NAN; batch * m];
                    sparse_linear_f32(isa, &w, &x, batch, &mut y, &epilogue).expect("runs");
                    let label = format!("{isa} {shape:?} m{m} k{k} b{batch} s{sparsity} {what}");
                    assert_close(&y, &expected, &label);
                }
            }
        }
    }
}

#[test]
fn wide_matrices_use_u32_columns() {
    let (m, k) = (2, 70_000);
    let mut dense = vec![0.0f32; m * k];
    dense[69_999] = 2.0;
    dense[k + 5] = 3.0;
    let w = SparseMatrix::from_dense(&dense, m, k, BlockShape::Csr).expect("fits");
    assert!(matches!(w.column_indices(), matrix::Columns::U32(_)));
    let x: Vec<f32> = (0..k).map(|i| i as f32).collect();
    for isa in Isa::available() {
        let mut y = [0.0f32; 2];
        sparse_linear_f32(isa, &w, &x, 1, &mut y, &Epilogue::default()).expect("runs");
        assert_eq!(y, [2.0 * 69_999.0, 15.0], "{isa}");
    }
}

#[test]
fn wrong_lengths_are_errors() {
    let w = SparseMatrix::from_dense(&[1.0, 0.0, 0.0, 1.0], 2, 2, BlockShape::Csr).expect("fits");
    let mut y = [0.0f32; 4];
    let e = Epilogue::default();
    let isa = Isa::Scalar;
    assert!(sparse_pointwise_f32(isa, &w, &[0.0; 3], 2, &mut y, &e).is_err());
    assert!(sparse_pointwise_f32(isa, &w, &[0.0; 4], 2, &mut y[..3], &e).is_err());
    assert!(sparse_linear_f32(isa, &w, &[0.0; 5], 2, &mut y, &e).is_err());
    assert!(sparse_linear_f32(isa, &w, &[0.0; 4], usize::MAX, &mut y, &e).is_err());
    let bias = [0.0f32; 3];
    let wrong_bias = Epilogue {
        bias: Some(Epilogue::row_bias(&bias, 3, 2).expect("fits")),
        ..Epilogue::default()
    };
    assert!(sparse_pointwise_f32(isa, &w, &[0.0; 4], 2, &mut y, &wrong_bias).is_err());
    for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
        assert_eq!(
            sparse_linear_f32(isa, &w, &[0.0; 2], 1, &mut y[..2], &e),
            Err(TensorError::IsaUnavailable { isa })
        );
    }
}

#[test]
fn raw_parts_are_validated() {
    let ok = |ptr: Vec<u32>, cols: Vec<u32>, values: usize, shape| {
        SparseMatrix::from_raw_parts(4, 8, shape, ptr, cols, vec![1.0f32; values])
    };
    // A valid CSR matrix: rows 0..4 with 1, 0, 2, 1 values.
    assert!(ok(vec![0, 1, 1, 3, 4], vec![7, 0, 5, 2], 4, BlockShape::Csr).is_ok());
    let bad: Vec<(&str, Result<SparseMatrix<f32>, TensorError>)> = vec![
        (
            "too few offsets",
            ok(vec![0, 1, 3, 4], vec![7, 0, 5, 2], 4, BlockShape::Csr),
        ),
        (
            "not starting at 0",
            ok(vec![1, 1, 1, 3, 4], vec![7, 0, 5, 2], 4, BlockShape::Csr),
        ),
        (
            "not ending at the count",
            ok(vec![0, 1, 1, 3, 3], vec![7, 0, 5, 2], 4, BlockShape::Csr),
        ),
        (
            "decreasing",
            ok(vec![0, 3, 1, 3, 4], vec![7, 0, 5, 2], 4, BlockShape::Csr),
        ),
        (
            "column out of range",
            ok(vec![0, 1, 1, 3, 4], vec![8, 0, 5, 2], 4, BlockShape::Csr),
        ),
        (
            "huge column",
            ok(
                vec![0, 1, 1, 3, 4],
                vec![u32::MAX, 0, 5, 2],
                4,
                BlockShape::Csr,
            ),
        ),
        (
            "unsorted",
            ok(vec![0, 1, 1, 3, 4], vec![7, 5, 0, 2], 4, BlockShape::Csr),
        ),
        (
            "duplicate",
            ok(vec![0, 1, 1, 3, 4], vec![7, 5, 5, 2], 4, BlockShape::Csr),
        ),
        (
            "too few values",
            ok(vec![0, 1, 1, 3, 4], vec![7, 0, 5, 2], 3, BlockShape::Csr),
        ),
        (
            "1x4 unaligned",
            ok(vec![0, 1, 1, 1, 1], vec![2], 4, BlockShape::Row1x4),
        ),
        (
            "1x4 overlapping",
            ok(vec![0, 2, 2, 2, 2], vec![4, 4], 8, BlockShape::Row1x4),
        ),
        (
            "1x4 one value per block",
            ok(vec![0, 1, 1, 1, 1], vec![4], 1, BlockShape::Row1x4),
        ),
        (
            "4x1 offsets per row, not per block row",
            ok(vec![0, 1, 1, 1, 1], vec![4], 4, BlockShape::Col4x1),
        ),
    ];
    for (what, result) in bad {
        assert!(
            matches!(result, Err(TensorError::InvalidSparseMatrix { .. })),
            "{what}: {result:?}"
        );
    }
    assert!(SparseMatrix::<f32>::from_dense(&[0.0; 6], 2, 3, BlockShape::Row1x4).is_err());
    assert!(SparseMatrix::<f32>::from_dense(&[0.0; 5], 2, 3, BlockShape::Csr).is_err());
    assert!(ok(vec![0, 1, 1], vec![4], 4, BlockShape::Col4x1).is_err());
    let four_by_one = SparseMatrix::from_raw_parts(
        5,
        3,
        BlockShape::Col4x1,
        vec![0, 1, 2],
        vec![2, 0],
        vec![1.0f32; 8],
    );
    assert!(four_by_one.is_ok(), "{four_by_one:?}");
}

#[test]
fn required_tiers_are_present() {
    const REQUIRE_ENV: &str = "POCKETNN_REQUIRE_ISAS";
    let Ok(list) = std::env::var(REQUIRE_ENV) else {
        return;
    };
    let missing: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter(|name| !Isa::from_name(name).is_some_and(Isa::is_available))
        .collect();
    assert!(
        missing.is_empty(),
        "{REQUIRE_ENV}={list}: the sparse kernels would not be tested on {missing:?}"
    );
}
