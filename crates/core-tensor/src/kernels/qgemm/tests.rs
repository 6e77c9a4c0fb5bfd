//! Tests of the int8 GEMM: every kernel this CPU has against a plain i64
//! reference written here, on shapes swept around each tile and group size,
//! the extreme values that break saturating instruction sequences, every
//! zero-point form, both epilogues and the error paths.
//!
//! `POCKETNN_REQUIRE_FEATURES=dotprod,i8mm` makes the run fail when one of
//! those features is missing, so CI proves which kernels it tested.

use super::*;
use crate::test_util::Rng;

mod epilogue;
mod errors;

/// `Σ_p (a[i][p] - za_i)(b[p][j] - zb_j)` in i64, from unpacked operands
/// (`b` row-major `k × n`).
fn reference(
    a: &[u8],
    (m, k, n): (usize, usize, usize),
    a_zero: &[u8],
    b: &[i8],
    b_zero: &[i8],
) -> Vec<i64> {
    let za = |i: usize| {
        i64::from(if a_zero.len() == 1 {
            a_zero[0]
        } else {
            a_zero[i]
        })
    };
    let zb = |j: usize| match b_zero.len() {
        0 => 0,
        1 => i64::from(b_zero[0]),
        _ => i64::from(b_zero[j]),
    };
    let mut c = vec![0i64; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k)
                .map(|p| (i64::from(a[i * k + p]) - za(i)) * (i64::from(b[p * n + j]) - zb(j)))
                .sum();
        }
    }
    c
}

/// The kernels this CPU can run (always at least the scalar one).
fn available() -> Vec<QGemmKernel> {
    I8_GEMM_KERNELS
        .into_iter()
        .filter(QGemmKernel::is_available)
        .collect()
}

