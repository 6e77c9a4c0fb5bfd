//! `f16-gemm-8x8-neonfp16` against the f64 oracle, within the error bound
//! of f16 sums; and reported unavailable on a CPU without FP16.

use super::*;

fn values(len: usize, seed: u64) -> Vec<f16> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            f16::from_f32(((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0)
        })
        .collect()
}

#[test]
fn native_f16_gemm_matches_the_oracle_within_f16_rounding() {
    if !is_available() {
        let mut c = [0.0f32; 1];
        let r = gemm_f16_arith(&[f16::ONE], &[f16::ONE], &mut c, (1, 1, 1));
        assert!(matches!(r, Err(TensorError::KernelUnavailable { .. })));
        eprintln!("{F16_GEMM_KERNEL}: this CPU lacks fp16, reported unavailable");
        return;
    }
    let mut worst = 0f64;
    for m in [1, 2, 7, 8, 9, 17] {
        for n in [1, 5, 8, 9, 16, 23] {
            for k in [0, 1, 3, 8, 31, 200] {
                let (a, b) = (values(m * k, 1 + m as u64), values(k * n, 7 + n as u64));
                let mut got = vec![f32::NAN; m * n];
                let mut want = vec![f32::NAN; m * n];
                gemm_f16_arith(&a, &b, &mut got, (m, k, n)).unwrap();
                gemm_f16_arith_reference(&a, &b, &mut want, (m, k, n)).unwrap();
                for i in 0..m {
                    for j in 0..n {
                        let scale: f64 = (0..k)
                            .map(|p| f64::from((a[i * k + p] * b[p * n + j]).to_f32()).abs())
                            .sum();
                        // Each of k f16 roundings is at most half an ulp of
                        // a partial sum bounded by `scale` (2⁻¹¹ relative).
                        let bound = (k as f64 + 1.0) * scale / 2048.0 + 1e-7;
                        let err = f64::from((got[i * n + j] - want[i * n + j]).abs());
                        assert!(err <= bound, "m{m} k{k} n{n} ({i},{j}): {err} > {bound}");
                        if scale > 0.0 {
                            worst = worst.max(err / scale);
                        }
                    }
                }
            }
        }
    }
    eprintln!("{F16_GEMM_KERNEL}: worst error / Σ|a·b| = {worst:.2e}");
    // An f32 GEMM would be ~1e-7 here: the f16 sums are visibly coarser.
    assert!(worst > 1e-5, "sums do not look like f16 sums");
}

#[test]
fn shape_errors_are_reported() {
    let mut c = [0.0f32; 4];
    assert!(gemm_f16_arith(&[f16::ONE; 3], &[f16::ONE; 2], &mut c, (2, 1, 2)).is_err());
    assert!(gemm_f16_arith_reference(&[f16::ONE; 2], &[f16::ONE; 2], &mut c, (2, 1, 3)).is_err());
}
