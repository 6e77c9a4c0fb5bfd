//! Requantization (and the fixed-point multipliers) and dequantization
//! against f64 arithmetic.

use super::*;

/// `round(x · real)` in f64 (halves to even, like the kernel).
fn rounded(x: i32, real: f64) -> i64 {
    (f64::from(x) * real).round_ties_even() as i64
}

#[test]
fn fixed_point_multipliers_round_like_f64() {
    let mut rng = Rng::new(4);
    let mut checked = 0;
    for _ in 0..2000 {
        // Multipliers from 2^-40 to 2^20, the range real models produce and beyond.
        let real = 2f64.powf(rng.unit() * 60.0 - 40.0);
        let multiplier = QuantMultiplier::new(real).unwrap();
        for _ in 0..50 {
            let x = (rng.next_u64() as i32) >> (rng.next_u64() % 31);
            let exact = f64::from(x) * real;
            // The Q31 mantissa is within 2^-31 relative of `real`: skip
            // products that close to a rounding boundary.
            let margin = exact.abs() * 2f64.powi(-30) + 1e-9;
            if (exact - exact.trunc()).abs() - 0.5 < margin
                && (exact - exact.trunc()).abs() - 0.5 > -margin
            {
                continue;
            }
            let want = rounded(x, real).clamp(i32::MIN.into(), i32::MAX.into());
            assert_eq!(i64::from(multiplier.apply(x)), want, "x={x} real={real}");
            checked += 1;
        }
    }
    assert!(checked > 75_000, "only {checked} products checked");
}

#[test]
fn exact_halves_round_to_even() {
    let half = QuantMultiplier::new(0.5).unwrap();
    assert_eq!(
        [3, 5, -3, -5, 1, -1, 0].map(|x| half.apply(x)),
        [2, 2, -2, -2, 0, 0, 0]
    );
    let one = QuantMultiplier::new(1.0).unwrap();
    assert_eq!(one.apply(i32::MAX), i32::MAX);
    assert_eq!(one.apply(i32::MIN), i32::MIN);
    let big = QuantMultiplier::new(1000.0).unwrap();
    assert_eq!(big.apply(i32::MAX / 10), i32::MAX, "saturates");
    let tiny = QuantMultiplier::new(1e-12).unwrap();
    assert_eq!(tiny.apply(i32::MAX), 0);
}

#[test]
fn unusable_multipliers_are_refused() {
    for real in [0.0, -1.0, f64::NAN, f64::INFINITY, 2f64.powi(30)] {
        assert!(QuantMultiplier::new(real).is_err(), "{real}");
    }
}

#[test]
fn requantized_and_dequantized_outputs_match_f64() {
    let mut rng = Rng::new(5);
    let (m, n, k) = (7, 19, 50);
    for kernel in available() {
        let a = random_u8(&mut rng, m * k);
        let b = random_i8(&mut rng, k * n);
        let packed = PackedI8B::pack(&kernel, &b, (k, n), (n, 1)).unwrap();
        let sums = reference(&a, (m, k, n), &[128], &b, &[]);
        let reals: Vec<f64> = (0..n).map(|_| 1e-4 + rng.unit() * 3e-3).collect();
        let bias: Vec<i32> = (0..n)
            .map(|_| (rng.next_u64() % 4001) as i32 - 2000)
            .collect();
        let requantize = Requantize::new(
            reals
                .iter()
                .map(|&r| QuantMultiplier::new(r).unwrap())
                .collect(),
            bias.clone(),
            100,
            (100, 250), // a fused ReLU with a cap
        )
        .unwrap();
        let mut c = vec![0u8; m * n];
        gemm_u8i8(
            &kernel,
            U8Matrix::row_major(&a, m, k).unwrap(),
            ZeroPoints::PerTensor(128),
            &packed,
            &[],
            QOutput::U8 {
                c: &mut c,
                row_stride: n,
                requantize: &requantize,
            },
        )
        .unwrap();
        for i in 0..m {
            for j in 0..n {
                let biased = sums[i * n + j] as i32 + bias[j];
                let exact = f64::from(biased) * reals[j];
                let want = (exact.round_ties_even() as i64 + 100).clamp(100, 250);
                let got = i64::from(c[i * n + j]);
                // Allow one step only where the product sits on a half, to
                // within the f32 arithmetic of the requantization (the sum
                // and the product each rounded to 24 bits).
                let margin = exact.abs() * 2f64.powi(-21) + 1e-6;
                let tie = ((exact - exact.trunc()).abs() - 0.5).abs() < margin;
                assert!(
                    got == want || (tie && (got - want).abs() <= 1),
                    "{} ({i},{j}): got {got}, want {want} (exact {exact})",
                    kernel.name
                );
            }
        }

        let a_scales: Vec<f32> = (0..m).map(|i| 0.01 + i as f32 * 1e-3).collect();
        let b_scales: Vec<f32> = (0..n).map(|j| 0.02 + j as f32 * 1e-4).collect();
        let f_bias: Vec<f32> = (0..n).map(|j| j as f32 - 9.0).collect();
        let dequantize =
            Dequantize::new(a_scales.clone(), b_scales.clone(), f_bias.clone()).unwrap();
        let mut f = vec![f32::NAN; m * n];
        gemm_u8i8(
            &kernel,
            U8Matrix::row_major(&a, m, k).unwrap(),
            ZeroPoints::PerTensor(128),
            &packed,
            &[],
            QOutput::F32 {
                c: &mut f,
                row_stride: n,
                dequantize: &dequantize,
            },
        )
        .unwrap();
        for i in 0..m {
            for j in 0..n {
                let want = sums[i * n + j] as f64 * f64::from(a_scales[i]) * f64::from(b_scales[j])
                    + f64::from(f_bias[j]);
                let got = f64::from(f[i * n + j]);
                assert!(
                    (got - want).abs() <= 1e-5 * want.abs().max(1.0),
                    "{} ({i},{j}): {got} vs {want}",
                    kernel.name
                );
            }
        }
    }
}