fn random_u8(rng: &mut Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

fn random_i8(rng: &mut Rng, len: usize) -> Vec<i8> {
    (0..len).map(|_| rng.next_u64() as i8).collect()
}

/// Runs `kernel` with i32 output on row-major operands.
fn run_i32(
    kernel: &QGemmKernel,
    a: &[u8],
    (m, k, n): (usize, usize, usize),
    a_zero: ZeroPoints<'_>,
    b: &[i8],
    b_zero: &[i8],
) -> Vec<i32> {
    let packed = PackedI8B::pack(kernel, b, (k, n), (n, 1)).unwrap();
    let mut c = vec![i32::MIN; m * n];
    gemm_u8i8(
        kernel,
        U8Matrix::row_major(a, m, k).unwrap(),
        a_zero,
        &packed,
        b_zero,
        QOutput::I32 {
            c: &mut c,
            row_stride: n,
        },
    )
    .unwrap();
    c
}

fn assert_matches(kernel: &QGemmKernel, got: &[i32], want: &[i64], what: &str) {
    let got: Vec<i64> = got.iter().map(|&v| i64::from(v)).collect();
    assert_eq!(got, want, "{}: {what}", kernel.name);
}

#[test]
fn every_kernel_matches_the_reference_around_its_tiles() {
    let mut rng = Rng::new(1);
    for kernel in available() {
        let (mr, nr, kg) = (kernel.mr, kernel.nr, kernel.kg);
        let ms = [1, 2, mr - 1, mr, mr + 1, 2 * mr + 1, 97, 200];
        let ns = [1, nr - 1, nr, nr + 1, 2 * nr + 3];
        let ks = [1, 2, kg - 1, kg, kg + 1, 2 * kg + 3, 33, 100];
        for &m in &ms {
            for &n in &ns {
                for &k in &ks {
                    let (m, n, k) = (m.max(1), n.max(1), k.max(1));
                    let a = random_u8(&mut rng, m * k);
                    let b = random_i8(&mut rng, k * n);
                    let za = rng.next_u64() as u8;
                    let want = reference(&a, (m, k, n), &[za], &b, &[]);
                    let got = run_i32(&kernel, &a, (m, k, n), ZeroPoints::PerTensor(za), &b, &[]);
                    assert_matches(&kernel, &got, &want, &format!("m={m} n={n} k={k}"));
                }
            }
        }
    }
}

#[test]
fn extreme_values_at_the_maximum_depth_are_exact() {
    // a = 0 with za = 255 and b = -128 with zb = 127 gives the largest
    // product, 255 · 255, at every step; a = 255, b = -128 breaks any
    // sequence that saturates in i16.
    let (m, n, k) = (3, 5, MAX_DEPTH);
    for kernel in available() {
        for (a_value, za, b_value, zb) in [(0u8, 255u8, -128i8, 127i8), (255, 0, -128, 0)] {
            let a = vec![a_value; m * k];
            let b = vec![b_value; k * n];
            let b_zero = [zb];
            let want = reference(&a, (m, k, n), &[za], &b, &b_zero);
            let got = run_i32(
                &kernel,
                &a,
                (m, k, n),
                ZeroPoints::PerTensor(za),
                &b,
                &b_zero,
            );
            assert_matches(&kernel, &got, &want, &format!("a={a_value} b={b_value}"));
        }
    }
}

#[test]
fn zero_points_per_row_and_per_column() {
    let mut rng = Rng::new(2);
    let (m, n, k) = (13, 37, 45);
    for kernel in available() {
        let a = random_u8(&mut rng, m * k);
        let b = random_i8(&mut rng, k * n);
        let a_zero = random_u8(&mut rng, m);
        for b_zero in [vec![], vec![-3i8], random_i8(&mut rng, n)] {
            let want = reference(&a, (m, k, n), &a_zero, &b, &b_zero);
            let got = run_i32(
                &kernel,
                &a,
                (m, k, n),
                ZeroPoints::PerRow(&a_zero),
                &b,
                &b_zero,
            );
            assert_matches(&kernel, &got, &want, &format!("b_zero={b_zero:?}"));
        }
    }
}

#[test]
fn strided_operands_and_padded_output() {
    let mut rng = Rng::new(3);
    let (m, n, k) = (9, 21, 30);
    for kernel in available() {
        // A with 5 unused bytes per row; B given as an n × k weight (column
        // stride k, row stride 1); C with 4 unused values per row.
        let a_stride = k + 5;
        let a = random_u8(&mut rng, m * a_stride);
        let w = random_i8(&mut rng, n * k);
        let packed = PackedI8B::pack(&kernel, &w, (k, n), (1, k)).unwrap();
        let mut c = vec![-7i32; m * (n + 4)];
        gemm_u8i8(
            &kernel,
            U8Matrix::new(&a, m, k, a_stride).unwrap(),
            ZeroPoints::PerTensor(10),
            &packed,
            &[],
            QOutput::I32 {
                c: &mut c,
                row_stride: n + 4,
            },
        )
        .unwrap();
        for i in 0..m {
            for j in 0..n {
                let want: i64 = (0..k)
                    .map(|p| (i64::from(a[i * a_stride + p]) - 10) * i64::from(w[j * k + p]))
                    .sum();
                assert_eq!(
                    i64::from(c[i * (n + 4) + j]),
                    want,
                    "{} ({i},{j})",
                    kernel.name
                );
            }
            assert_eq!(&c[i * (n + 4) + n..][..4], &[-7; 4], "{}", kernel.name);
        }
    }
}

#[test]
fn packing_records_column_sums() {
    let b: Vec<i8> = (0..12).map(|v| v as i8 - 6).collect(); // 4 × 3
    for kernel in I8_GEMM_KERNELS {
        let packed = PackedI8B::pack(&kernel, &b, (4, 3), (3, 1)).unwrap();
        assert_eq!(
            packed.col_sums(),
            &[-6, -2, 2] // -6-3+0+3, -5-2+1+4, -4-1+2+5
        );
        assert_eq!((packed.k(), packed.n()), (4, 3));
        assert_eq!(packed.kernel_name(), kernel.name);
    }
}

/// The variable naming the features this test run must have (comma list).
const REQUIRE_ENV: &str = "POCKETNN_REQUIRE_FEATURES";

#[test]
fn required_features_are_present() {
    let Ok(list) = std::env::var(REQUIRE_ENV) else {
        let names: Vec<&str> = available().iter().map(|k| k.name).collect();
        eprintln!("{REQUIRE_ENV} not set; int8 kernels tested: {names:?}");
        return;
    };
    let missing: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .filter(|name| {
            !crate::Feature::ALL
                .iter()
                .any(|f| f.name() == *name && f.is_available())
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{REQUIRE_ENV}={list}: missing {missing:?}"
    );
}

#[test]
fn column_major_activations_match_the_reference() {
    // A given column-major (an NCHW plane: rows = pixels, columns =
    // channels) with unused bytes between columns, swept around MR and KG
    // so that full 8×4 tiles, partial tiles and partial groups all occur.
    let mut rng = Rng::new(4);
    for kernel in available() {
        let (mr, kg) = (kernel.mr, kernel.kg);
        for m in [1, mr - 1, mr, mr + 1, 3 * mr + 2, 100] {
            for k in [1, kg - 1, kg, kg + 1, 4 * kg + 3, 37] {
                let (m, k, n) = (m.max(1), k.max(1), 19);
                let col_stride = m + 3;
                let columns = random_u8(&mut rng, k * col_stride);
                let b = random_i8(&mut rng, k * n);
                let b_zero = [rng.next_u64() as i8];
                let za = rng.next_u64() as u8;
                let a: Vec<u8> = (0..m * k)
                    .map(|e| columns[(e % k) * col_stride + e / k])
                    .collect();
                let want = reference(&a, (m, k, n), &[za], &b, &b_zero);
                let packed = PackedI8B::pack(&kernel, &b, (k, n), (n, 1)).unwrap();
                let mut c = vec![i32::MIN; m * n];
                gemm_u8i8(
                    &kernel,
                    U8Matrix::column_major(&columns, m, k, col_stride).unwrap(),
                    ZeroPoints::PerTensor(za),
                    &packed,
                    &b_zero,
                    QOutput::I32 {
                        c: &mut c,
                        row_stride: n,
                    },
                )
                .unwrap();
                assert_matches(&kernel, &c, &want, &format!("column-major m={m} k={k}"));
            }
        }
    }
}
