//! The low-rank kernel on every tier this CPU has against the scalar
//! reference and against the dense product with `W = U · V` formed in f64,
//! on shapes around the GEMM tiles and row blocks; plus the argument checks.

use super::{LowRankFactors, PackedLowRank, low_rank_linear_f32, low_rank_linear_reference};
use crate::error::TensorError;
use crate::isa::Isa;
use crate::kernels::activation::Activation;
use crate::kernels::gemm::{Epilogue, f32_gemm_kernel};

/// xorshift64*, values uniform in [-1, 1).
struct Rng(u64);

impl Rng {
    fn values(&mut self, n: usize) -> Vec<f32> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 >> 12;
                self.0 ^= self.0 << 25;
                self.0 ^= self.0 >> 27;
                let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
                bits as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }
}

fn available_tiers() -> Vec<Isa> {
    Isa::ALL
        .into_iter()
        .filter(|isa| isa.is_available())
        .collect()
}

/// `act(x · (U·V)ᵀ + bias)` with `U·V` formed first, all in f64.
fn dense_oracle(
    (x, rows): (&[f32], usize),
    (v, u): (&[f32], &[f32]),
    (r, k, m): (usize, usize, usize),
    bias: &[f32],
    activation: Activation,
) -> Vec<f64> {
    let mut w = vec![0.0f64; m * k];
    for i in 0..m {
        for p in 0..k {
            w[i * k + p] = (0..r)
                .map(|j| f64::from(u[i * r + j]) * f64::from(v[j * k + p]))
                .sum();
        }
    }
    let mut y = vec![0.0f64; rows * m];
    for row in 0..rows {
        for i in 0..m {
            let dot: f64 = (0..k)
                .map(|p| f64::from(x[row * k + p]) * w[i * k + p])
                .sum();
            let value = dot + f64::from(bias[i]);
            y[row * m + i] = f64::from(activation.apply_reference(value as f32));
        }
    }
    y
}

fn check_shape(isa: Isa, rng: &mut Rng, (rows, k, r, m): (usize, usize, usize, usize)) {
    let (x, v, u, bias) = (
        rng.values(rows * k),
        rng.values(r * k),
        rng.values(m * r),
        rng.values(m),
    );
    let factors = LowRankFactors::new(&v, &u, r, k, m).unwrap();
    let packed = PackedLowRank::pack(isa, &factors).unwrap();
    let epilogue = Epilogue {
        bias: Some(Epilogue::column_bias(&bias, rows, m).unwrap()),
        activation: Activation::Relu,
        ..Epilogue::default()
    };
    let mut expected = vec![f32::NAN; rows * m];
    low_rank_linear_reference(&factors, &x, rows, &mut expected, &epilogue).unwrap();
    let dense = dense_oracle((&x, rows), (&v, &u), (r, k, m), &bias, Activation::Relu);
    // Every sum has at most max(k, r) terms of size <= 1 (then <= k·r).
    let tolerance = 1e-5 * (k * r + r + 1) as f32;
    for (i, (&e, &d)) in expected.iter().zip(&dense).enumerate() {
        assert!(
            (f64::from(e) - d).abs() <= f64::from(tolerance),
            "reference {i}: {e} vs {d}"
        );
    }
    for with_packed in [false, true] {
        let factors = if with_packed {
            factors.with_packed(&packed).unwrap()
        } else {
            factors
        };
        for threads in [1, 2] {
            let mut y = vec![f32::NAN; rows * m];
            low_rank_linear_f32(isa, &factors, &x, rows, &mut y, &epilogue, threads).unwrap();
            for (i, (&got, &want)) in y.iter().zip(&expected).enumerate() {
                assert!(
                    (got - want).abs() <= tolerance,
                    "{isa:?} {rows}x{k} r{r} m{m} packed {with_packed}: y[{i}] = {got}, want {want}"
                );
            }
        }
    }
}

#[test]
fn every_tier_matches_the_reference_around_tiles_and_blocks() {
    let mut rng = Rng(0x5EED_1234_5678_9ABC);
    for isa in available_tiers() {
        let kernel = f32_gemm_kernel(isa);
        let (mr, nr, mc) = (kernel.mr, kernel.nr, kernel.mc);
        let row_counts = [1, 2, mr - 1, mr, mr + 1, mc, mc + 1, 2 * mc + 3];
        let ranks = [1, 2, nr - 1, nr, nr + 1];
        let shapes = [(1, 1), (7, 3), (33, nr + 1), (nr, 2 * nr + 5)];
        for &rows in &row_counts {
            for &r in &ranks {
                for &(k, m) in &shapes {
                    check_shape(isa, &mut rng, (rows, k, r, m));
                }
            }
        }
    }
}