/// The branch-free row form gives exactly the reference form per element,
/// for one or per-column multipliers, with and without bias, on sums up to
/// the i32 extremes and multipliers that saturate or round to zero.
#[test]
fn requantized_rows_equal_the_reference_per_element() {
    let mut rng = Rng::new(11);
    for case in 0..400 {
        let n = 1 + (rng.next_u64() % 40) as usize;
        let col0 = (rng.next_u64() % 5) as usize;
        let columns = col0 + n;
        let count = if case % 2 == 0 { 1 } else { columns };
        let multipliers = (0..count)
            .map(|_| QuantMultiplier::new(2f64.powf(rng.unit() * 50.0 - 40.0)).unwrap())
            .collect::<Vec<_>>();
        let bias = if case % 4 < 2 {
            Vec::new()
        } else {
            (0..columns)
                .map(|_| rng.next_u64() as i32 >> (rng.next_u64() % 32))
                .collect()
        };
        let zero = rng.next_u64() as u8;
        let (a, b) = (rng.next_u64() as u8, rng.next_u64() as u8);
        let requantize = Requantize::new(multipliers, bias, zero, (a.min(b), a.max(b))).unwrap();
        let sums: Vec<i32> = (0..n)
            .map(|i| match i % 7 {
                0 => i32::MAX,
                1 => i32::MIN,
                _ => rng.next_u64() as i32 >> (rng.next_u64() % 32),
            })
            .collect();
        let mut row = vec![0u8; n];
        requantize.apply_row(&sums, col0, &mut row);
        for (c, (&got, &acc)) in row.iter().zip(&sums).enumerate() {
            assert_eq!(
                got,
                requantize.apply(acc, col0 + c),
                "case {case} column {c}"
            );
        }
        // Uncorrected sums `sums + d` with offsets `bias - d`: the same.
        let d: Vec<i64> = sums
            .iter()
            .map(|&s| match s.unsigned_abs() < 1 << 30 {
                true => (rng.next_u64() % (1 << 21)) as i64 - (1 << 20),
                false => 0,
            })
            .collect();
        let raw: Vec<i32> = sums
            .iter()
            .zip(&d)
            .map(|(&s, &d)| (i64::from(s) + d) as i32)
            .collect();
        let offsets: Vec<i64> = (0..n)
            .map(|c| requantize.bias_at(col0 + c) - d[c])
            .collect();
        let mut fused = vec![0u8; n];
        requantize.apply_row_offsets(&raw, col0, &offsets, &mut fused);
        assert_eq!(fused, row, "case {case}: offsets");
        // The same offsets in i32 lanes, where they fit.
        if let Ok(narrow) = offsets
            .iter()
            .map(|&o| i32::try_from(o))
            .collect::<Result<Vec<_>, _>>()
        {
            let mut fused = vec![0u8; n];
            requantize.apply_row_narrow_offsets(&raw, col0, &narrow, &mut fused);
            assert_eq!(fused, row, "case {case}: i32 offsets");
        }
    }
}
