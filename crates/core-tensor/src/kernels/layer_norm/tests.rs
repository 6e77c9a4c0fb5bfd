//! Layer normalisation on every tier this CPU has against an f64
//! reference written here: row lengths 1..=40 and large rows, with and
//! without scale and bias, rows far from zero (cancellation), constant
//! rows, huge magnitudes, NaN and infinities, and argument errors.

use super::*;

/// (y, mean, inv_std) in f64: two-pass mean and variance.
fn reference(x: &[f32], norm: &LayerNorm<'_>) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut y, mut means, mut invs) = (Vec::new(), Vec::new(), Vec::new());
    for row in x.chunks_exact(norm.row_len) {
        let n = row.len() as f64;
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = row
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        let inv = 1.0 / (var + f64::from(norm.epsilon)).sqrt();
        for (j, &v) in row.iter().enumerate() {
            let scale = norm.scale.map_or(1.0, |p| f64::from(p[j]));
            let bias = norm.bias.map_or(0.0, |p| f64::from(p[j]));
            y.push((f64::from(v) - mean) * inv * scale + bias);
        }
        means.push(mean);
        invs.push(inv);
    }
    (y, means, invs)
}

fn values(seed: &mut u64, len: usize, offset: f32, scale: f32) -> Vec<f32> {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            offset + ((*seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

fn close(got: f32, expected: f64, magnitude: f64) -> bool {
    if expected.is_nan() {
        return got.is_nan();
    }
    if expected.is_infinite() {
        return f64::from(got) == expected;
    }
    (f64::from(got) - expected).abs() <= 8.0 * f64::from(f32::EPSILON) * magnitude + 1e-30
}

#[track_caller]
fn check(isa: Isa, x: &[f32], norm: &LayerNorm<'_>, what: &str) {
    let rows = x.len() / norm.row_len;
    let (expected, means, invs) = reference(x, norm);
    let mut y = vec![f32::NAN; x.len()];
    let (mut mean, mut inv) = (vec![f32::NAN; rows], vec![f32::NAN; rows]);
    let stats = RowStatistics {
        mean: Some(&mut mean),
        inv_std: Some(&mut inv),
    };
    layer_norm_rows_f32(isa, norm, x, &mut y, stats).unwrap();
    let name = format!("f32-layernorm-{isa} {what} row_len {}", norm.row_len);
    for r in 0..rows {
        assert!(
            close(mean[r], means[r], means[r].abs()),
            "{name}: mean {r} = {}, reference {}",
            mean[r],
            means[r]
        );
        assert!(
            close(inv[r], invs[r], invs[r].abs()),
            "{name}: inv_std {r} = {}, reference {}",
            inv[r],
            invs[r]
        );
        for j in 0..norm.row_len {
            let i = r * norm.row_len + j;
            // (x - mean)·inv is a few roundings of its own size; the f32
            // mean's rounding, relative to the spread, adds |mean|·inv·ε.
            let scale = norm.scale.map_or(1.0, |p| f64::from(p[j]).abs());
            let bias = norm.bias.map_or(0.0, |p| f64::from(p[j]).abs());
            let term = (expected[i] - norm.bias.map_or(0.0, |p| f64::from(p[j]))).abs();
            let magnitude = term + bias + means[r].abs() * invs[r] * scale;
            assert!(
                close(y[i], expected[i], magnitude),
                "{name}: y[{i}] = {}, reference {}",
                y[i],
                expected[i]
            );
        }
    }
}

#[test]
fn every_row_length_with_and_without_parameters_on_every_tier() {
    let mut seed = 0x1234_5678_9ABC_DEF1;
    for isa in Isa::available() {
        for row_len in (1..=40).chain([63, 64, 65, 768, 1000]) {
            let scale = values(&mut seed, row_len, 1.0, 0.5);
            let bias = values(&mut seed, row_len, 0.0, 1.0);
            for (offset, spread) in [(0.0, 1.0), (1e4, 1.0), (-3.0, 1e-3), (0.0, 1e15)] {
                let x = values(&mut seed, 3 * row_len, offset, spread);
                for (scale, bias) in [
                    (None, None),
                    (Some(&scale[..]), Some(&bias[..])),
                    (Some(&scale[..]), None),
                ] {
                    let norm = LayerNorm {
                        row_len,
                        scale,
                        bias,
                        epsilon: 1e-5,
                    };
                    check(isa, &x, &norm, &format!("offset {offset} spread {spread}"));
                }
            }
        }
    }
}

#[test]
fn special_rows_on_every_tier() {
    let inf = f32::INFINITY;
    let rows: [&[f32]; 6] = [
        &[2.5; 19],
        &[1.0, f32::NAN, 3.0, 4.0, 5.0],
        &[1.0, inf, 2.0],
        &[1e30, -1e30, 3e30, 0.0, -2e30, 1e29, 5.0, 7e29, -1e30],
        &[1e-40, -1e-40, 3e-41, 0.0, 1e-39],
        &[f32::MAX, f32::MAX, f32::MAX],
    ];
    for isa in Isa::available() {
        for row in rows {
            for epsilon in [0.0, 1e-5] {
                if epsilon == 0.0 && row[0] == 1e-40 {
                    // 1/σ of subnormals exceeds f32::MAX: only the
                    // epsilon case is comparable with the f64 reference.
                    continue;
                }
                let norm = LayerNorm {
                    row_len: row.len(),
                    scale: None,
                    bias: None,
                    epsilon,
                };
                let twice: Vec<f32> = row.iter().chain(row).copied().collect();
                check(isa, &twice, &norm, &format!("special eps {epsilon}"));
            }
        }
    }
}

#[test]
fn bad_arguments_are_errors() {
    let x = [0.0f32; 6];
    let mut y = [0.0f32; 6];
    let norm = LayerNorm {
        row_len: 3,
        scale: None,
        bias: None,
        epsilon: 1e-5,
    };
    let none = RowStatistics::default;
    assert!(layer_norm_rows_f32(Isa::Scalar, &norm, &x, &mut y[..5], none()).is_err());
    let bad_rows = LayerNorm { row_len: 4, ..norm };
    assert!(layer_norm_rows_f32(Isa::Scalar, &bad_rows, &x, &mut y, none()).is_err());
    let zero_rows = LayerNorm { row_len: 0, ..norm };
    assert!(layer_norm_rows_f32(Isa::Scalar, &zero_rows, &x, &mut y, none()).is_err());
    let bad_scale = LayerNorm {
        scale: Some(&[1.0; 2]),
        ..norm
    };
    assert!(layer_norm_rows_f32(Isa::Scalar, &bad_scale, &x, &mut y, none()).is_err());
    let mut short = [0.0f32; 1];
    let stats = RowStatistics {
        mean: Some(&mut short),
        inv_std: None,
    };
    assert!(layer_norm_rows_f32(Isa::Scalar, &norm, &x, &mut y, stats).is_err());
    for isa in Isa::ALL {
        let result = layer_norm_rows_f32(isa, &norm, &x, &mut y, none());
        assert_eq!(result.is_ok(), isa.is_available(), "{isa}");
    }
}