#[test]
fn a_rank_above_the_layer_size_still_computes_the_product() {
    // r > min(M, K) saves nothing but is a valid factorization.
    let mut rng = Rng(42);
    for isa in available_tiers() {
        check_shape(isa, &mut rng, (3, 4, 9, 5));
    }
}

#[test]
fn a_known_product_is_exact() {
    // V = [[1, 0, 1]], U = [[2], [-1]]: W = [[2, 0, 2], [-1, 0, -1]].
    let factors = LowRankFactors::new(&[1.0, 0.0, 1.0], &[2.0, -1.0], 1, 3, 2).unwrap();
    let x = [1.0, 5.0, 2.0, 0.0, 0.0, -1.0];
    let bias = [0.5, 0.25];
    let epilogue = Epilogue {
        bias: Some(Epilogue::column_bias(&bias, 2, 2).unwrap()),
        ..Epilogue::default()
    };
    for isa in available_tiers() {
        let mut y = [f32::NAN; 4];
        low_rank_linear_f32(isa, &factors, &x, 2, &mut y, &epilogue, 1).unwrap();
        assert_eq!(y, [6.5, -2.75, -1.5, 1.25], "{isa:?}");
    }
}

#[test]
fn bad_arguments_are_typed_errors() {
    let (v, u) = ([1.0f32; 6], [1.0f32; 4]);
    assert!(matches!(
        LowRankFactors::new(&[], &[], 0, 3, 2),
        Err(TensorError::InvalidKernelArguments { .. })
    ));
    assert!(matches!(
        LowRankFactors::new(&v[..5], &u, 2, 3, 2),
        Err(TensorError::LengthMismatch { .. })
    ));
    assert!(matches!(
        LowRankFactors::new(&v, &u[..3], 2, 3, 2),
        Err(TensorError::LengthMismatch { .. })
    ));
    assert!(matches!(
        LowRankFactors::new(&v, &u, usize::MAX, 2, 2),
        Err(TensorError::ShapeOverflow { .. })
    ));
    let factors = LowRankFactors::new(&v, &u, 2, 3, 2).unwrap();
    let mut y = [0.0f32; 4];
    for (x_len, y_len) in [(5, 4), (6, 3)] {
        let result = low_rank_linear_f32(
            Isa::Scalar,
            &factors,
            &[0.0; 6][..x_len],
            2,
            &mut y[..y_len],
            &Epilogue::default(),
            1,
        );
        assert!(matches!(result, Err(TensorError::LengthMismatch { .. })));
    }
    let bias = [0.0f32; 3];
    let wrong_bias = Epilogue {
        bias: Some(Epilogue::column_bias(&bias, 2, 3).unwrap()),
        ..Epilogue::default()
    };
    let result = low_rank_linear_f32(Isa::Scalar, &factors, &[0.0; 6], 2, &mut y, &wrong_bias, 1);
    assert!(matches!(
        result,
        Err(TensorError::MatMulShapeMismatch { .. })
    ));
    // Packed factors of another shape, or for another tier's panels.
    let (v2, u2) = ([1.0f32; 3], [1.0f32; 2]);
    let other = LowRankFactors::new(&v2, &u2, 1, 3, 2).unwrap();
    let other_packed = PackedLowRank::pack(Isa::Scalar, &other).unwrap();
    assert!(factors.with_packed(&other_packed).is_err());
    let best = Isa::best();
    if f32_gemm_kernel(best).nr != f32_gemm_kernel(Isa::Scalar).nr {
        let packed = PackedLowRank::pack(Isa::Scalar, &factors).unwrap();
        let factors = factors.with_packed(&packed).unwrap();
        let result = low_rank_linear_f32(
            best,
            &factors,
            &[0.0; 6],
            2,
            &mut y,
            &Epilogue::default(),
            1,
        );
        assert!(matches!(
            result,
            Err(TensorError::PackedPanelMismatch { .. })
        ));
    }
    for isa in Isa::ALL.into_iter().filter(|isa| !isa.is_available()) {
        let result =
            low_rank_linear_f32(isa, &factors, &[0.0; 6], 2, &mut y, &Epilogue::default(), 1);
        assert_eq!(result, Err(TensorError::IsaUnavailable { isa }));
    }
}
